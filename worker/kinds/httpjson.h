/*
 * httpjson: what the http kind's JSON means for an exchange, kind-private code of
 * worker/kinds/http.c: a payload {"method","url","headers"?,"body"?|"json"?,"timeout_s"?,
 * "config_headers"?,"expect_status"?} read into a struct http_request, and a finished exchange
 * turned into the task's result or a one-line excerpt for an error. It must not perform
 * exchanges (worker/kinds/httpreq.c does) nor decide retries (the kind does).
 */
#ifndef TASKQ_HTTPJSON_H
#define TASKQ_HTTPJSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "httpreq.h"

/* Reads the payload's method, url, headers, body/json, timeout_s and config_headers into rq
 * (which owns its copies; httpreq_request_cleanup frees them); false with a message for a bad
 * payload (rq is then empty). expect_status is left to the kind. */
bool httpjson_parse(json_object *payload, struct http_request *rq, char *err, size_t errsize);

/* {"status","headers","body" (JSON when the answer is JSON, else text, else body_base64),
 * "truncated","bytes","url"}; a new object the caller owns. */
json_object *httpjson_result(const struct http_exchange *x, const char *url);
/* The start of the body as one printable line, into out (size bytes, NUL-terminated). */
void httpjson_excerpt(const struct http_exchange *x, char *out, size_t size);

#endif
