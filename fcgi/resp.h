/*
 * resp: the only writer of HTTP responses in taskq-fcgi, and the only map from taskq_rc to
 * HTTP status and error code. Every body is JSON built with json-c, except /metrics' text
 * (resp_text).
 */
#ifndef TASKQ_RESP_H
#define TASKQ_RESP_H

#include <json-c/json.h>

#include "base/err.h"
#include "req.h"
#include "model/task.h"

/* Sends status + body (consumed: the function puts it). extra: more header lines, each
 * ending in "\r\n", or NULL. */
void resp_json(struct req *r, int status, json_object *body, const char *extra);
/* Sends status + a text body of len bytes (borrowed) with this Content-Type. */
void resp_text(struct req *r, int status, const char *content_type, const char *body, size_t len,
	       const char *extra);
/* Sends a status with no body (204, 304). */
void resp_empty(struct req *r, int status, const char *extra);
/* Sends {"error":{"code","message"}} with the status and code that rc maps to. */
void resp_error(struct req *r, enum taskq_rc rc, const char *msg);
/* The same, with "index": which element of a batch was bad (index < 0: none). */
void resp_error_at(struct req *r, enum taskq_rc rc, const char *msg, long index);
/* The same with an explicit status and code (405, 411, 415 ...). */
void resp_error_status(struct req *r, int status, const char *code, const char *msg,
		       const char *extra);
/* Sends a task as JSON (served_task_json: with its warning as last read) with its ETag;
 * with_location adds Location: /api/tasks/{id}. */
void resp_task(struct req *r, int status, const struct task *t, int with_location);
/* The same with the task's JSON o (taskjson_encode(t) and more fields); takes o. */
void resp_task_json(struct req *r, int status, const struct task *t, json_object *o,
		    int with_location);

/* True when If-None-Match value inm names ETag version (or is "*"). */
bool etag_names(const char *inm, long long version);
/* 304 with ETag version. */
void resp_not_modified(struct req *r, long long version);

#endif
