/*
 * store/submit: the INSERTs of single and grouped submits (see store/submit.h). The SQL of a
 * task's place in line (FAIR_RUN_AT, INSERT_TASK, INSERT_GROUP) stays together here, the one
 * place that writes new task rows from C besides the taskq.* functions of sql/. Every insert
 * knows its ids before its first try, so that a connection lost during it is retried once on a
 * fresh one (db_retry_lost) and the retry finds what the first try committed.
 */
#include "store/submit.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "model/taskjson.h"
#include "model/uuid7.h"
#include "store/exec.h"
#include "store/tasks.h"

/* The strict order's number of a task whose ordering is the SQL text o. */
#define STRICT_SEQ(o) "CASE WHEN " o " = 'strict' THEN nextval('taskq.strict_seq') END"

/* A task's place in line: taskq.fair_run_at (sql/functions/submit.sql), with $12 (fair)
 * and one step of its owner ($10, taskq.fair_step: 100 µs / its weight) after the owner's
 * previous task in this line ($13, remembered by the caller), the line of its queue, priority
 * and concurrency key ($9). The planner inlines the function into the INSERT; the step is
 * looked up for fair submits only. */
#define FAIR_RUN_AT                                                                 \
	"taskq.fair_run_at($3, $4::smallint, $5::float8, $12::boolean,"             \
	" CASE WHEN $12::boolean THEN $13::timestamptz + taskq.fair_step($10) END," \
	" $9)"

/* $14: the id, made before the first try; $15: its ordering ("strict": the next number of the
 * strict order, sql/functions/claim.sql); $16: start_by_s */
#define INSERT_TASK                                                                               \
	"INSERT INTO taskq.tasks AS t (id, kind, payload, queue, priority, run_at, max_attempts," \
	" timeout_s, dedupe_key, concurrency_key, owner, callback_url, ordering, strict_seq,"     \
	" start_by_s)"                                                                            \
	" VALUES ($14::uuid, $1, $2::jsonb, $3, $4::smallint, " FAIR_RUN_AT ", $6::int,"          \
	" $7::int, $8, $9, $10, $11, $15, " STRICT_SEQ("$15") ", $16::int)"

/* Several submits of concurrent requests in one statement (fcgi/bg/combine.c): a JSON array of
 * elements as taskjson_batch_element() makes them, plus "id" (made by the caller, so that each
 * returned row is known by it) and "owner". Same place in line as FAIR_RUN_AT. */
#define INSERT_GROUP                                                                              \
	"INSERT INTO taskq.tasks AS t (id, kind, payload, queue, priority, run_at, max_attempts," \
	" timeout_s, concurrency_key, owner, callback_url, ordering, strict_seq,"                 \
	" start_by_s)"                                                                            \
	" SELECT (e.v->>'id')::uuid, e.v->>'kind', e.v->'payload', e.v->>'queue',"                \
	" (e.v->>'priority')::smallint,"                                                          \
	" taskq.fair_run_at(e.v->>'queue', (e.v->>'priority')::smallint,"                         \
	" (e.v->>'delay_s')::float8, e.v->'fair' IS NOT NULL,"                                    \
	" (e.v->>'fair_after')::timestamptz + e.o * taskq.fair_step(e.v->>'owner'),"              \
	" e.v->>'concurrency_key'),"                                                              \
	" (e.v->>'max_attempts')::int, (e.v->>'timeout_s')::int, e.v->>'concurrency_key',"        \
	" e.v->>'owner', e.v->>'callback_url', e.v->>'ordering', " STRICT_SEQ(                    \
		"e.v->>'ordering'") ", (e.v->>'start_by_s')::int"                                 \
				    " FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(v, o)"

static struct db_stmt s_submit = DB_STMT("submit", INSERT_TASK " RETURNING t.*", 16);
static struct db_stmt s_submit_dedupe =
	DB_STMT("submit_dedupe",
		INSERT_TASK " ON CONFLICT (owner, dedupe_key) WHERE dedupe_key IS NOT NULL"
			    " AND state IN ('queued', 'running') DO NOTHING RETURNING t.*",
		16);
/* The second try after a lost connection: nothing when the first one's row is there (its id)
 * or a live task holds the dedupe key. */
static struct db_stmt s_submit_again =
	DB_STMT("submit_again", INSERT_TASK " ON CONFLICT DO NOTHING RETURNING t.*", 16);
static struct db_stmt s_find_dedupe =
	DB_STMT("find_dedupe",
		"SELECT * FROM taskq.tasks WHERE owner = $1 AND dedupe_key = $2"
		" AND state IN ('queued', 'running')",
		2);
static struct db_stmt s_submit_group = DB_STMT("submit_group", INSERT_GROUP " RETURNING t.*", 1);
/* The second try of a group after a lost connection: the rows the first one did not commit
 * (all of them or none: one statement), then every row of the group, read by a statement of
 * its own so that it sees a first try that committed while this one waited on its ids. */
