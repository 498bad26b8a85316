/*
 * store/tasks: the statements behind reading, cancelling and retrying tasks, their history,
 * the queue overview and the kinds (see store/tasks.h). The semantics of cancel and retry live
 * in sql/ (taskq.cancel, taskq.retry); this file calls them and maps outcomes to taskq_rc.
 */
#include "store/tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/exec.h"

/* A read of one task (and the answers to parked long-polls) carries a queued task's position
 * and eta_s (sql/functions/position.sql: a bounded count over the ready index, for ready tasks
 * only); the live streams' reads of every changed task do not (a count per new task of a
 * long backlog would be paid by every submit while a feed is open). Only a queued task's read
 * calls place_of (OFFSET 0 keeps the subquery whole, so its condition is a one-time filter
 * checked before the call). */
#define PLACED                                                 \
	"SELECT t.*, p.* FROM taskq.tasks t LEFT JOIN LATERAL" \
	" (SELECT * FROM taskq.place_of(t) WHERE t.state = 'queued' OFFSET 0) p ON true"
static struct db_stmt s_get = DB_STMT("get", PLACED " WHERE t.id = $1::uuid", 1);
static struct db_stmt s_get_many =
	DB_STMT("get_many", "SELECT * FROM taskq.tasks WHERE id = ANY ($1::uuid[])", 1);
static struct db_stmt s_get_many_placed =
	DB_STMT("get_many_placed", PLACED " WHERE t.id = ANY ($1::uuid[])", 1);
static struct db_stmt s_list =
	DB_STMT("list",
		"SELECT * FROM taskq.task_page($1::taskq.state, $2, $3, $4::uuid, $5::int, $6,"
		" $7::uuid, $8::uuid, $9::timestamptz, $10::timestamptz, $11::jsonb, $12,"
		" $13::uuid, $14)",
		14);
static struct db_stmt s_running =
	DB_STMT("running", "SELECT * FROM taskq.tasks WHERE state = 'running' LIMIT $1::int", 1);
static struct db_stmt s_cancel =
	DB_STMT("cancel", "SELECT c.outcome, (c.t).* FROM taskq.cancel($1::uuid) c", 1);
static struct db_stmt s_retry =
	DB_STMT("retry", "SELECT r.outcome, (r.t).* FROM taskq.retry($1::uuid) r", 1);
static struct db_stmt s_hold =
	DB_STMT("hold", "SELECT h.outcome, (h.t).* FROM taskq.hold($1::uuid) h", 1);
static struct db_stmt s_release_hold =
	DB_STMT("release_hold", "SELECT h.outcome, (h.t).* FROM taskq.release_hold($1::uuid) h", 1);
static struct db_stmt s_pause = DB_STMT("pause_queue", "SELECT taskq.pause_queue($1, $2)", 2);
static struct db_stmt s_resume = DB_STMT("resume_queue", "SELECT taskq.resume_queue($1)", 1);
static struct db_stmt s_history =
	DB_STMT("history",
		"SELECT at, event, attempt, worker_id, detail FROM taskq.task_history"
		" WHERE task_id = $1::uuid ORDER BY n LIMIT 1000",
		1);
/* A queue's row of the overview (decode_queue), the last its priority aging
 * (sql/functions/aging.sql): seconds per step, NULL: none. */
#define QUEUE_ROW                                                                       \
	"SELECT queue, queued, running, succeeded, failed, cancelled, oldest_queued_s," \
	" finished_last_minute, delayed, blocked, workers, held, paused, waiting,"      \
	" (SELECT a.seconds_per_step FROM taskq.queue_aging a WHERE a.queue = o.queue)"
static struct db_stmt s_queues = DB_STMT("queues", QUEUE_ROW " FROM taskq.queue_overview o", 0);
static struct db_stmt s_queues_of =
	DB_STMT("queues_of", QUEUE_ROW " FROM taskq.queue_overview_of($1) o", 1);
