/* store_metrics: the statements behind /metrics (sql/008_metrics.sql) and the fleet the CLI
 * shows (taskq stats); see store.h. */
#include "store/impl.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

/* ---- /metrics ----------------------------------------------------------------------- */

enum taskq_rc store_metrics(struct db *db, struct metrics_db *out, struct taskq_err *err)
{
	PGresult *res;
	enum taskq_rc rc;
	int n;

	memset(out, 0, sizeof *out);
	if ((rc = db_exec(db, S_METRICS_QUEUES, NULL, &res, err)))
		return rc;
	n = PQntuples(res);
	out->q = xcalloc((size_t)n + 1, sizeof *out->q);
	for (int i = 0; i < n; i++) {
		struct metrics_queue *q = &out->q[i];
		q->queue = xstrdup(PQgetvalue(res, i, 0));
		q->state = xstrdup(PQgetvalue(res, i, 1));
		q->count = store_opt_ll(res, i, 2, 0);
		q->finished_last_minute = store_opt_ll(res, i, 3, 0);
		q->oldest_ready_s = PQgetisnull(res, i, 4) ? 0 : strtod(PQgetvalue(res, i, 4), NULL);
	}
	out->nq = n;
	PQclear(res);

	if ((rc = db_exec(db, S_METRICS_COUNTERS, NULL, &res, err)))
		goto fail;
	n = PQntuples(res);
	out->c = xcalloc((size_t)n + 1, sizeof *out->c);
	for (int i = 0; i < n; i++) {
		out->c[i].queue = xstrdup(PQgetvalue(res, i, 0));
		out->c[i].state = xstrdup(PQgetvalue(res, i, 1));
		out->c[i].n = store_opt_ll(res, i, 2, 0);
	}
	out->nc = n;
	PQclear(res);

	if ((rc = db_exec(db, S_METRICS_WORKERS, NULL, &res, err)))
		goto fail;
	n = PQntuples(res);
	out->w = xcalloc((size_t)n + 1, sizeof *out->w);
	for (int i = 0; i < n; i++) {
		struct metrics_worker *w = &out->w[i];
		w->id = xstrdup(PQgetvalue(res, i, 0));
		w->running = (int)store_opt_ll(res, i, 1, 0);
		w->concurrency = (int)store_opt_ll(res, i, 2, 0);
		w->last_seen_s = strtod(PQgetvalue(res, i, 3), NULL);
		w->metrics = store_opt_str(res, i, 4);
	}
	out->nw = n;
	PQclear(res);

	if ((rc = db_exec(db, S_METRICS_BREAKERS, NULL, &res, err)))
		goto fail;
	n = PQntuples(res);
	out->b = xcalloc((size_t)n + 1, sizeof *out->b);
	for (int i = 0; i < n; i++) {
		struct metrics_breaker *b = &out->b[i];
		b->host = xstrdup(PQgetvalue(res, i, 0));
		b->state = xstrdup(PQgetvalue(res, i, 1));
		b->failures = store_opt_ll(res, i, 2, 0);
		b->trips = store_opt_ll(res, i, 3, 0);
		b->probes = store_opt_ll(res, i, 4, 0);
		b->deferred = store_opt_ll(res, i, 5, 0);
	}
	out->nb = n;
	PQclear(res);
	return TASKQ_OK;
fail:
	store_metrics_free(out);
	return rc;
}

void store_metrics_free(struct metrics_db *m)
{
	for (int i = 0; i < m->nq; i++) {
		free(m->q[i].queue);
		free(m->q[i].state);
	}
	for (int i = 0; i < m->nc; i++) {
		free(m->c[i].queue);
		free(m->c[i].state);
	}
	for (int i = 0; i < m->nw; i++) {
		free(m->w[i].id);
		free(m->w[i].metrics);
	}
	for (int i = 0; i < m->nb; i++) {
		free(m->b[i].host);
		free(m->b[i].state);
	}
	free(m->q);
	free(m->c);
	free(m->w);
	free(m->b);
	memset(m, 0, sizeof *m);
}

/* ---- the fleet for the CLI (taskq stats) ---------------------------------------------- */

enum taskq_rc store_workers(struct db *db, struct worker_row **out, int *n, struct taskq_err *err)
{
	PGresult *res;
	enum taskq_rc rc = db_exec(db, S_WORKERS, NULL, &res, err);

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	*n = PQntuples(res);
	*out = xcalloc((size_t)*n + 1, sizeof **out);
	for (int i = 0; i < *n; i++) {
		struct worker_row *w = &(*out)[i];
		w->id = xstrdup(PQgetvalue(res, i, 0));
		w->host = xstrdup(PQgetvalue(res, i, 1));
		w->pid = (int)store_opt_ll(res, i, 2, 0);
		w->version = xstrdup(PQgetvalue(res, i, 3));
		w->queues = xstrdup(PQgetvalue(res, i, 4));
		w->concurrency = (int)store_opt_ll(res, i, 5, 0);
		w->running = (int)store_opt_ll(res, i, 6, 0);
		w->last_seen_s = strtod(PQgetvalue(res, i, 7), NULL);
	}
	PQclear(res);
	return TASKQ_OK;
}

void store_workers_free(struct worker_row *w, int n)
{
	if (!w)
		return;
	for (int i = 0; i < n; i++) {
		free(w[i].id);
		free(w[i].host);
		free(w[i].version);
		free(w[i].queues);
	}
	free(w);
}
