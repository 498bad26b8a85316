/*
 * body: a request's JSON body, read under limits: Content-Type, Content-Length, the size cap
 * (--max-body), exactly that many bytes, parsed strictly. It answers what is wrong through
 * fcgi/resp.c; it must not look at what the JSON means (the handlers and lib/taskjson.c do).
 */
#ifndef TASKQ_BODY_H
#define TASKQ_BODY_H

#include <json-c/json.h>
#include <stdbool.h>

#include "req.h"

/* Reads and parses r's JSON body: checks Content-Type (415), Content-Length (411, 413), reads
 * exactly that many bytes and parses strictly (400). On failure it has answered and returns
 * false; on success *out is the parsed value, which the caller puts. */
bool body_read_json(struct req *r, json_object **out);

#endif