static struct db_stmt s_kinds = DB_STMT("kinds", "SELECT name FROM taskq.kinds ORDER BY name", 0);
static struct db_stmt s_register_kind =
	DB_STMT("register_kind",
		"INSERT INTO taskq.kinds (name) VALUES ($1)"
		" ON CONFLICT (name) DO UPDATE SET last_seen = now()",
		1);

enum taskq_rc store_get(struct db *db, const char *id, struct task *out, struct taskq_err *err)
{
	const char *p[1] = {id};
	bool found;
	enum taskq_rc rc = store_exec_row(db, &s_get, p, row_task, out, &found, err);

	if (rc == TASKQ_OK && !found)
		return taskq_fail(err, TASKQ_NOTFOUND, STORE_NO_TASK);
	return rc;
}

static enum taskq_rc get_many(struct db *db, struct db_stmt *st, const char *const *ids, int n,
			      struct task_list *out, struct taskq_err *err)
{
	char *arr = store_array_text(ids, n);
	const char *p[1] = {arr};
	enum taskq_rc rc = store_exec_tasks(db, st, p, out, err);

	free(arr);
	return rc;
}

enum taskq_rc store_get_many(struct db *db, const char *const *ids, int n, struct task_list *out,
			     struct taskq_err *err)
{
	return get_many(db, &s_get_many, ids, n, out, err);
}

enum taskq_rc store_get_many_placed(struct db *db, const char *const *ids, int n,
				    struct task_list *out, struct taskq_err *err)
{
	return get_many(db, &s_get_many_placed, ids, n, out, err);
}

enum taskq_rc store_list(struct db *db, const struct task_filter *f, struct task_list *out,
			 struct taskq_err *err)
{
	char limit[16];
	const char *p[14] = {f->state,   f->queue,  f->kind,   f->before,       limit,
			     f->owner,   f->id_lo,  f->id_hi,  f->created_from, f->created_to,
			     f->payload, f->worker, f->parent, f->waiting};

	snprintf(limit, sizeof limit, "%d", f->limit);
	return store_exec_tasks(db, &s_list, p, out, err);
}

enum taskq_rc store_running(struct db *db, int limit, struct task_list *out, struct taskq_err *err)
{
	char ls[16];
	const char *p[1] = {ls};

	snprintf(ls, sizeof ls, "%d", limit);
	return store_exec_tasks(db, &s_running, p, out, err);
}

/* The outcome column and the task of a cancel or retry. */
struct outcome {
	char name[STORE_OUTCOME_MAX];
	struct task *t;
};

static void decode_outcome(const struct row *r, void *elem)
{
	struct outcome *o = elem;

	row_copy(r, 0, o->name, sizeof o->name);
	if (strcmp(o->name, "not_found") != 0)
		row_task(r, o->t);
}

enum taskq_rc store_exec_outcome(struct db *db, struct db_stmt *stmt, const char *const *p,
				 char name[STORE_OUTCOME_MAX], struct task *t,
				 struct taskq_err *err)
{
	struct outcome o = {.t = t};
	bool found;
	enum taskq_rc rc = store_exec_row(db, stmt, p, decode_outcome, &o, &found, err);

	if (rc)
		return rc;
	memcpy(name, o.name, sizeof o.name);
	if (!found || !strcmp(o.name, "not_found"))
		return taskq_fail(err, TASKQ_NOTFOUND, STORE_NO_TASK);
	return TASKQ_OK;
}

enum taskq_rc store_cancel(struct db *db, const char *id, struct task *out, enum cancel_outcome *oc,
			   struct taskq_err *err)
{
	const char *p[1] = {id};
	char name[STORE_OUTCOME_MAX];
	enum taskq_rc rc = store_exec_outcome(db, &s_cancel, p, name, out, err);

