/*
 * store/limits: limits on task starts per queue or per concurrency key
 * (sql/schema/013_rate_limits.sql): set, list, delete. Enforcing them is the claim's (sql/functions/limits.sql).
 */
#ifndef TASKQ_STORE_LIMITS_H
#define TASKQ_STORE_LIMITS_H

#include <stdbool.h>

#include "base/err.h"
#include "store/db.h"

/* A limit on task starts; recent: starts in the current window. */
struct rate_limit {
	char scope[8];
	char name[208];
	int max_starts;
	double per_s;
	long long recent;
};
/* Sets (creates or changes: *created says which) the limit of scope ("queue" or "key") name. */
enum taskq_rc store_rate_put(struct db *db, const char *scope, const char *name, int max_starts,
			     double per_s, bool *created, struct taskq_err *err);
/* Every limit, by scope and name; the caller frees *out. */
enum taskq_rc store_rate_list(struct db *db, struct rate_limit **out, int *n,
			      struct taskq_err *err);
/* TASKQ_NOTFOUND when there was no such limit. */
enum taskq_rc store_rate_delete(struct db *db, const char *scope, const char *name,
				struct taskq_err *err);

#endif
