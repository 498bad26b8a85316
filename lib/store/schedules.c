/* store_schedules: the statements behind recurring schedules (sql/012_schedules.sql). */
#include "store/impl.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

static void decode(const PGresult *res, int row, struct schedule *s)
{
	memset(s, 0, sizeof *s);
	s->name = store_opt_str(res, row, PQfnumber(res, "name"));
	s->cron = store_opt_str(res, row, PQfnumber(res, "cron"));
	s->tz = store_opt_str(res, row, PQfnumber(res, "tz"));
	s->kind = store_opt_str(res, row, PQfnumber(res, "kind"));
	s->payload = store_opt_str(res, row, PQfnumber(res, "payload"));
	s->queue = store_opt_str(res, row, PQfnumber(res, "queue"));
	s->owner = store_opt_str(res, row, PQfnumber(res, "owner"));
	s->last_error = store_opt_str(res, row, PQfnumber(res, "last_error"));
	s->last_task_id = store_opt_str(res, row, PQfnumber(res, "last_task_id"));
	s->priority = (int)store_opt_ll(res, row, PQfnumber(res, "priority"), 0);
	s->max_attempts = (int)store_opt_ll(res, row, PQfnumber(res, "max_attempts"), 3);
	s->timeout_s = (int)store_opt_ll(res, row, PQfnumber(res, "timeout_s"), -1);
	s->backfill = (int)store_opt_ll(res, row, PQfnumber(res, "backfill"), 0);
	s->enabled = !strcmp(PQgetvalue(res, row, PQfnumber(res, "enabled")), "t");
	s->last_fire_at = store_opt_time(res, row, PQfnumber(res, "last_fire_at"));
	s->next_fire_at = store_opt_time(res, row, PQfnumber(res, "next_fire_at"));
	s->created_at = store_opt_time(res, row, PQfnumber(res, "created_at"));
	s->updated_at = store_opt_time(res, row, PQfnumber(res, "updated_at"));
}

enum taskq_rc store_schedule_put(struct db *db, const struct schedule_new *n, const char *owner,
				 bool replace, bool admin, struct schedule *out, bool *created,
				 struct taskq_err *err)
{
	char prio[16], maxa[16], tmo[16], backfill[16], next[32];
	const char *p[14] = {n->name, n->cron, n->tz, n->t.kind, n->t.payload ? n->t.payload : "{}",
			     n->t.queue, prio, maxa, n->t.timeout_s >= 0 ? tmo : NULL, owner,
			     n->enabled ? "t" : "f", backfill, next, admin ? "t" : "f"};
	PGresult *res;
	enum taskq_rc rc;

	snprintf(prio, sizeof prio, "%d", n->t.priority);
	snprintf(maxa, sizeof maxa, "%d", n->t.max_attempts);
	snprintf(tmo, sizeof tmo, "%d", n->t.timeout_s);
	snprintf(backfill, sizeof backfill, "%d", n->backfill);
	snprintf(next, sizeof next, "%lld", (long long)n->next_fire);
	if ((rc = db_exec(db, replace ? S_SCHED_PUT : S_SCHED_CREATE, p, &res, err)))
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return replace ? taskq_fail(err, TASKQ_NOTFOUND, "no such schedule")
			       : taskq_fail(err, TASKQ_CONFLICT, "a schedule named %s exists", n->name);
	}
	decode(res, 0, out);
	*created = !replace || !strcmp(PQgetvalue(res, 0, PQfnumber(res, "inserted")), "t");
	PQclear(res);
	return TASKQ_OK;
}

enum taskq_rc store_schedule_get(struct db *db, const char *name, struct schedule *out,
				 struct taskq_err *err)
{
	const char *p[1] = {name};
	PGresult *res;
	enum taskq_rc rc = db_exec(db, S_SCHED_GET, p, &res, err);

	if (rc)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return taskq_fail(err, TASKQ_NOTFOUND, "no such schedule");
	}
	decode(res, 0, out);
	PQclear(res);
	return TASKQ_OK;
}

enum taskq_rc store_schedule_list(struct db *db, const char *owner, struct schedule **out, int *n,
				  struct taskq_err *err)
{
	const char *p[1] = {owner};
	PGresult *res;
	enum taskq_rc rc = db_exec(db, S_SCHED_LIST, p, &res, err);

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	*n = PQntuples(res);
	*out = xcalloc((size_t)*n + 1, sizeof **out);
	for (int i = 0; i < *n; i++)
		decode(res, i, &(*out)[i]);
	PQclear(res);
	return TASKQ_OK;
}

enum taskq_rc store_schedule_delete(struct db *db, const char *name, const char *owner,
				    struct taskq_err *err)
{
	const char *p[2] = {name, owner};
	PGresult *res;
	enum taskq_rc rc = db_exec(db, S_SCHED_DELETE, p, &res, err);
	int n;

	if (rc)
		return rc;
	n = PQntuples(res);
	PQclear(res);
	return n == 1 ? TASKQ_OK : taskq_fail(err, TASKQ_NOTFOUND, "no such schedule");
}

enum taskq_rc store_schedules_due(struct db *db, struct due_schedule **out, int *n,
				  long long *now, struct taskq_err *err)
{
	PGresult *res;
	enum taskq_rc rc = db_exec(db, S_SCHED_DUE, NULL, &res, err);

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	*n = PQntuples(res);
	*out = xcalloc((size_t)*n + 1, sizeof **out);
	for (int i = 0; i < *n; i++) {
		struct due_schedule *d = &(*out)[i];
		snprintf(d->name, sizeof d->name, "%s", PQgetvalue(res, i, 0));
		d->cron = xstrdup(PQgetvalue(res, i, 1));
		snprintf(d->tz, sizeof d->tz, "%s", PQgetvalue(res, i, 2));
		d->backfill = (int)store_opt_ll(res, i, 3, 0);
		d->next_fire = store_opt_ll(res, i, 4, -1);
		*now = store_opt_ll(res, i, 5, 0);
	}
	PQclear(res);
	return TASKQ_OK;
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
	if ((rc = store_exec_value(db, S_SCHED_FIRE, p, &v, err)))
		return rc;
	if (v)
		snprintf(task_id, 40, "%s", v);
	free(v);
	return TASKQ_OK;
}

enum taskq_rc store_schedule_advance(struct db *db, const char *name, long long next,
				     const char *error, struct taskq_err *err)
{
	char when[32], *v;
	const char *p[3] = {name, error ? NULL : when, error};
	enum taskq_rc rc;

	snprintf(when, sizeof when, "%lld", next);
	rc = store_exec_value(db, S_SCHED_ADVANCE, p, &v, err);
	free(v);
	return rc;
}