	if (rc)
		return rc;
	*oc = !strcmp(name, "cancelled")   ? CANCEL_DONE
	      : !strcmp(name, "requested") ? CANCEL_REQUESTED
					   : CANCEL_FINISHED;
	return TASKQ_OK;
}

/* A verb that moves a task to state want (retry, hold, release): TASKQ_CONFLICT with "task
 * is <its state>; <only>" when the task was in another state. */
static enum taskq_rc exec_move(struct db *db, struct db_stmt *stmt, const char *id,
			       const char *want, const char *only, struct task *out,
			       struct taskq_err *err)
{
	const char *p[1] = {id};
	char name[STORE_OUTCOME_MAX];
	enum taskq_rc rc = store_exec_outcome(db, stmt, p, name, out, err);

	if (rc)
		return rc;
	if (!strcmp(name, "key_taken"))
		return taskq_fail(
			err, TASKQ_CONFLICT,
			"another live task holds this task's dedupe_key now; it stays held");
	if (strcmp(name, want) != 0)
		return taskq_fail(err, TASKQ_CONFLICT, "task is %s; %s",
				  task_state_name(out->state), only);
	return TASKQ_OK;
}

enum taskq_rc store_retry(struct db *db, const char *id, struct task *out, struct taskq_err *err)
{
	return exec_move(db, &s_retry, id, "queued",
			 "only failed or cancelled tasks can be retried", out, err);
}

enum taskq_rc store_hold(struct db *db, const char *id, struct task *out, struct taskq_err *err)
{
	return exec_move(db, &s_hold, id, "held", "only a queued task can be held", out, err);
}

enum taskq_rc store_release_hold(struct db *db, const char *id, struct task *out,
				 struct taskq_err *err)
{
	return exec_move(db, &s_release_hold, id, "queued", "only a held task can be released", out,
			 err);
}

enum taskq_rc store_pause_queue(struct db *db, const char *queue, const char *by, bool pause,
				bool *changed, struct taskq_err *err)
{
	const char *p[2] = {queue, by};

	return store_exec_bool(db, pause ? &s_pause : &s_resume, p, changed, err);
}

enum taskq_rc store_history(struct db *db, const char *id, struct task_event **out, int *n,
			    struct taskq_err *err)
{
	const char *p[1] = {id};
	return store_exec_records(db, &s_history, p, &task_event_record, sizeof **out, out, n, err);
}

static void decode_queue(const struct row *r, void *elem)
{
	struct queue_stat *q = elem;

	q->queue = row_dup(r, 0);
	for (int s = 0; s < TASK_CANCELLED + 1; s++)
		q->count[s] = row_ll(r, 1 + s, 0);
	q->oldest_queued_s = row_double(r, 6, -1);
	q->finished_last_minute = row_ll(r, 7, 0);
	q->delayed = row_ll(r, 8, 0);
	q->blocked = row_ll(r, 9, 0);
	q->workers = row_ll(r, 10, 0);
	q->count[TASK_HELD] = row_ll(r, 11, 0);
	q->paused = row_bool(r, 12);
	q->count[TASK_WAITING] = row_ll(r, 13, 0);
	q->aging_s = row_double(r, 14, -1);
}

enum taskq_rc store_queues(struct db *db, const char *owner, struct queue_stat **out, int *n,
			   struct taskq_err *err)
{
	const char *p[1] = {owner};
	return store_exec_rows(db, owner ? &s_queues_of : &s_queues, owner ? p : NULL, sizeof **out,
			       decode_queue, out, n, err);
}

enum taskq_rc store_kinds(struct db *db, char ***names, int *n, struct taskq_err *err)
{
	return store_exec_rows(db, &s_kinds, NULL, sizeof **names, row_dup_first, names, n, err);
}

enum taskq_rc store_register_kind(struct db *db, const char *name, struct taskq_err *err)
{
	const char *p[1] = {name};
	return store_exec(db, &s_register_kind, p, err);
}
