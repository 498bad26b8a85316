/*
 * refjson: the fuzz targets' independent reading of what taskjson_parse must accept: RFC 8259
 * JSON; UTF-8 that PostgreSQL stores; values nested at most TASKJSON_MAX_DEPTH deep, counting
 * scalars as json-c does; each key once per object, keys compared decoded as json-c decodes
 * them (escapes; a surrogate pair as one character, any other surrogate as U+FFFD);
 * TASKQ_INVAL for \u0000 and for numbers that would not be kept as sent, before a repeated
 * key. Written apart from lib/model (recursive descent, no json-c), so that the two can
 * disagree.
 */
#ifndef TASKQ_FUZZ_REFJSON_H
#define TASKQ_FUZZ_REFJSON_H

#include <stddef.h>
#include <stdint.h>

enum ref { REF_OK, REF_INVAL, REF_BAD };

/* What taskjson_parse must answer for s[0..n): TASKQ_OK, TASKQ_INVAL or TASKQ_BAD_JSON;
 * *top_scalar: the top-level value is a number or literal (json-c waits for more after it). */
enum ref ref_check(const uint8_t *s, size_t n, int *top_scalar);

#endif
