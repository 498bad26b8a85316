/*
 * store: every SQL statement taskq's C code runs, as prepared statements, and the decoding
 * of task rows into struct task. The semantics live in sql/ (taskq.* functions); this file
 * and the other lib/store_*.c (the worker's verbs, auth, batches, chains, schedules, limits,
 * breakers, metrics) call them and map outcomes to taskq_rc.
 */
#include "store.h"
#include "store_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* A task's place in line: taskq.fair_run_at (sql/functions/submit.sql), with $12 (fair)
 * and one microsecond after the owner's previous task in this queue and priority ($13,
 * remembered by the caller). The planner inlines the function into the INSERT. */
#define FAIR_RUN_AT                                                                          \
	"taskq.fair_run_at($3, $4::smallint, $5::float8, $12::boolean,"                        \
	" $13::timestamptz + interval '1 microsecond')"

#define INSERT_TASK                                                                          \
	"INSERT INTO taskq.tasks AS t (kind, payload, queue, priority, run_at, max_attempts,"  \
	" timeout_s, dedupe_key, concurrency_key, owner, callback_url)"                        \
	" VALUES ($1, $2::jsonb, $3, $4::smallint, " FAIR_RUN_AT ", $6::int, $7::int, $8, $9,"     \
	" $10, $11)"

/* Several submits of concurrent requests in one statement (fcgi/combine.c): a JSON array of
 * elements as taskjson_batch_element() makes them, plus "id" (made by the caller, so that each
 * returned row is known by it) and "owner". Same place in line as FAIR_RUN_AT. */
#define INSERT_GROUP                                                                         \
	"INSERT INTO taskq.tasks AS t (id, kind, payload, queue, priority, run_at, max_attempts," \
	" timeout_s, concurrency_key, owner, callback_url)"                                    \
	" SELECT (e.v->>'id')::uuid, e.v->>'kind', e.v->'payload', e.v->>'queue',"            \
	" (e.v->>'priority')::smallint,"                                                       \
	" taskq.fair_run_at(e.v->>'queue', (e.v->>'priority')::smallint,"                      \
	" (e.v->>'delay_s')::float8, e.v->'fair' IS NOT NULL,"                                 \
	" (e.v->>'fair_after')::timestamptz + make_interval(secs => e.o / 1e6)),"              \
	" (e.v->>'max_attempts')::int, (e.v->>'timeout_s')::int, e.v->>'concurrency_key',"     \
	" e.v->>'owner', e.v->>'callback_url'"                                                 \
	" FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(v, o) RETURNING t.*"

#define SCHED_COLUMNS                                                                        \
	"(name, cron, tz, kind, payload, queue, priority, max_attempts, timeout_s, owner, enabled," \
	" backfill, next_fire_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::smallint, $8::int,"  \
	" $9::int, $10, $11::boolean, $12::int, to_timestamp($13::float8))"

