/* store/console: the statements behind the console's routes and the rollup chore (see
 * store/console.h). */
#include "store/console.h"

#include <stdio.h>
#include <stdlib.h>

#include "store/exec.h"

static struct db_stmt s_fleet = DB_STMT(
	"fleet",
	"SELECT id, host, pid, version, queues, concurrency, running, started_at, last_seen,"
	" last_seen_s, stale, finished_per_min FROM taskq.fleet",
	0);
static struct db_stmt s_series =
	DB_STMT("queue_series",
		"SELECT at, started, succeeded, failed, cancelled, queued::text AS queued,"
		" round(wait_p50_ms::numeric, 1)::text AS wait_p50_ms,"
		" round(wait_p95_ms::numeric, 1)::text AS wait_p95_ms,"
		" round(run_p50_ms::numeric, 1)::text AS run_p50_ms,"
		" round(run_p95_ms::numeric, 1)::text AS run_p95_ms"
		" FROM taskq.queue_series($1, make_interval(secs => $2::int),"
		" make_interval(secs => $3::int))",
		3);
static struct db_stmt s_breakers = DB_STMT(
	"breakers_list",
	"SELECT host, state, failures, last_error, opened_at, retry_at, trips, probes, deferred,"
	" throttled_s, waiting, updated_at FROM taskq.breaker_overview LIMIT 500",
	0);
static struct db_stmt s_breaker_reset = DB_STMT(
	"breaker_reset", "SELECT taskq.breaker_reset($1) FROM taskq.breakers WHERE host = $1", 1);
static struct db_stmt s_schedule_run =
	DB_STMT("schedule_run",
		"SELECT s.enabled, taskq.fire_schedule(s.name, clock_timestamp(), 'console')::text"
		" FROM taskq.schedules s WHERE s.name = $1",
		1);
static struct db_stmt s_bulk =
	DB_STMT("bulk_tasks",
		"SELECT id::text AS id, outcome FROM taskq.bulk_tasks($1, $2::uuid[], $3)", 3);
static struct db_stmt s_rollup = DB_STMT("rollup", "SELECT taskq.rollup_minutes($1::int)", 1);

enum taskq_rc store_fleet(struct db *db, struct fleet_row **out, int *n, struct taskq_err *err)
{
	return store_exec_records(db, &s_fleet, NULL, &fleet_record, sizeof **out, out, n, err);
}

enum taskq_rc store_queue_series(struct db *db, const char *q, int since_s, int step_s,
				 struct series_point **out, int *n, struct taskq_err *err)
{
	char since[16], step[16];
	const char *p[3] = {q, since, step};

	snprintf(since, sizeof since, "%d", since_s);
	snprintf(step, sizeof step, "%d", step_s);
	return store_exec_records(db, &s_series, p, &series_record, sizeof **out, out, n, err);
}

enum taskq_rc store_breakers_list(struct db *db, struct breaker_info **out, int *n,
				  struct taskq_err *err)
{
	return store_exec_records(db, &s_breakers, NULL, &breaker_record, sizeof **out, out, n,
				  err);
}

enum taskq_rc store_breaker_reset(struct db *db, const char *host, bool *was_unhealthy,
				  struct taskq_err *err)
{
	const char *p[1] = {host};
	char *v = NULL;
	enum taskq_rc rc = store_exec_value(db, &s_breaker_reset, p, &v, err);

	if (rc == TASKQ_OK && !v)
		rc = taskq_fail(err, TASKQ_NOTFOUND, "no breaker for this host");
	*was_unhealthy = v && v[0] == 't';
	free(v);
	return rc;
}

struct fired {
	bool enabled;
	char *task;
};

static void decode_fired(const struct row *r, void *elem)
{
	struct fired *f = elem;

	f->enabled = row_bool(r, 0);
	f->task = row_str(r, 1);
}

enum taskq_rc store_schedule_run(struct db *db, const char *name, char task_id[40],
				 struct taskq_err *err)
{
	const char *p[1] = {name};
	struct fired f = {0};
	enum taskq_rc rc =
		store_exec_found(db, &s_schedule_run, p, decode_fired, &f, "no such schedule", err);

	task_id[0] = '\0';
	if (rc == TASKQ_OK && !f.task)
		rc = taskq_fail(err, TASKQ_CONFLICT,
				f.enabled ? "the schedule fired at this instant already"
					  : "the schedule is disabled; enable it first");
	if (rc == TASKQ_OK)
		snprintf(task_id, 40, "%s", f.task);
	free(f.task);
	return rc;
}

enum taskq_rc store_bulk(struct db *db, const char *action, const char *const *ids, int n,
			 const char *owner, struct bulk_outcome **out, int *nout,
			 struct taskq_err *err)
{
	char *arr = store_array_text(ids, n);
	const char *p[3] = {action, arr, owner};
	enum taskq_rc rc =
		store_exec_records(db, &s_bulk, p, &bulk_record, sizeof **out, out, nout, err);

	free(arr);
	return rc;
}

enum taskq_rc store_rollup(struct db *db, int keep_days, int *rows, struct taskq_err *err)
{
	char days[16];
	const char *p[1] = {days};
	long long v;
	enum taskq_rc rc;

	snprintf(days, sizeof days, "%d", keep_days);
	rc = store_exec_ll(db, &s_rollup, p, 0, &v, err);
	*rows = (int)v;
	return rc;
}
