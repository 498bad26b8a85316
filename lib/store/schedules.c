/* store/schedules: the statements behind recurring schedules (see store/schedules.h). */
#include "store/schedules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/exec.h"

#define SCHED_COLUMNS                                                                               \
	"(name, cron, tz, kind, payload, queue, priority, max_attempts, timeout_s, owner, enabled," \
	" backfill, next_fire_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::smallint, $8::int,"    \
	" $9::int, $10, $11::boolean, $12::int, to_timestamp($13::float8))"

static struct db_stmt s_sched_create = DB_STMT("sched_create",
					       "INSERT INTO taskq.schedules " SCHED_COLUMNS
					       " ON CONFLICT (name) DO NOTHING RETURNING *",
					       13);
/* an owner replaces its own schedule only; an admin any, keeping its owner */
static struct db_stmt s_sched_put =
	DB_STMT("sched_put",
		"INSERT INTO taskq.schedules AS s " SCHED_COLUMNS
		" ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, tz = excluded.tz,"
		" kind = excluded.kind, payload = excluded.payload, queue = excluded.queue,"
		" priority = excluded.priority, max_attempts = excluded.max_attempts,"
		" timeout_s = excluded.timeout_s, enabled = excluded.enabled,"
		" backfill = excluded.backfill, next_fire_at = excluded.next_fire_at,"
		" last_error = NULL, updated_at = now()"
		" WHERE s.owner = excluded.owner OR $14::boolean"
		" RETURNING *, (xmax = 0) AS inserted",
		14);
static struct db_stmt s_sched_get =
	DB_STMT("sched_get", "SELECT * FROM taskq.schedules WHERE name = $1", 1);
static struct db_stmt s_sched_list =
	DB_STMT("sched_list",
		"SELECT * FROM taskq.schedules WHERE ($1::text IS NULL OR owner = $1)"
		" ORDER BY name LIMIT 1000",
		1);
static struct db_stmt s_sched_delete =
	DB_STMT("sched_delete",
		"DELETE FROM taskq.schedules WHERE name = $1"
		" AND ($2::text IS NULL OR owner = $2) RETURNING name",
		2);
static struct db_stmt s_sched_due =
	DB_STMT("sched_due",
		"SELECT name, cron, tz, backfill,"
		" floor(extract(epoch FROM next_fire_at))::bigint AS next_fire,"
		" floor(extract(epoch FROM clock_timestamp()))::bigint AS now, kind,"
		" EXISTS (SELECT 1 FROM taskq.kinds k WHERE k.name = s.kind) AS kind_known"
		" FROM taskq.schedules s WHERE enabled"
		" AND (next_fire_at IS NULL OR next_fire_at <= clock_timestamp())"
		" ORDER BY next_fire_at NULLS FIRST LIMIT 200",
		0);
static struct db_stmt s_sched_fire =
	DB_STMT("sched_fire", "SELECT taskq.fire_schedule($1, to_timestamp($2::float8), $3)", 3);
static struct db_stmt s_sched_advance = DB_STMT(
	"sched_advance", "SELECT taskq.schedule_advance($1, to_timestamp($2::float8), $3)", 3);

static void decode_schedule(const struct row *r, void *elem)
{
	memset(elem, 0, sizeof(struct schedule));
	row_record(r, &schedule_record, elem);
}

/* A schedule as put, and whether the put inserted it. */
struct put_row {
	struct schedule *s;
	bool inserted;
};

static void decode_put(const struct row *r, void *elem)
{
	struct put_row *p = elem;

	decode_schedule(r, p->s);
	p->inserted = row_bool(r, row_col(r, "inserted"));
}

