/* req: a request's FastCGI parameters (see req.h). */
#include "req.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static atomic_ulong g_req_counter;

const char *req_param(const struct req *r, const char *name)
{
	return FCGX_GetParam(name, r->fr->envp);
}

void req_init(struct req *r, FCGX_Request *fr, struct db *db, size_t max_body)
{
	const char *uri, *rid;
	size_t n;

	memset(r, 0, sizeof *r);
	r->fr = fr;
	r->db = db;
	r->max_body = max_body;
	r->method = req_param(r, "REQUEST_METHOD");
	if (!r->method)
		r->method = "GET";
	r->query = req_param(r, "QUERY_STRING");
	/* DOCUMENT_URI is nginx's normalised path ("..", "//" and escapes resolved: a %3F in it
	 * is a "?" of the path, not a query); REQUEST_URI, the raw line, ends at its query */
	uri = req_param(r, "DOCUMENT_URI");
	if (uri)
		n = strlen(uri);
	else {
		uri = req_param(r, "REQUEST_URI");
		if (!uri)
			uri = "/";
		n = strcspn(uri, "?");
	}
	if (n >= sizeof r->path)
		n = sizeof r->path - 1;
	memcpy(r->path, uri, n);
	r->path[n] = '\0';
	/* nginx's authorisation subrequests (internal locations, so the header cannot come from
	 * a client) carry the subscriber's query string in X-Original-URI, not in their own
	 * request line, which nginx's error log could copy with a view token in it */
	if (!strncmp(r->path, "/_taskq/authorize/", 18) &&
	    (uri = req_param(r, "HTTP_X_ORIGINAL_URI")))
		r->query = strchr(uri, '?') ? strchr(uri, '?') + 1 : "";
	rid = req_param(r, "HTTP_X_REQUEST_ID");
	if (rid && strlen(rid) < sizeof r->id &&
	    strspn(rid, "0123456789abcdefABCDEF-") == strlen(rid))
		snprintf(r->id, sizeof r->id, "%s", rid);
	else
		snprintf(r->id, sizeof r->id, "%lu", atomic_fetch_add(&g_req_counter, 1) + 1);
}