const struct db_stmt store_stmts[S_COUNT] = {
	[S_PING] = {"ping", "SELECT 1", 0},
	[S_SUBMIT] = {"submit", INSERT_TASK " RETURNING t.*", 13},
	[S_SUBMIT_DEDUPE] = {"submit_dedupe",
			     INSERT_TASK " ON CONFLICT (owner, dedupe_key) WHERE dedupe_key IS NOT NULL"
					 " AND state IN ('queued', 'running') DO NOTHING RETURNING t.*",
			     13},
	[S_FIND_DEDUPE] = {"find_dedupe",
			   "SELECT * FROM taskq.tasks WHERE owner = $1 AND dedupe_key = $2"
			   " AND state IN ('queued', 'running')",
			   2},
	[S_GET] = {"get", "SELECT * FROM taskq.tasks WHERE id = $1::uuid", 1},
	[S_CANCEL] = {"cancel", "SELECT c.outcome, (c.t).* FROM taskq.cancel($1::uuid) c", 1},
	[S_RETRY] = {"retry", "SELECT r.outcome, (r.t).* FROM taskq.retry($1::uuid) r", 1},
	[S_LIST] = {"list",
		    "SELECT * FROM taskq.tasks"
		    " WHERE ($1::taskq.state IS NULL OR state = $1::taskq.state)"
		    " AND ($2::text IS NULL OR queue = $2) AND ($3::text IS NULL OR kind = $3)"
		    " AND ($4::uuid IS NULL OR id < $4::uuid) AND ($6::text IS NULL OR owner = $6)"
		    " ORDER BY id DESC LIMIT $5::int",
		    6},
	[S_WAKE] = {"wake", "SELECT pg_notify('taskq_wake', '')", 0},
	[S_KINDS] = {"kinds", "SELECT name FROM taskq.kinds ORDER BY name", 0},
	[S_SUBMIT_GROUP] = {"submit_group", INSERT_GROUP, 1},
	[S_SCHED_CREATE] = {"sched_create",
			    "INSERT INTO taskq.schedules " SCHED_COLUMNS
			    " ON CONFLICT (name) DO NOTHING RETURNING *",
			    13},
	/* an owner replaces its own schedule only; an admin any, keeping its owner */
	[S_SCHED_PUT] = {"sched_put",
			 "INSERT INTO taskq.schedules AS s " SCHED_COLUMNS
			 " ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, tz = excluded.tz,"
			 " kind = excluded.kind, payload = excluded.payload, queue = excluded.queue,"
			 " priority = excluded.priority, max_attempts = excluded.max_attempts,"
			 " timeout_s = excluded.timeout_s, enabled = excluded.enabled,"
			 " backfill = excluded.backfill, next_fire_at = excluded.next_fire_at,"
			 " last_error = NULL, updated_at = now()"
			 " WHERE s.owner = excluded.owner OR $14::boolean"
			 " RETURNING *, (xmax = 0) AS inserted",
			 14},
	[S_SCHED_GET] = {"sched_get", "SELECT * FROM taskq.schedules WHERE name = $1", 1},
	[S_SCHED_LIST] = {"sched_list",
			  "SELECT * FROM taskq.schedules WHERE ($1::text IS NULL OR owner = $1)"
			  " ORDER BY name LIMIT 1000",
			  1},
	[S_SCHED_DELETE] = {"sched_delete",
			    "DELETE FROM taskq.schedules WHERE name = $1"
			    " AND ($2::text IS NULL OR owner = $2) RETURNING name",
			    2},
	[S_SCHED_DUE] = {"sched_due",
			 "SELECT name, cron, tz, backfill,"
			 " floor(extract(epoch FROM next_fire_at))::bigint AS next_fire,"
			 " floor(extract(epoch FROM clock_timestamp()))::bigint AS now"
			 " FROM taskq.schedules WHERE enabled"
			 " AND (next_fire_at IS NULL OR next_fire_at <= clock_timestamp())"
			 " ORDER BY next_fire_at NULLS FIRST LIMIT 200",
			 0},
	[S_SCHED_FIRE] = {"sched_fire",
			  "SELECT taskq.fire_schedule($1, to_timestamp($2::float8), $3)", 3},
	[S_RATE_PUT] = {"rate_put",
			"INSERT INTO taskq.rate_limits AS l (scope, name, max_starts, per)"
			" VALUES ($1, $2, $3::int, make_interval(secs => $4::float8))"
			" ON CONFLICT (scope, name) DO UPDATE SET max_starts = excluded.max_starts,"
			" per = excluded.per RETURNING scope, name, max_starts,"
			" extract(epoch FROM per) AS per_s, (xmax = 0) AS inserted",
			4},
	[S_RATE_LIST] = {"rate_list",
			 "SELECT scope, name, max_starts, extract(epoch FROM per) AS per_s,"
			 " (SELECT count(*) FROM unnest(starts) x WHERE x > now() - per) AS recent"
			 " FROM taskq.rate_limits ORDER BY scope, name",
			 0},
	[S_RATE_DELETE] = {"rate_delete",
			   "DELETE FROM taskq.rate_limits WHERE scope = $1 AND name = $2 RETURNING name",
			   2},
	[S_SCHED_ADVANCE] = {"sched_advance",
			     "SELECT taskq.schedule_advance($1, to_timestamp($2::float8), $3)", 3},
	[S_SUBMIT_MANY] = {"submit_many",
			   "SELECT ord, id, created, queue, priority, run_at"
			   " FROM taskq.submit_many($1::jsonb, $2, false, $3)",
			   3},
	[S_SUBMIT_AFTER] = {"submit_after",
			    "SELECT id, created FROM taskq.insert_tasks($1::jsonb, $2, false, $3, NULL, NULL)",
			    3},
	[S_PARENTS_OF] = {"parents_of", "SELECT taskq.parents_of($1::uuid)::text", 1},
	[S_REGISTER_KIND] = {"register_kind",
			     "INSERT INTO taskq.kinds (name) VALUES ($1)"
			     " ON CONFLICT (name) DO UPDATE SET last_seen = now()",
			     1},
	[S_CLAIM] = {"claim", "SELECT * FROM taskq.claim($1, $2, $3::int, $4::int)", 4},
	[S_NEXT_DUE] = {"next_due",
			"SELECT extract(epoch FROM taskq.next_run_at(string_to_array($1, ',')) - now())",
			1},
	[S_PROGRESS] = {"progress", "SELECT taskq.progress($1::uuid, $2, $3::int, $4::int, $5, $6::int)", 6},
	[S_COMPLETE] = {"complete", "SELECT taskq.complete($1::uuid, $2, $3::int, $4::jsonb)", 4},
	[S_FAIL] = {"fail", "SELECT taskq.fail($1::uuid, $2, $3::int, $4, $5::boolean, $6::float8)", 6},
	[S_ACK_CANCEL] = {"ack_cancel", "SELECT taskq.ack_cancel($1::uuid, $2, $3::int)", 3},
	[S_RELEASE] = {"release", "SELECT taskq.release($1::uuid, $2, $3::int)", 3},
	[S_RESCUE] = {"rescue", "SELECT taskq.rescue()", 0},
	[S_HEARTBEAT] = {"heartbeat",
			 "SELECT id, cancel_requested FROM taskq.heartbeat($1, $2::int, $3::uuid[], $4::int[],"
			 " $5, $6::int, $7, $8, $9::int, $10::jsonb)",
			 10},
	[S_LIVE_WORKERS] = {"live_workers",
			    "SELECT count(*) FROM taskq.workers WHERE last_seen > now() - interval '1 minute'",
			    0},
	[S_QUEUES] = {"queues",
		      "SELECT queue, queued, running, succeeded, failed, cancelled, oldest_queued_s,"
		      " finished_last_minute FROM taskq.queue_overview",
		      0},
	[S_HISTORY] = {"history",
		       "SELECT at, event, attempt, worker_id, detail FROM taskq.task_events"
		       " WHERE task_id = $1::uuid ORDER BY id LIMIT 1000",
		       1},
	[S_GET_MANY] = {"get_many", "SELECT * FROM taskq.tasks WHERE id = ANY ($1::uuid[])", 1},
	[S_RUNNING] = {"running", "SELECT * FROM taskq.tasks WHERE state = 'running' LIMIT $1::int", 1},
	[S_COMPLETE_MANY] = {"complete_many",
			     "SELECT taskq.complete_many($1, $2::uuid[], $3::int[], $4::jsonb)", 4},
	[S_PUBLISH_LOCK] = {"publish_lock", "SELECT pg_try_advisory_lock(1952539762, hashtext($1))", 1},
	[S_WATCH_NOTE] = {"watch_note", "SELECT pg_notify('taskq_watch', $1)", 1},
	[S_CLAIM_CALLBACKS] = {"claim_callbacks", "SELECT * FROM taskq.claim_callbacks($1::int, $2::int)", 2},
	[S_CALLBACK_DONE] = {"callback_done", "SELECT taskq.callback_done($1::uuid, $2::boolean, $3)", 3},
	[S_WORKER_EXIT] = {"worker_exit", "SELECT taskq.worker_exit($1)", 1},
	[S_PRUNE] = {"prune", "SELECT taskq.prune(make_interval(hours => $1::int), $2::int)", 2},
	[S_MIGRATED] = {"migrated", "SELECT 1 FROM taskq.schema_version WHERE version = $1::int", 1},
	[S_RECORD_MIGRATION] = {"record_migration",
				"INSERT INTO taskq.schema_version (version, name) VALUES ($1::int, $2)",
				2},
	[S_TOKEN_LOOKUP] = {"token_lookup",
			    "SELECT owner, admin, expires_in_s FROM taskq.token_lookup(decode($1, 'hex'))"
			    " WHERE owner IS NOT NULL",
			    1},
	[S_TOKEN_CREATE] = {"token_create",
			    "INSERT INTO taskq.tokens (hash, prefix, owner, admin, note, expires_at)"
			    " VALUES (decode($1, 'hex'), $2, $3, $4::boolean, $5,"
			    " CASE WHEN $6::float8 > 0 THEN now() + make_interval(secs => $6::float8) END)"
			    " RETURNING id",
			    6},
	[S_TOKEN_LIST] = {"token_list",
			  "SELECT id, prefix, owner, admin, coalesce(note, ''), created_at,"
			  " expires_at, status FROM taskq.token_list",
			  0},
	[S_TOKEN_REVOKE] = {"token_revoke", "SELECT count(*) FROM taskq.token_revoke($1)", 1},
	[S_VIEW_KEYS] = {"view_keys",
			 "SELECT id, encode(secret, 'hex') FROM taskq.view_keys"
			 " ORDER BY created_at DESC, id DESC",
			 0},
	[S_OWNER_UNFINISHED] = {"owner_unfinished",
				"SELECT count(*) FROM taskq.tasks WHERE owner = $1"
				" AND state IN ('queued', 'running')",
				1},
	[S_QUEUES_OF] = {"queues_of",
			 "SELECT queue, queued, running, succeeded, failed, cancelled, oldest_queued_s,"
			 " finished_last_minute FROM taskq.queue_overview_of($1)",
			 1},
	[S_METRICS_QUEUES] = {"metrics_queues",
			      "SELECT queue, state, count, finished_last_minute, oldest_ready_s"
			      " FROM taskq.metrics_queues",
			      0},
	[S_METRICS_COUNTERS] = {"metrics_counters", "SELECT queue, state, n FROM taskq.counter_totals", 0},
	[S_METRICS_WORKERS] = {"metrics_workers",
			       "SELECT id, running, concurrency, extract(epoch FROM now() - last_seen),"
			       " metrics FROM taskq.workers"
			       " WHERE last_seen > now() - interval '1 minute' ORDER BY id",
			       0},
	[S_METRICS_BREAKERS] = {"metrics_breakers",
				"SELECT host, state, failures, trips, probes, deferred FROM taskq.breakers"
				" WHERE trips > 0 ORDER BY updated_at DESC, host LIMIT 200",
				0},
	[S_BREAKERS_ACTIVE] = {"breakers_active",
			       "SELECT host, state, failures FROM taskq.breakers"
			       " WHERE state <> 'closed' OR failures > 0"
			       " ORDER BY state <> 'closed' DESC, updated_at DESC LIMIT 1000",
			       0},
	[S_BREAKER_ADMIT] = {"breaker_admit",
			     "SELECT verdict, state, failures, message"
			     " FROM taskq.breaker_admit($1, $2::uuid, $3, $4::int, $5::float8)",
			     5},
	[S_BREAKER_REPORT] = {"breaker_report",
			      "SELECT coalesce(transition, ''), state, failures, coalesce(cooldown_s, 0)"
			      " FROM taskq.breaker_report($1, $2::uuid, $3::int, $4::boolean, $5,"
			      " $6::int, $7::float8, $8::float8)",
			      8},
	[S_WORKERS] = {"workers",
		       "SELECT id, host, pid, version, queues, concurrency, running,"
		       " extract(epoch FROM now() - last_seen) FROM taskq.workers"
		       " WHERE last_seen > now() - interval '1 minute' ORDER BY host, pid, id",
		       0},
};

