/*
 * err: the one status enum every fallible taskq function returns, and the error record
 * that carries a human message beside it (curl's CURLcode + failf). Machines read rc,
 * people read msg. Mapping rc to an HTTP status lives in fcgi/resp.c, to retry-or-fail in
 * the worker.
 */
#ifndef TASKQ_ERR_H
#define TASKQ_ERR_H

#include <stddef.h>

enum taskq_rc {
	TASKQ_OK = 0,
	TASKQ_INVAL,        /* a field or parameter is wrong */
	TASKQ_BAD_JSON,     /* the body is not acceptable JSON */
	TASKQ_UNKNOWN_KIND, /* no such task kind is registered */
	TASKQ_BAD_ID,       /* not a task id */
	TASKQ_NOTFOUND,
	TASKQ_CONFLICT, /* the task is in a state that forbids the verb */
	TASKQ_TOO_BIG,
	TASKQ_OVER_CAP, /* the owner has as many unfinished tasks as its cap; try again later */
	TASKQ_DB_DOWN,  /* PostgreSQL unreachable; try again later */
	TASKQ_INTERNAL,
};

struct taskq_err {
	enum taskq_rc rc;
	char msg[256];
};

/* Fills err (when not NULL) and returns rc, so callers can `return taskq_fail(...)`. */
enum taskq_rc taskq_fail(struct taskq_err *err, enum taskq_rc rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Copies at most max bytes of text from a request into dst for an error message: printable
 * ASCII as it is, anything else (bytes of UTF-8 characters, controls) as '?', so a message
 * never cuts a character in half nor carries bytes that are not UTF-8. Returns dst. */
const char *err_snippet(char *dst, size_t size, const char *src, size_t max);

/* A short stable name for rc ("invalid", "not_found", ...) for logs. */
const char *taskq_rc_name(enum taskq_rc rc);

#endif
