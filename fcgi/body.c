/* body: a request's JSON body, read under limits (see body.h). */
#include "body.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/config.h"
#include "resp.h"
#include "model/taskjson.h"
#include "base/xalloc.h"

static bool is_json_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof want - 1;

	if (!ct || strncasecmp(ct, want, n) != 0)
		return false;
	ct += n + strspn(ct + n, " \t");
	if (*ct == '\0')
		return true;
	if (*ct != ';')
		return false;
	/* parameters: only a charset matters, and JSON is UTF-8 */
	for (const char *p = ct; (p = strcasestr(p, "charset")); p++) {
		p += strlen("charset") + strspn(p + strlen("charset"), " \t");
		if (*p != '=')
			continue;
		p += 1 + strspn(p + 1, " \t\"");
		return !strncasecmp(p, "utf-8", 5) || !strncasecmp(p, "utf8", 4);
	}
	return true;
}

bool body_read_json(struct req *r, json_object **out)
{
	const char *ct = req_param(r, "CONTENT_TYPE"), *cl = req_param(r, "CONTENT_LENGTH");
	struct taskq_err err;
	long len;
	char *body;
	int got = 0;

	*out = NULL;
	if (!is_json_type(ct)) {
		resp_error_status(r, 415, "unsupported_media_type",
				  "Content-Type must be application/json", NULL);
		return false;
	}
	if (!cl || !*cl) {
		resp_error_status(r, 411, "length_required", "Content-Length is required", NULL);
		return false;
	}
	if (config_parse_long(cl, 0, 1L << 40, &len) != TASKQ_OK) {
		resp_error_status(r, 400, "invalid_field", "Content-Length is not a number", NULL);
		return false;
	}
	if ((size_t)len > r->max_body) {
		char msg[96];
		snprintf(msg, sizeof msg, "request body over %zu bytes", r->max_body);
		resp_error(r, TASKQ_TOO_BIG, msg);
		return false;
	}
	body = xmalloc((size_t)len + 1);
	while (got < len) {
		int k = FCGX_GetStr(body + got, (int)(len - got), r->fr->in);
		if (k <= 0)
			break;
		got += k;
	}
	if (got != len) {
		free(body);
		resp_error(r, TASKQ_BAD_JSON, "request body shorter than its Content-Length");
		return false;
	}
	body[len] = '\0';
	if (taskjson_parse(body, (size_t)len, out, &err) != TASKQ_OK) {
		free(body);
		resp_error(r, err.rc, err.msg);
		return false;
	}
	free(body);
	return true;
}