struct db *store_open(const char *conninfo, const char *app_name)
{
	return db_new(conninfo, app_name, store_stmts, S_COUNT);
}

struct db *store_open_watcher(const char *conninfo, const char *app_name)
{
	struct db *db = store_open(conninfo, app_name);
	db_listen(db, "taskq_task");
	db_listen(db, "taskq_watch");
	db_listen(db, "taskq_tokens");
	return db;
}

struct db *store_open_listener(const char *conninfo, const char *app_name)
{
	struct db *db = store_open(conninfo, app_name);
	db_listen(db, "taskq_wake");
	db_listen(db, "taskq_breakers");
	return db;
}

/* ---- decoding ---------------------------------------------------------------------- */

char *store_opt_str(const PGresult *res, int row, int col)
{
	if (col < 0 || PQgetisnull(res, row, col))
		return NULL;
	return xstrdup(PQgetvalue(res, row, col));
}

long long store_opt_ll(const PGresult *res, int row, int col, long long dflt)
{
	if (col < 0 || PQgetisnull(res, row, col))
		return dflt;
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* PostgreSQL's ISO output in UTC ("2026-11-24 22:42:00.123456+00") → RFC 3339
 * ("2026-11-24T22:42:00.123456Z"). 'infinity' (the run_at of a task blocked by its parents:
 * no time yet) is NULL. */
char *store_opt_time(const PGresult *res, int row, int col)
{
	char *s = store_opt_str(res, row, col);
	size_t n;

	if (s && !strcmp(s, "infinity")) {
		free(s);
		s = NULL;
	}
	if (!s)
		return NULL;
	n = strlen(s);
	if (n > 10 && s[10] == ' ')
		s[10] = 'T';
	if (n > 3 && !strcmp(s + n - 3, "+00")) {
		s[n - 3] = 'Z';
		s[n - 2] = '\0';
	}
	return s;
}

void store_decode_task(const PGresult *res, int row, struct task *t)
{
	int c_id = PQfnumber(res, "id"), c_state = PQfnumber(res, "state");
	const char *id = PQgetvalue(res, row, c_id);

	memset(t, 0, sizeof *t);
	snprintf(t->id, sizeof t->id, "%s", id ? id : "");
	t->kind = store_opt_str(res, row, PQfnumber(res, "kind"));
	t->queue = store_opt_str(res, row, PQfnumber(res, "queue"));
	t->owner = store_opt_str(res, row, PQfnumber(res, "owner"));
	t->state = (enum task_state)task_state_parse(PQgetvalue(res, row, c_state));
	t->progress = (int)store_opt_ll(res, row, PQfnumber(res, "progress"), 0);
	t->message = store_opt_str(res, row, PQfnumber(res, "message"));
	t->payload = store_opt_str(res, row, PQfnumber(res, "payload"));
	t->result = store_opt_str(res, row, PQfnumber(res, "result"));
	t->error = store_opt_str(res, row, PQfnumber(res, "error"));
	t->attempts = (int)store_opt_ll(res, row, PQfnumber(res, "attempts"), 0);
	t->max_attempts = (int)store_opt_ll(res, row, PQfnumber(res, "max_attempts"), 0);
	t->priority = (int)store_opt_ll(res, row, PQfnumber(res, "priority"), 0);
	t->timeout_s = (int)store_opt_ll(res, row, PQfnumber(res, "timeout_s"), -1);
	t->cancel_requested = !strcmp(PQgetvalue(res, row, PQfnumber(res, "cancel_requested")), "t");
	t->created_at = store_opt_time(res, row, PQfnumber(res, "created_at"));
	t->run_at = store_opt_time(res, row, PQfnumber(res, "run_at"));
	t->started_at = store_opt_time(res, row, PQfnumber(res, "started_at"));
	t->finished_at = store_opt_time(res, row, PQfnumber(res, "finished_at"));
	t->updated_at = store_opt_time(res, row, PQfnumber(res, "updated_at"));
	t->version = store_opt_ll(res, row, PQfnumber(res, "version"), 0);
	t->dedupe_key = store_opt_str(res, row, PQfnumber(res, "dedupe_key"));
	t->concurrency_key = store_opt_str(res, row, PQfnumber(res, "concurrency_key"));
	t->callback_url = store_opt_str(res, row, PQfnumber(res, "callback_url"));
	t->callback_state = store_opt_str(res, row, PQfnumber(res, "callback_state"));
	t->parents = store_opt_uuid_array(res, row, PQfnumber(res, "parents"));
	t->after_policy = store_opt_str(res, row, PQfnumber(res, "after_policy"));
	t->pending_parents = (int)store_opt_ll(res, row, PQfnumber(res, "pending_parents"), 0);
}

void store_decode_list(const PGresult *res, struct task_list *out)
{
	int n = PQntuples(res);
	out->n = (size_t)n;
	out->v = n ? xcalloc((size_t)n, sizeof *out->v) : NULL;
	for (int i = 0; i < n; i++)
		store_decode_task(res, i, &out->v[i]);
}

/* Runs a statement expected to return at most one value; copies it (or NULL) to *val. */
enum taskq_rc store_exec_value(struct db *db, int stmt, const char *const *params, char **val,
				struct taskq_err *err)
{
	PGresult *res;
	enum taskq_rc rc = db_exec(db, stmt, params, &res, err);

	*val = NULL;
	if (rc)
		return rc;
	if (PQntuples(res) > 0)
		*val = store_opt_str(res, 0, 0);
	PQclear(res);
	return TASKQ_OK;
}

enum taskq_rc store_exec_list(struct db *db, int stmt, const char *const *params,
			      struct task_list *out, struct taskq_err *err)
{
	PGresult *res;
	enum taskq_rc rc = db_exec(db, stmt, params, &res, err);

	if (rc)
		return rc;
	store_decode_list(res, out);
	PQclear(res);
	return TASKQ_OK;
}

/* Runs a worker verb that answers one boolean: did this worker still hold the task. */
enum taskq_rc store_exec_fenced(struct db *db, int stmt, const char *const *p, bool *held,
				 struct taskq_err *err)
{
	char *v;
	enum taskq_rc rc = store_exec_value(db, stmt, p, &v, err);

	if (held)
		*held = v && !strcmp(v, "t");
	free(v);
	return rc;
}

/* ---- HTTP-side verbs ----------------------------------------------------------------- */

enum taskq_rc store_ping(struct db *db, struct taskq_err *err)
{
	char *v;
	enum taskq_rc rc = store_exec_value(db, S_PING, NULL, &v, err);
	free(v);
	return rc;
}

enum taskq_rc store_live_workers(struct db *db, int *n, struct taskq_err *err)
{
	char *v;
	enum taskq_rc rc = store_exec_value(db, S_LIVE_WORKERS, NULL, &v, err);

	*n = v ? (int)strtol(v, NULL, 10) : 0;
	free(v);
	return rc;
}

enum taskq_rc store_submit(struct db *db, const struct task_new *n, struct task *out,
			   bool *created, struct taskq_err *err)
{
	char prio[16], delay[32], maxa[16], tmo[16];
	const char *p[13];
	enum taskq_rc rc;
	PGresult *res;

	snprintf(prio, sizeof prio, "%d", n->priority);
	snprintf(delay, sizeof delay, "%.6f", n->delay_s);
	snprintf(maxa, sizeof maxa, "%d", n->max_attempts);
	snprintf(tmo, sizeof tmo, "%d", n->timeout_s);
	p[0] = n->kind;
	p[1] = n->payload;
	p[2] = n->queue;
	p[3] = prio;
	p[4] = delay;
	p[5] = maxa;
	p[6] = n->timeout_s >= 0 ? tmo : NULL;
	p[7] = n->dedupe_key;
	p[8] = n->concurrency_key;
	p[9] = n->owner;
	p[10] = n->callback_url;
	p[11] = n->fair ? "t" : "f";
	p[12] = n->fair_after;

	for (int tries = 0; tries < 5; tries++) {
		rc = db_exec(db, n->dedupe_key ? S_SUBMIT_DEDUPE : S_SUBMIT, p, &res, err);
		if (rc)
			return rc;
		if (PQntuples(res) == 1) {
			store_decode_task(res, 0, out);
			PQclear(res);
			*created = true;
			return TASKQ_OK;
		}
		PQclear(res);
		/* a live duplicate holds the dedupe key: answer with it */
		const char *q[2] = {n->owner, n->dedupe_key};
		if ((rc = db_exec(db, S_FIND_DEDUPE, q, &res, err)))
			return rc;
		if (PQntuples(res) == 1) {
			store_decode_task(res, 0, out);
			PQclear(res);
			*created = false;
			return TASKQ_OK;
		}
		PQclear(res); /* it finished in between: insert again */
	}
	return taskq_fail(err, TASKQ_INTERNAL, "dedupe key kept changing hands");
}

enum taskq_rc store_get(struct db *db, const char *id, struct task *out, struct taskq_err *err)
{
	const char *p[1] = {id};
	PGresult *res;
	enum taskq_rc rc = db_exec(db, S_GET, p, &res, err);

	if (rc)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return taskq_fail(err, TASKQ_NOTFOUND, "no task %s", id);
	}
	store_decode_task(res, 0, out);
	PQclear(res);
	return TASKQ_OK;
}

