/*
 * store_worker: the worker's verbs (claim, progress, complete, fail, cancel acknowledgement,
 * release, heartbeat, rescue, prune, webhooks). Part of the store module: the statements and
 * row decoding are lib/store.c's (see store_impl.h); like lib/store_breakers.c it calls them
 * and holds no SQL text of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "store/impl.h"
#include "store/store.h"

/* ---- worker verbs -------------------------------------------------------------------- */

enum taskq_rc store_claim(struct db *db, const char *worker, const char *queue, int k,
			  int lease_s, struct task_list *out, struct taskq_err *err)
{
	char ks[16], ls[16];
	const char *p[4] = {worker, queue, ks, ls};

	snprintf(ks, sizeof ks, "%d", k);
	snprintf(ls, sizeof ls, "%d", lease_s);
	return store_exec_list(db, S_CLAIM, p, out, err);
}

enum taskq_rc store_next_due(struct db *db, const char *queues_csv, double *secs,
			     struct taskq_err *err)
{
	const char *p[1] = {queues_csv};
	char *v;
	enum taskq_rc rc = store_exec_value(db, S_NEXT_DUE, p, &v, err);

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

enum taskq_rc store_progress(struct db *db, const struct holder *h, int pct, const char *msg,
			     int lease_s, int *cancel, struct taskq_err *err)
{
	char as[16], ps[16], ls[16];
	const char *p[6] = {h->id, h->worker, as, ps, msg, ls};
	char *v;
	enum taskq_rc rc;

	snprintf(as, sizeof as, "%d", h->attempt);
	snprintf(ps, sizeof ps, "%d", pct);
	snprintf(ls, sizeof ls, "%d", lease_s);
	if ((rc = store_exec_value(db, S_PROGRESS, p, &v, err)))
		return rc;
	*cancel = !v ? -1 : !strcmp(v, "t") ? 1 : 0;
	free(v);
	return TASKQ_OK;
}


enum taskq_rc store_complete(struct db *db, const struct holder *h, const char *result_json,
			     bool *recorded, struct taskq_err *err)
{
	char as[16];
	const char *p[4] = {h->id, h->worker, as, result_json};

	snprintf(as, sizeof as, "%d", h->attempt);
	return store_exec_fenced(db, S_COMPLETE, p, recorded, err);
}

enum taskq_rc store_fail(struct db *db, const struct holder *h, const char *error, bool retryable,
			 double retry_in_s, int *state_out, struct taskq_err *err)
{
	char as[16], rs[32];
	const char *p[6] = {h->id, h->worker, as, error, retryable ? "true" : "false",
			    retry_in_s > 0 ? rs : NULL};
	char *v;
	enum taskq_rc rc;

	snprintf(as, sizeof as, "%d", h->attempt);
	snprintf(rs, sizeof rs, "%.3f", retry_in_s);
	rc = store_exec_value(db, S_FAIL, p, &v, err);

	if (state_out)
		*state_out = v ? task_state_parse(v) : -1;
	free(v);
	return rc;
}

enum taskq_rc store_ack_cancel(struct db *db, const struct holder *h, struct taskq_err *err)
{
	char as[16];
	const char *p[3] = {h->id, h->worker, as};

	snprintf(as, sizeof as, "%d", h->attempt);
	return store_exec_fenced(db, S_ACK_CANCEL, p, NULL, err);
}

enum taskq_rc store_release(struct db *db, const struct holder *h, struct taskq_err *err)
{
	char as[16];
	const char *p[3] = {h->id, h->worker, as};

	snprintf(as, sizeof as, "%d", h->attempt);
	return store_exec_fenced(db, S_RELEASE, p, NULL, err);
}

enum taskq_rc store_rescue(struct db *db, int *moved, struct taskq_err *err)
{
	char *v;
	enum taskq_rc rc = store_exec_value(db, S_RESCUE, NULL, &v, err);

