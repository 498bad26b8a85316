/*
 * store/console: the statements behind the console's routes (sql/functions/console.sql,
 * sql/functions/metrics.sql): the fleet, a queue's per-minute series, the circuit breakers and
 * their reset, firing a schedule now, one action on many tasks, and the workers' rollup chore.
 * The records are model/console.h's; arrays are freed with records_free.
 */
#ifndef TASKQ_STORE_CONSOLE_H
#define TASKQ_STORE_CONSOLE_H

#include <stdbool.h>

#include "base/err.h"
#include "model/console.h"
#include "store/db.h"

/* The worker daemons seen in the last five minutes (taskq.fleet). */
enum taskq_rc store_fleet(struct db *db, struct fleet_row **out, int *n, struct taskq_err *err);
/* Queue q's series over the last `since` seconds in buckets of `step` seconds, oldest first. */
enum taskq_rc store_queue_series(struct db *db, const char *q, int since_s, int step_s,
				 struct series_point **out, int *n, struct taskq_err *err);
/* Every host with a breaker row, unhealthy first (at most 500). */
enum taskq_rc store_breakers_list(struct db *db, struct breaker_info **out, int *n,
				  struct taskq_err *err);
/* Closes host's breaker and lifts its throttle (taskq.breaker_reset); *was_unhealthy says
 * whether it was open, half-open or throttled. TASKQ_NOTFOUND when the host has no row. */
enum taskq_rc store_breaker_reset(struct db *db, const char *host, bool *was_unhealthy,
				  struct taskq_err *err);
/* Fires schedule name now (taskq.fire_schedule), by hand: the new task's id into task_id;
 * TASKQ_CONFLICT when the schedule is disabled. */
enum taskq_rc store_schedule_run(struct db *db, const char *name, char task_id[40],
				 struct taskq_err *err);
/* action ("retry", "cancel", "delete", "run_now") on ids[0..n) through each task's one-task
 * verb (taskq.bulk_tasks); owner not NULL: only that owner's tasks (others: "not_found"). */
enum taskq_rc store_bulk(struct db *db, const char *action, const char *const *ids, int n,
			 const char *owner, struct bulk_outcome **out, int *nout,
			 struct taskq_err *err);
/* The rollup chore (taskq.rollup_minutes): *rows written; rows older than keep_days go. */
enum taskq_rc store_rollup(struct db *db, int keep_days, int *rows, struct taskq_err *err);

#endif
