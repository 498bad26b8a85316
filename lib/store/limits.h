/*
 * store/limits: limits on task starts per queue or per concurrency key
 * (sql/schema/013_rate_limits.sql): set, list, delete; enforcing them is the claim's
 * (sql/functions/limits.sql). And the caps on owners' unfinished tasks
 * (sql/schema/020_owner_caps.sql): set, list, delete, and what an owner has left; enforcing
 * them is the inserts' (sql/functions/owners.sql).
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

/* A cap on an owner's unfinished tasks ("*": every owner without one of its own; 0: none). */
struct owner_cap {
	char owner[72];
	long max_unfinished;
	long long unfinished; /* the owner's queued + running tasks now ("*": -1) */
};
/* Sets (creates or changes: *created says which) the cap of owner ("*" or an owner name). */
enum taskq_rc store_cap_put(struct db *db, const char *owner, long max_unfinished, bool *created,
			    struct taskq_err *err);
/* The cap of "*" (its row, or the default), then every owner's own, by owner; the caller
 * frees *out. */
enum taskq_rc store_cap_list(struct db *db, struct owner_cap **out, int *n, struct taskq_err *err);
/* TASKQ_NOTFOUND when the owner had no cap of its own. */
enum taskq_rc store_cap_delete(struct db *db, const char *owner, struct taskq_err *err);
/* The cap that holds for owner now (*cap: -1 when none: no cap, or an owner with an admin
 * token) and its unfinished tasks, counted up to the cap + 1 (taskq.owner_room). */
enum taskq_rc store_owner_room(struct db *db, const char *owner, long long *cap,
			       long long *unfinished, struct taskq_err *err);

#endif