/* Runs a statement returning (outcome, task columns...) with one row. */
static enum taskq_rc exec_outcome(struct db *db, int stmt, const char *id, struct task *out,
				  char *outcome, size_t outcome_size, struct taskq_err *err)
{
	const char *p[1] = {id};
	PGresult *res;
	enum taskq_rc rc = db_exec(db, stmt, p, &res, err);

	if (rc)
		return rc;
	snprintf(outcome, outcome_size, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "not_found");
	if (strcmp(outcome, "not_found") != 0)
		store_decode_task(res, 0, out);
	PQclear(res);
	if (!strcmp(outcome, "not_found"))
		return taskq_fail(err, TASKQ_NOTFOUND, "no task %s", id);
	return TASKQ_OK;
}

enum taskq_rc store_cancel(struct db *db, const char *id, struct task *out,
			   enum cancel_outcome *oc, struct taskq_err *err)
{
	char outcome[32];
	enum taskq_rc rc = exec_outcome(db, S_CANCEL, id, out, outcome, sizeof outcome, err);

	if (rc)
		return rc;
	*oc = !strcmp(outcome, "cancelled")   ? CANCEL_DONE
	      : !strcmp(outcome, "requested") ? CANCEL_REQUESTED
					      : CANCEL_FINISHED;
	return TASKQ_OK;
}

