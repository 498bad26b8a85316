/*
 * kindcache: the set of registered task kinds, read from taskq.kinds at most every few
 * seconds and shared by all request threads, so validating a submit's kind costs no round
 * trip. A kind a worker registered a moment ago is found by a forced refresh.
 */
#ifndef TASKQ_KINDCACHE_H
#define TASKQ_KINDCACHE_H

#include "store/db.h"
#include "base/err.h"

/* TASKQ_OK when kind is registered, TASKQ_UNKNOWN_KIND when not, or the database's rc. */
enum taskq_rc kindcache_check(struct db *db, const char *kind, struct taskq_err *err);
void kindcache_free(void);

#endif