	*moved = v ? (int)strtol(v, NULL, 10) : 0;
	free(v);
	return rc;
}

enum taskq_rc store_heartbeat(struct db *db, const struct worker_info *w, int lease_s,
			      const char *held_array, const char *held_attempts, const char *metrics_json,
			      void (*on_cancel)(const char *id, void *ctx), void *ctx,
			      struct taskq_err *err)
{
	char ls[16], pid[16], conc[16];
	const char *p[10] = {w->id,    ls,        held_array, held_attempts, w->host,
			     pid,      w->version, w->queues, conc,          metrics_json};
	PGresult *res;
	enum taskq_rc rc;

	snprintf(ls, sizeof ls, "%d", lease_s);
	snprintf(pid, sizeof pid, "%d", w->pid);
	snprintf(conc, sizeof conc, "%d", w->concurrency);
	if ((rc = db_exec(db, S_HEARTBEAT, p, &res, err)))
		return rc;
	for (int i = 0; i < PQntuples(res); i++)
		if (!strcmp(PQgetvalue(res, i, 1), "t"))
			on_cancel(PQgetvalue(res, i, 0), ctx);
	PQclear(res);
	return TASKQ_OK;
}

enum taskq_rc store_worker_exit(struct db *db, const char *worker, struct taskq_err *err)
{
	const char *p[1] = {worker};
	char *v;
	enum taskq_rc rc = store_exec_value(db, S_WORKER_EXIT, p, &v, err);
	free(v);
	return rc;
}

enum taskq_rc store_prune(struct db *db, int older_than_h, int batch, int *deleted,
			  struct taskq_err *err)
{
	char hs[16], bs[16];
	const char *p[2] = {hs, bs};
	char *v;
	enum taskq_rc rc;

	snprintf(hs, sizeof hs, "%d", older_than_h);
	snprintf(bs, sizeof bs, "%d", batch);
	rc = store_exec_value(db, S_PRUNE, p, &v, err);
	*deleted = v ? (int)strtol(v, NULL, 10) : 0;
	free(v);
	return rc;
}

enum taskq_rc store_claim_callbacks(struct db *db, int k, int lease_s, struct task_list *out,
				    struct taskq_err *err)
{
	char ks[16], ls[16];
	const char *p[2] = {ks, ls};

	snprintf(ks, sizeof ks, "%d", k);
	snprintf(ls, sizeof ls, "%d", lease_s);
	return store_exec_list(db, S_CLAIM_CALLBACKS, p, out, err);
}

enum taskq_rc store_callback_done(struct db *db, const char *id, bool ok, const char *error,
				  struct taskq_err *err)
{
	const char *p[3] = {id, ok ? "true" : "false", error};
	char *v;
	enum taskq_rc rc = store_exec_value(db, S_CALLBACK_DONE, p, &v, err);
	free(v);
	return rc;
}

enum taskq_rc store_running(struct db *db, int limit, struct task_list *out, struct taskq_err *err)
{
	char ls[16];
	const char *p[1] = {ls};

	snprintf(ls, sizeof ls, "%d", limit);
	return store_exec_list(db, S_RUNNING, p, out, err);
}

enum taskq_rc store_complete_many(struct db *db, const char *worker, const char *ids,
				  const char *attempts, const char *results, char ***recorded, int *n,
				  struct taskq_err *err)
{
	const char *p[4] = {worker, ids, attempts, results};
	PGresult *res;
	enum taskq_rc rc = db_exec(db, S_COMPLETE_MANY, p, &res, err);

	*recorded = NULL;
	*n = 0;
	if (rc)
		return rc;
	*n = PQntuples(res);
	*recorded = xcalloc((size_t)*n + 1, sizeof **recorded);
	for (int i = 0; i < *n; i++)
		(*recorded)[i] = xstrdup(PQgetvalue(res, i, 0));
	PQclear(res);
	return TASKQ_OK;
}
