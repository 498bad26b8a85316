/* err: filling the error record. */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>

enum taskq_rc taskq_fail(struct taskq_err *err, enum taskq_rc rc, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
		err->rc = rc;
	}
	return rc;
}

const char *taskq_rc_name(enum taskq_rc rc)
{
	switch (rc) {
	case TASKQ_OK:
		return "ok";
	case TASKQ_INVAL:
		return "invalid";
	case TASKQ_BAD_JSON:
		return "bad_json";
	case TASKQ_UNKNOWN_KIND:
		return "unknown_kind";
	case TASKQ_BAD_ID:
		return "bad_id";
	case TASKQ_NOTFOUND:
		return "not_found";
	case TASKQ_CONFLICT:
		return "conflict";
	case TASKQ_TOO_BIG:
		return "too_big";
	case TASKQ_OVER_CAP:
		return "over_cap";
	case TASKQ_DB_DOWN:
		return "db_down";
	case TASKQ_INTERNAL:
		return "internal";
	}
	return "internal";
}

const char *err_snippet(char *dst, size_t size, const char *src, size_t max)
{
	size_t i = 0;

	for (; src && *src && i < max && i + 1 < size; src++)
		dst[i++] = (unsigned char)*src >= 0x20 && (unsigned char)*src < 0x7f ? *src : '?';
	if (size)
		dst[i] = '\0';
	return dst;
}