enum taskq_rc store_retry(struct db *db, const char *id, struct task *out, struct taskq_err *err)
{
	char outcome[32];
	enum taskq_rc rc = exec_outcome(db, S_RETRY, id, out, outcome, sizeof outcome, err);

	if (rc)
		return rc;
	if (strcmp(outcome, "queued") != 0)
		return taskq_fail(err, TASKQ_CONFLICT, "task is %s; only failed or cancelled tasks can be retried",
				  task_state_name(out->state));
	return TASKQ_OK;
}

enum taskq_rc store_list(struct db *db, const struct task_filter *f, struct task_list *out,
			 struct taskq_err *err)
{
	char limit[16];
	const char *p[6] = {f->state, f->queue, f->kind, f->before, limit, f->owner};

	snprintf(limit, sizeof limit, "%d", f->limit);
	return store_exec_list(db, S_LIST, p, out, err);
}

enum taskq_rc store_wake(struct db *db, struct taskq_err *err)
{
	char *v;
	enum taskq_rc rc = store_exec_value(db, S_WAKE, NULL, &v, err);
	free(v);
	return rc;
}

enum taskq_rc store_kinds(struct db *db, char ***names, int *n, struct taskq_err *err)
{
	PGresult *res;
	enum taskq_rc rc = db_exec(db, S_KINDS, NULL, &res, err);

