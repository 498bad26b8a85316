/* resp: writing responses and mapping errors to statuses. */
#include "resp.h"

#include <stdio.h>
#include <string.h>

#include "model/taskjson.h"
#include "served.h"

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

void resp_json(struct req *r, int status, json_object *body, const char *extra)
{
	size_t len;
	const char *text = json_object_to_json_string_length(
		body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	char head[512];
	int n;

	/* formatted here, not with FCGX_FPrintF: libfcgi's own printf knows no %zu */
	n = snprintf(head, sizeof head,
		     "Status: %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		     "Cache-Control: no-store\r\n%s\r\n",
		     status, reason(status), len + 1, extra ? extra : "");
	r->status = status;
	FCGX_PutStr(head, n < (int)sizeof head ? n : (int)sizeof head - 1, r->fr->out);
	FCGX_PutStr(text, (int)len, r->fr->out);
	FCGX_PutChar('\n', r->fr->out);
	json_object_put(body);
}

void resp_text(struct req *r, int status, const char *content_type, const char *body, size_t len,
	       const char *extra)
{
	char head[512];
	int n = snprintf(head, sizeof head,
			 "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Cache-Control: no-store\r\n%s\r\n",
			 status, reason(status), content_type, len, extra ? extra : "");

	r->status = status;
	FCGX_PutStr(head, n < (int)sizeof head ? n : (int)sizeof head - 1, r->fr->out);
	/* FCGX_PutStr takes an int: write a large body in pieces */
	for (size_t at = 0; at < len;) {
		size_t chunk = len - at > (1u << 30) ? (1u << 30) : len - at;
		FCGX_PutStr(body + at, (int)chunk, r->fr->out);
		at += chunk;
	}
}

void resp_empty(struct req *r, int status, const char *extra)
{
	char head[256];
	int n = snprintf(head, sizeof head, "Status: %d %s\r\n%s\r\n", status, reason(status),
			 extra ? extra : "");

	r->status = status;
	FCGX_PutStr(head, n < (int)sizeof head ? n : (int)sizeof head - 1, r->fr->out);
}

/* The {"error":{"code","message"[,"index"]}} body; index < 0: none. */
static void send_error(struct req *r, int status, const char *code, const char *msg, long index,
		       const char *extra)
{
	json_object *e = json_object_new_object(), *o = json_object_new_object();

	json_object_object_add(e, "code", json_object_new_string(code));
	json_object_object_add(e, "message", json_object_new_string(msg));
	if (index >= 0)
		json_object_object_add(e, "index", json_object_new_int64(index));
	json_object_object_add(o, "error", e);
	resp_json(r, status, o, extra);
}

void resp_error_status(struct req *r, int status, const char *code, const char *msg,
		       const char *extra)
{
	send_error(r, status, code, msg, -1, extra);
}

/* The answer to each failure a request may meet, but the database's absence (its own answer
 * below) and internal errors (500). */
static const struct {
	enum taskq_rc rc;
	int status;
	const char *code;
} g_answers[] = {
	{TASKQ_INVAL, 400, "invalid_field"},       {TASKQ_BAD_JSON, 400, "invalid_json"},
	{TASKQ_UNKNOWN_KIND, 400, "unknown_kind"}, {TASKQ_BAD_ID, 400, "invalid_id"},
	{TASKQ_NOTFOUND, 404, "not_found"},        {TASKQ_CONFLICT, 409, "wrong_state"},
	{TASKQ_TOO_BIG, 413, "too_large"},
};

void resp_error_at(struct req *r, enum taskq_rc rc, const char *msg, long index)
{
	for (size_t i = 0; i < sizeof g_answers / sizeof g_answers[0]; i++)
		if (g_answers[i].rc == rc) {
			send_error(r, g_answers[i].status, g_answers[i].code, msg, index, NULL);
			return;
		}
	if (rc == TASKQ_DB_DOWN)
		send_error(r, 503, "db_unavailable", "database unavailable, try again shortly", -1,
			   "Retry-After: 1\r\n");
	else if (rc == TASKQ_OVER_CAP) /* the owner's tasks must finish first: come back later */
		send_error(r, 429, "too_many_unfinished", msg, -1, "Retry-After: 5\r\n");
	else
		send_error(r, 500, "internal", "internal error", -1, NULL);
}

void resp_error(struct req *r, enum taskq_rc rc, const char *msg)
{
	resp_error_at(r, rc, msg, -1);
}

void resp_task_json(struct req *r, int status, const struct task *t, json_object *o,
		    int with_location)
{
	char extra[160];

	if (with_location)
		snprintf(extra, sizeof extra, "ETag: \"%lld\"\r\nLocation: /api/tasks/%s\r\n",
			 t->version, t->id);
	else
		snprintf(extra, sizeof extra, "ETag: \"%lld\"\r\n", t->version);
	resp_json(r, status, o, extra);
}

void resp_task(struct req *r, int status, const struct task *t, int with_location)
{
	resp_task_json(r, status, t, served_task_json(t), with_location);
}

bool etag_names(const char *inm, long long version)
{
	char tag[32];

	if (!inm)
		return false;
	if (!strcmp(inm, "*"))
		return true;
	snprintf(tag, sizeof tag, "\"%lld\"", version);
	return strstr(inm, tag) != NULL;
}

void resp_not_modified(struct req *r, long long version)
{
	char extra[48];

	snprintf(extra, sizeof extra, "ETag: \"%lld\"\r\n", version);
	resp_empty(r, 304, extra);
}
