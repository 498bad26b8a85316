/*
 * jsondup: refusing JSON text whose objects name a key twice (see jsondup.c).
 */
#ifndef TASKQ_JSONDUP_H
#define TASKQ_JSONDUP_H

#include <json-c/json.h>
#include <stddef.h>

#include "base/err.h"

/* Checks that no object of len bytes of JSON text names a key twice, at any depth. text must
 * be what json-c parsed into v (borrowed), with no \u0000 (model/jsontext.h refuses it).
 * TASKQ_OK, or TASKQ_BAD_JSON with a message naming the first repeated key and its byte. */
enum taskq_rc jsondup_check(const char *text, size_t len, json_object *v, struct taskq_err *err);

#endif