	*names = NULL;
	*n = 0;
	if (rc)
		return rc;
	*n = PQntuples(res);
	*names = xcalloc((size_t)*n + 1, sizeof **names);
	for (int i = 0; i < *n; i++)
		(*names)[i] = xstrdup(PQgetvalue(res, i, 0));
	PQclear(res);
	return TASKQ_OK;
}

enum taskq_rc store_register_kind(struct db *db, const char *name, struct taskq_err *err)
{
	const char *p[1] = {name};
	PGresult *res;
	enum taskq_rc rc = db_exec(db, S_REGISTER_KIND, p, &res, err);
	PQclear(res);
	return rc;
}

enum taskq_rc store_queues(struct db *db, const char *owner, struct queue_stat **out, int *n,
			   struct taskq_err *err)
{
	const char *p[1] = {owner};
	PGresult *res;
	enum taskq_rc rc = db_exec(db, owner ? S_QUEUES_OF : S_QUEUES, owner ? p : NULL, &res, err);

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	*n = PQntuples(res);
	*out = xcalloc((size_t)*n + 1, sizeof **out);
	for (int i = 0; i < *n; i++) {
		struct queue_stat *q = &(*out)[i];
		q->queue = xstrdup(PQgetvalue(res, i, 0));
		for (int s = 0; s < 5; s++)
			q->count[s] = store_opt_ll(res, i, 1 + s, 0);
		q->oldest_queued_s = PQgetisnull(res, i, 6) ? -1 : strtod(PQgetvalue(res, i, 6), NULL);
		q->finished_last_minute = store_opt_ll(res, i, 7, 0);
	}
	PQclear(res);
	return TASKQ_OK;
}