enum taskq_rc store_schedule_put(struct db *db, const struct schedule_new *n, const char *owner,
				 bool replace, bool admin, struct schedule *out, bool *created,
				 struct taskq_err *err)
{
	char prio[16], maxa[16], tmo[16], backfill[16], next[32];
	const char *p[14] = {n->name,
			     n->cron,
			     n->tz,
			     n->t.kind,
			     n->t.payload ? n->t.payload : "{}",
			     n->t.queue,
			     prio,
			     maxa,
			     n->t.timeout_s >= 0 ? tmo : NULL,
			     owner,
			     n->enabled ? "t" : "f",
			     backfill,
			     next,
			     admin ? "t" : "f"};
	struct put_row row = {out, false};
	bool found;
	enum taskq_rc rc;

	snprintf(prio, sizeof prio, "%d", n->t.priority);
	snprintf(maxa, sizeof maxa, "%d", n->t.max_attempts);
	snprintf(tmo, sizeof tmo, "%d", n->t.timeout_s);
	snprintf(backfill, sizeof backfill, "%d", n->backfill);
	snprintf(next, sizeof next, "%lld", (long long)n->next_fire);
	if ((rc = store_exec_row(db, replace ? &s_sched_put : &s_sched_create, p, decode_put, &row,
				 &found, err)))
		return rc;
	if (!found)
		return replace ? taskq_fail(err, TASKQ_NOTFOUND, "no such schedule")
			       : taskq_fail(err, TASKQ_CONFLICT, "a schedule named %s exists",
					    n->name);
	*created = !replace || row.inserted;
	return TASKQ_OK;
}

enum taskq_rc store_schedule_get(struct db *db, const char *name, struct schedule *out,
				 struct taskq_err *err)
{
	const char *p[1] = {name};

	return store_exec_found(db, &s_sched_get, p, decode_schedule, out, "no such schedule", err);
}

enum taskq_rc store_schedule_list(struct db *db, const char *owner, struct schedule **out, int *n,
				  struct taskq_err *err)
{
	const char *p[1] = {owner};
	return store_exec_rows(db, &s_sched_list, p, sizeof **out, decode_schedule, out, n, err);
}

enum taskq_rc store_schedule_delete(struct db *db, const char *name, const char *owner,
				    struct taskq_err *err)
{
	const char *p[2] = {name, owner};

	return store_exec_found(db, &s_sched_delete, p, NULL, NULL, "no such schedule", err);
}

static void decode_due(const struct row *r, void *elem)
{
	struct due_schedule *d = elem;

	row_copy(r, 0, d->name, sizeof d->name);
	d->cron = row_dup(r, 1);
	row_copy(r, 2, d->tz, sizeof d->tz);
	d->backfill = (int)row_ll(r, 3, 0);
	d->next_fire = row_ll(r, 4, -1);
	d->now = row_ll(r, 5, 0);
	row_copy(r, 6, d->kind, sizeof d->kind);
	d->kind_known = row_bool(r, 7);
}

enum taskq_rc store_schedules_due(struct db *db, struct due_schedule **out, int *n, long long *now,
				  struct taskq_err *err)
{
	enum taskq_rc rc =
		store_exec_rows(db, &s_sched_due, NULL, sizeof **out, decode_due, out, n, err);

	if (rc == TASKQ_OK && *n > 0)
		*now = (*out)[*n - 1].now;
	return rc;
}

void store_due_free(struct due_schedule *v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i].cron);
	free(v);
}

enum taskq_rc store_schedule_fire(struct db *db, const char *name, long long at, const char *worker,
				  char task_id[40], struct taskq_err *err)
{
	char when[32], *v;
	const char *p[3] = {name, when, worker};
	enum taskq_rc rc;

	snprintf(when, sizeof when, "%lld", at);
	task_id[0] = '\0';
	if ((rc = store_exec_value(db, &s_sched_fire, p, &v, err)))
		return rc;
	if (v)
		snprintf(task_id, 40, "%s", v);
	free(v);
	return TASKQ_OK;
}

enum taskq_rc store_schedule_advance(struct db *db, const char *name, long long next,
				     const char *error, struct taskq_err *err)
{
	char when[32];
	const char *p[3] = {name, error ? NULL : when, error};

	snprintf(when, sizeof when, "%lld", next);
	return store_exec(db, &s_sched_advance, p, err);
}