static struct db_stmt s_submit_group_again =
	DB_STMT("submit_group_again", INSERT_GROUP " ON CONFLICT (id) DO NOTHING", 1);
static struct db_stmt s_group_rows =
	DB_STMT("group_rows", "SELECT * FROM taskq.tasks WHERE id = ANY ($1::uuid[])", 1);

/* One submit (store_submit) as a db_retry_fn. */
struct one {
	const struct task_new *n;
	const char *const *p; /* the INSERT's parameters, p[13] the id */
	struct task *out;
	bool *created;
};

static enum taskq_rc submit_one(struct db *db, void *ctx, bool again, struct taskq_err *err)
{
	struct one *s = ctx;
	const char *q[2] = {s->n->owner, s->n->dedupe_key};
	enum taskq_rc rc;
	bool found;

	for (int tries = 0; tries < 5; tries++) {
		struct db_stmt *st = again              ? &s_submit_again
				     : s->n->dedupe_key ? &s_submit_dedupe
							: &s_submit;

		if ((rc = store_exec_row(db, st, s->p, row_task, s->out, &found, err)))
			return rc;
		if (found) {
			*s->created = true;
			return TASKQ_OK;
		}
		/* the first try committed it (its answer was lost with the connection) */
		if (again && (rc = store_get(db, s->p[13], s->out, err)) != TASKQ_NOTFOUND) {
			*s->created = true;
			return rc;
		}
		/* a live duplicate holds the dedupe key: answer with it */
		if ((rc = store_exec_row(db, &s_find_dedupe, q, row_task, s->out, &found, err)))
			return rc;
		if (found) {
			*s->created = false;
			return TASKQ_OK;
		}
		/* it finished in between: insert again */
	}
	return taskq_fail(err, TASKQ_INTERNAL, "dedupe key kept changing hands");
}

enum taskq_rc store_submit(struct db *db, const struct task_new *n, struct task *out, bool *created,
			   struct taskq_err *err)
{
	char prio[16], delay[32], maxa[16], tmo[16], sby[16], id[TASK_ID_LEN + 1];
	const char *p[16];
	struct one s = {n, p, out, created};

	if (!uuid7_make(id))
		return taskq_fail(err, TASKQ_INTERNAL, "no random bytes for a task id");
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
	p[13] = id;
	p[14] = n->strict ? "strict" : NULL;
	snprintf(sby, sizeof sby, "%d", n->start_by_s);
	p[15] = n->start_by_s >= 0 ? sby : NULL;
	return db_retry_lost(db, submit_one, &s, err);
}

/* The rows of a group insert come back in no promised order: each finds its item by id. */
struct group_rows {
	struct group_item *items;
	int n, matched;
};

static void decode_group_row(const struct row *r, void *elem)
{
	struct group_rows *g = elem;
	const char *id = row_text(r, row_col(r, "id"));

	for (int i = 0; i < g->n; i++)
		if (!strcmp(g->items[i].id, id)) {
			row_task(r, g->items[i].out);
			g->matched++;
			break;
		}
}

/* One group (store_submit_group) as a db_retry_fn; p[0] its elements. */
struct group {
	struct group_rows *g;
	const char *const *p;
};

static enum taskq_rc submit_group(struct db *db, void *ctx, bool again, struct taskq_err *err)
{
	struct group *s = ctx;
	const char **ids, *q[1];
	enum taskq_rc rc;

	s->g->matched = 0;
	if (!again)
		return store_exec_each(db, &s_submit_group, s->p, decode_group_row, s->g, err);
	if ((rc = store_exec(db, &s_submit_group_again, s->p, err)))
		return rc;
	ids = xcalloc((size_t)s->g->n, sizeof *ids);
	for (int i = 0; i < s->g->n; i++)
		ids[i] = s->g->items[i].id;
	q[0] = store_array_text(ids, s->g->n);
	rc = store_exec_each(db, &s_group_rows, q, decode_group_row, s->g, err);
	free((char *)q[0]);
	free(ids);
	return rc;
}

enum taskq_rc store_submit_group(struct db *db, struct group_item *items, int n,
				 struct taskq_err *err)
{
	json_object *arr = json_object_new_array_ext(n);
	struct group_rows g = {items, n, 0};
	const char *p[1];
	struct group s = {&g, p};
	enum taskq_rc rc;

	for (int i = 0; i < n; i++) {
		json_object *o = taskjson_batch_element(items[i].n);
		json_object_object_add(o, "id", json_object_new_string(items[i].id));
		json_object_object_add(o, "owner", json_object_new_string(items[i].n->owner));
		json_object_array_add(arr, o);
	}
	p[0] = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN);
	rc = db_retry_lost(db, submit_group, &s, err);
	json_object_put(arr);
	if (rc)
		return rc;
	if (g.matched != n)
		return taskq_fail(err, TASKQ_INTERNAL, "a group insert returned %d of %d rows",
				  g.matched, n);
	return TASKQ_OK;
}