enum taskq_rc store_history(struct db *db, const char *id, struct task_event **out, int *n,
			    struct taskq_err *err)
{
	const char *p[1] = {id};
	PGresult *res;
	enum taskq_rc rc = db_exec(db, S_HISTORY, p, &res, err);

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	*n = PQntuples(res);
	*out = xcalloc((size_t)*n + 1, sizeof **out);
	for (int i = 0; i < *n; i++) {
		(*out)[i].at = store_opt_time(res, i, 0);
		(*out)[i].event = store_opt_str(res, i, 1);
		(*out)[i].attempt = (int)store_opt_ll(res, i, 2, -1);
		(*out)[i].worker_id = store_opt_str(res, i, 3);
		(*out)[i].detail = store_opt_str(res, i, 4);
	}
	PQclear(res);
	return TASKQ_OK;
}

enum taskq_rc store_get_many(struct db *db, const char *ids_array, struct task_list *out,
			     struct taskq_err *err)
{
	const char *p[1] = {ids_array};
	return store_exec_list(db, S_GET_MANY, p, out, err);
}

enum taskq_rc store_publish_lock(struct db *db, const char *key, bool *got, struct taskq_err *err)
{
	const char *p[1] = {key};
	char *v;
	enum taskq_rc rc = store_exec_value(db, S_PUBLISH_LOCK, p, &v, err);

