/*
 * store/worker: the statements behind the worker's verbs (see store/worker.h). The semantics
 * (fencing, retries, leases) live in sql/'s taskq.* functions; this file passes the arguments
 * and maps the answers.
 */
#include "store/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/exec.h"

static struct db_stmt s_claim =
	DB_STMT("claim", "SELECT * FROM taskq.claim($1, $2, $3::int, $4::int)", 4);
static struct db_stmt s_next_due = DB_STMT(
	"next_due",
	"SELECT extract(epoch FROM taskq.next_run_at(string_to_array($1, ',')) - now())", 1);
static struct db_stmt s_progress_many =
	DB_STMT("progress_many",
		"SELECT id, cancel_requested FROM taskq.progress_many($1, $2::uuid[], $3::int[],"
		" $4::int[], $5::jsonb, $6::int)",
		6);
static struct db_stmt s_complete_many = DB_STMT(
	"complete_many", "SELECT taskq.complete_many($1, $2::uuid[], $3::int[], $4::jsonb)", 4);
static struct db_stmt s_fail =
	DB_STMT("fail", "SELECT taskq.fail($1::uuid, $2, $3::int, $4, $5::boolean, $6::float8)", 6);
static struct db_stmt s_ack_cancel =
	DB_STMT("ack_cancel", "SELECT taskq.ack_cancel($1::uuid, $2, $3::int)", 3);
static struct db_stmt s_release =
	DB_STMT("release", "SELECT taskq.release($1::uuid, $2, $3::int)", 3);
static struct db_stmt s_rescue = DB_STMT("rescue", "SELECT taskq.rescue()", 0);
static struct db_stmt s_age = DB_STMT("age", "SELECT taskq.age()", 0);
static struct db_stmt s_rates = DB_STMT("rates", "SELECT taskq.measure_rates()", 0);
static struct db_stmt s_expire = DB_STMT("expire", "SELECT taskq.expire()", 0);
static struct db_stmt s_heartbeat = DB_STMT(
	"heartbeat",
	"SELECT id, cancel_requested FROM taskq.heartbeat($1, $2::int, $3::uuid[], $4::int[],"
	" $5, $6::int, $7, $8, $9::int, $10::jsonb)",
	10);
static struct db_stmt s_worker_exit = DB_STMT("worker_exit", "SELECT taskq.worker_exit($1)", 1);
static struct db_stmt s_prune =
	DB_STMT("prune", "SELECT taskq.prune(make_interval(hours => $1::int), $2::int)", 2);
static struct db_stmt s_prune_series =
	DB_STMT("prune_series", "SELECT taskq.prune_queue_series()", 0);
static struct db_stmt s_claim_callbacks =
	DB_STMT("claim_callbacks", "SELECT * FROM taskq.claim_callbacks($1::int, $2::int)", 2);
static struct db_stmt s_callback_done =
	DB_STMT("callback_done", "SELECT taskq.callback_done($1::uuid, $2::boolean, $3)", 3);

enum taskq_rc store_claim(struct db *db, const char *worker, const char *queue, int k, int lease_s,
			  struct task_list *out, struct taskq_err *err)
{
	char ks[16], ls[16];
	const char *p[4] = {worker, queue, ks, ls};

	snprintf(ks, sizeof ks, "%d", k);
	snprintf(ls, sizeof ls, "%d", lease_s);
	return store_exec_tasks(db, &s_claim, p, out, err);
}

enum taskq_rc store_next_due(struct db *db, const char *queues_csv, double *secs,
			     struct taskq_err *err)
{
	const char *p[1] = {queues_csv};
	char *v;
	enum taskq_rc rc = store_exec_value(db, &s_next_due, p, &v, err);

	*secs = -1;
	if (rc)
		return rc;
	if (v) {
		*secs = strtod(v, NULL);
		if (*secs < 0)
			*secs = 0;
	}
	free(v);
	return TASKQ_OK;
}

/* progress_many's answer: each held task, with its cancel flag. */
struct held_rows {
	void (*on_held)(const char *id, bool cancel, void *ctx);
	void *ctx;
};

static void decode_held(const struct row *r, void *elem)
{
	struct held_rows *h = elem;

	h->on_held(row_text(r, 0), row_bool(r, 1), h->ctx);
}

enum taskq_rc store_progress_many(struct db *db, const char *worker, const char *const *ids,
				  const int *attempts, const int *pcts, int n,
				  const char *msgs_json, int lease_s,
				  void (*on_held)(const char *id, bool cancel, void *ctx),
				  void *ctx, struct taskq_err *err)
{
	char *ids_arr = store_array_text(ids, n), *att_arr = store_array_int(attempts, n),
	     *pct_arr = store_array_int(pcts, n), ls[16];
	const char *p[6] = {worker, ids_arr, att_arr, pct_arr, msgs_json, ls};
	struct held_rows h = {on_held, ctx};
	enum taskq_rc rc;

	snprintf(ls, sizeof ls, "%d", lease_s);
	rc = store_exec_each(db, &s_progress_many, p, decode_held, &h, err);
	free(ids_arr);
	free(att_arr);
	free(pct_arr);
	return rc;
}

enum taskq_rc store_complete_many(struct db *db, const char *worker, const char *const *ids,
				  const int *attempts, int n, const char *results_json,
				  char ***recorded, int *nrec, struct taskq_err *err)
{
	char *ids_arr = store_array_text(ids, n), *att_arr = store_array_int(attempts, n);
	const char *p[4] = {worker, ids_arr, att_arr, results_json};
	enum taskq_rc rc = store_exec_rows(db, &s_complete_many, p, sizeof **recorded,
					   row_dup_first, recorded, nrec, err);

	free(ids_arr);
	free(att_arr);
	return rc;
}

