/*
 * store/schedules: recurring schedules (sql/schema/012_schedules.sql): create, replace, read, list,
 * delete, and the worker scheduler's verbs (the due schedules, fire once per instant, advance
 * or disable). Computing fire times is lib/time/'s; struct schedule is time/schedule.h's.
 */
#ifndef TASKQ_STORE_SCHEDULES_H
#define TASKQ_STORE_SCHEDULES_H

#include <stdbool.h>

#include "base/err.h"
#include "store/db.h"
#include "time/schedule.h"

/* put: create (replace false: TASKQ_CONFLICT when the name is taken) or create-or-replace (an
 * owner's own only, or any for an admin: else TASKQ_NOTFOUND); *created says which. */
enum taskq_rc store_schedule_put(struct db *db, const struct schedule_new *n, const char *owner,
				 bool replace, bool admin, struct schedule *out, bool *created,
				 struct taskq_err *err);
enum taskq_rc store_schedule_get(struct db *db, const char *name, struct schedule *out,
				 struct taskq_err *err);
/* owner NULL: all. */
enum taskq_rc store_schedule_list(struct db *db, const char *owner, struct schedule **out, int *n,
				  struct taskq_err *err);
/* owner NULL: any owner's. TASKQ_NOTFOUND when there was none to delete. */
enum taskq_rc store_schedule_delete(struct db *db, const char *name, const char *owner,
				    struct taskq_err *err);

/* A schedule whose fire time has come (or new: next_fire -1), for the worker's scheduler. */
struct due_schedule {
	char name[72];
	char *cron;
	char tz[72];
	char kind[72];
	bool kind_known; /* its kind is registered (taskq.kinds): its tasks can run */
	int backfill;
	long long next_fire; /* Unix seconds, -1: none yet */
	long long now;       /* PostgreSQL's clock when it was read (Unix seconds) */
};
/* The due schedules (up to 200) and PostgreSQL's clock (*now, Unix seconds). */
enum taskq_rc store_schedules_due(struct db *db, struct due_schedule **out, int *n, long long *now,
				  struct taskq_err *err);
void store_due_free(struct due_schedule *v, int n);
/* Fires schedule name for instant at (once: task_id is "" when it had been fired). */
enum taskq_rc store_schedule_fire(struct db *db, const char *name, long long at, const char *worker,
				  char task_id[40], struct taskq_err *err);
/* Sets the next fire instant, or (error non-NULL) disables the schedule with the reason. */
enum taskq_rc store_schedule_advance(struct db *db, const char *name, long long next,
				     const char *error, struct taskq_err *err);

#endif