	*got = v && !strcmp(v, "t");
	free(v);
	return rc;
}

enum taskq_rc store_watch_note(struct db *db, const char *note, struct taskq_err *err)
{
	const char *p[1] = {note};
	char *v;
	enum taskq_rc rc = store_exec_value(db, S_WATCH_NOTE, p, &v, err);
	free(v);
	return rc;
}

/* ---- migrations ---------------------------------------------------------------------- */

enum taskq_rc store_migrate(struct db *db, int version, const char *name, const char *sql,
			    bool *applied, struct taskq_err *err)
{
	static const char boot[] =
		"BEGIN;"
		"SELECT pg_advisory_xact_lock(7415238512);"
		"CREATE SCHEMA IF NOT EXISTS taskq;"
		"CREATE TABLE IF NOT EXISTS taskq.schema_version ("
		" version integer PRIMARY KEY, name text NOT NULL,"
		" applied_at timestamptz NOT NULL DEFAULT now())";
	char vs[16];
	const char *p[2] = {vs, name};
	char *v = NULL;
	enum taskq_rc rc;

	*applied = false;
	snprintf(vs, sizeof vs, "%d", version);
	if ((rc = db_exec_script(db, boot, err)))
		return rc;
	if ((rc = store_exec_value(db, S_MIGRATED, p, &v, err)))
		goto fail;
	if (v) {
		free(v);
		return db_exec_script(db, "COMMIT", err);
	}
	if ((rc = db_exec_script(db, sql, err)))
		goto fail;
	if ((rc = store_exec_fenced(db, S_RECORD_MIGRATION, p, NULL, err)))
		goto fail;
	if ((rc = db_exec_script(db, "COMMIT", err)))
		return rc;
	*applied = true;
	return TASKQ_OK;
fail:
	db_exec_script(db, "ROLLBACK", NULL);
	return rc;
}