enum taskq_rc store_fail(struct db *db, const struct holder *h, const char *error, bool retryable,
			 double retry_in_s, int *state_out, struct taskq_err *err)
{
	char as[16], rs[32];
	const char *p[6] = {h->id,
			    h->worker,
			    as,
			    error,
			    retryable ? "true" : "false",
			    retry_in_s > 0 ? rs : NULL};
	char *v;
	enum taskq_rc rc;

	snprintf(as, sizeof as, "%d", h->attempt);
	snprintf(rs, sizeof rs, "%.3f", retry_in_s);
	rc = store_exec_value(db, &s_fail, p, &v, err);
	if (state_out)
		*state_out = v ? task_state_parse(v) : -1;
	free(v);
	return rc;
}

/* Runs a verb fenced by h that answers whether h still held the task (not needed here). */
static enum taskq_rc exec_fenced(struct db *db, struct db_stmt *stmt, const struct holder *h,
				 struct taskq_err *err)
{
	char as[16];
	const char *p[3] = {h->id, h->worker, as};

	snprintf(as, sizeof as, "%d", h->attempt);
	return store_exec(db, stmt, p, err);
}

enum taskq_rc store_ack_cancel(struct db *db, const struct holder *h, struct taskq_err *err)
{
	return exec_fenced(db, &s_ack_cancel, h, err);
}

enum taskq_rc store_release(struct db *db, const struct holder *h, struct taskq_err *err)
{
	return exec_fenced(db, &s_release, h, err);
}

/* A count-returning maintenance statement. */
static enum taskq_rc exec_count(struct db *db, struct db_stmt *st, int *moved,
				struct taskq_err *err)
{
	long long n;
	enum taskq_rc rc = store_exec_ll(db, st, NULL, 0, &n, err);

	*moved = (int)n;
	return rc;
}

enum taskq_rc store_age(struct db *db, int *raised, struct taskq_err *err)
{
	enum taskq_rc rc = exec_count(db, &s_rates, raised, err);

	return rc == TASKQ_OK ? exec_count(db, &s_age, raised, err) : rc;
}

enum taskq_rc store_rescue(struct db *db, int *moved, struct taskq_err *err)
{
	return exec_count(db, &s_rescue, moved, err);
}

enum taskq_rc store_expire(struct db *db, int *moved, struct taskq_err *err)
{
	return exec_count(db, &s_expire, moved, err);
}

/* The heartbeat's answer: the held tasks whose cancellation was requested. */
struct cancels {
	void (*on_cancel)(const char *id, void *ctx);
	void *ctx;
};

static void decode_cancel(const struct row *r, void *elem)
{
	struct cancels *c = elem;

	if (row_bool(r, 1))
		c->on_cancel(row_text(r, 0), c->ctx);
}

enum taskq_rc store_heartbeat(struct db *db, const struct worker_info *w, int lease_s,
			      const char *const *held_ids, const int *held_attempts, int nheld,
			      const char *metrics_json,
			      void (*on_cancel)(const char *id, void *ctx), void *ctx,
			      struct taskq_err *err)
{
	char ls[16], pid[16], conc[16];
	char *ids = store_array_text(held_ids, nheld),
	     *atts = store_array_int(held_attempts, nheld);
	const char *p[10] = {w->id, ls,         ids,       atts, w->host,
			     pid,   w->version, w->queues, conc, metrics_json};
	struct cancels c = {on_cancel, ctx};
	enum taskq_rc rc;

	snprintf(ls, sizeof ls, "%d", lease_s);
	snprintf(pid, sizeof pid, "%d", w->pid);
	snprintf(conc, sizeof conc, "%d", w->concurrency);
	rc = store_exec_each(db, &s_heartbeat, p, decode_cancel, &c, err);
	free(ids);
	free(atts);
	return rc;
}

enum taskq_rc store_worker_exit(struct db *db, const char *worker, struct taskq_err *err)
{
	const char *p[1] = {worker};
	return store_exec(db, &s_worker_exit, p, err);
}

enum taskq_rc store_prune(struct db *db, int older_than_h, int batch, int *deleted,
			  struct taskq_err *err)
{
	char hs[16], bs[16];
	const char *p[2] = {hs, bs};
	long long n;
	enum taskq_rc rc;

	snprintf(hs, sizeof hs, "%d", older_than_h);
	snprintf(bs, sizeof bs, "%d", batch);
	rc = store_exec_ll(db, &s_prune, p, 0, &n, err);
	*deleted = (int)n;
	return rc;
}

enum taskq_rc store_prune_series(struct db *db, int *queues, struct taskq_err *err)
{
	long long n;
	enum taskq_rc rc = store_exec_ll(db, &s_prune_series, NULL, 0, &n, err);

	*queues = (int)n;
	return rc;
}

enum taskq_rc store_claim_callbacks(struct db *db, int k, int lease_s, struct task_list *out,
				    struct taskq_err *err)
{
	char ks[16], ls[16];
	const char *p[2] = {ks, ls};

	snprintf(ks, sizeof ks, "%d", k);
	snprintf(ls, sizeof ls, "%d", lease_s);
	return store_exec_tasks(db, &s_claim_callbacks, p, out, err);
}

enum taskq_rc store_callback_done(struct db *db, const char *id, bool ok, const char *error,
				  struct taskq_err *err)
{
	const char *p[3] = {id, ok ? "true" : "false", error};
	return store_exec(db, &s_callback_done, p, err);
}
