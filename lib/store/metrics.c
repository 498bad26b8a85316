/* store/metrics: the statements behind /metrics, the CLI's fleet, the served queues and
 * /healthz's worker count (see store/metrics.h). */
#include "store/metrics.h"

#include <stdlib.h>
#include <string.h>

#include "store/exec.h"

static struct db_stmt s_metrics_queues =
	DB_STMT("metrics_queues",
		"SELECT queue, state, count, finished_last_minute, oldest_ready_s, delayed, blocked"
		" FROM taskq.metrics_queues",
		0);
static struct db_stmt s_metrics_counters =
	DB_STMT("metrics_counters", "SELECT queue, state, n FROM taskq.counter_totals", 0);
static struct db_stmt s_served = DB_STMT(
	"served_queues", "SELECT queue, workers FROM taskq.served_queues ORDER BY queue", 0);
static struct db_stmt s_paused =
	DB_STMT("paused_queues", "SELECT queue FROM taskq.queue_pauses ORDER BY queue", 0);
static struct db_stmt s_metrics_workers =
	DB_STMT("metrics_workers",
		"SELECT id, running, concurrency, extract(epoch FROM now() - last_seen),"
		" metrics FROM taskq.workers"
		" WHERE last_seen > now() - interval '1 minute' ORDER BY id",
		0);
static struct db_stmt s_metrics_breakers = DB_STMT(
	"metrics_breakers",
	"SELECT host, state, failures, trips, probes, deferred, throttles, throttles_capped,"
	" greatest(coalesce(extract(epoch FROM throttled_until - now()), 0), 0)::float8"
	" FROM taskq.breakers"
	" WHERE trips > 0 OR throttles > 0 ORDER BY updated_at DESC, host LIMIT 200",
	0);
static struct db_stmt s_workers =
	DB_STMT("workers",
		"SELECT id, host, pid, version, queues, concurrency, running,"
		" extract(epoch FROM now() - last_seen) AS last_seen_s FROM taskq.workers"
		" WHERE last_seen > now() - interval '1 minute' ORDER BY host, pid, id",
		0);
static struct db_stmt s_live_workers = DB_STMT(
	"live_workers",
	"SELECT count(*) FROM taskq.workers WHERE last_seen > now() - interval '1 minute'", 0);

static void decode_queue(const struct row *r, void *elem)
{
	struct metrics_queue *q = elem;

	q->queue = row_dup(r, 0);
	q->state = row_dup(r, 1);
	q->count = row_ll(r, 2, 0);
	q->finished_last_minute = row_ll(r, 3, 0);
	q->oldest_ready_s = row_double(r, 4, 0);
	q->delayed = row_ll(r, 5, 0);
	q->blocked = row_ll(r, 6, 0);
}

static void decode_served(const struct row *r, void *elem)
{
	struct served_queue *s = elem;

	s->queue = row_dup(r, 0);
	s->workers = row_ll(r, 1, 0);
}

static void decode_counter(const struct row *r, void *elem)
{
	struct metrics_counter *c = elem;

	c->queue = row_dup(r, 0);
	c->state = row_dup(r, 1);
	c->n = row_ll(r, 2, 0);
}

static void decode_metrics_worker(const struct row *r, void *elem)
{
	struct metrics_worker *w = elem;

	w->id = row_dup(r, 0);
	w->running = (int)row_ll(r, 1, 0);
	w->concurrency = (int)row_ll(r, 2, 0);
	w->last_seen_s = row_double(r, 3, 0);
	w->metrics = row_str(r, 4);
}

static void decode_breaker(const struct row *r, void *elem)
{
	struct metrics_breaker *b = elem;

	b->host = row_dup(r, 0);
	b->state = row_dup(r, 1);
	b->failures = row_ll(r, 2, 0);
	b->trips = row_ll(r, 3, 0);
	b->probes = row_ll(r, 4, 0);
	b->deferred = row_ll(r, 5, 0);
	b->throttles = row_ll(r, 6, 0);
	b->throttles_capped = row_ll(r, 7, 0);
	b->throttled_s = row_double(r, 8, 0);
}

enum taskq_rc store_metrics(struct db *db, struct metrics_db *out, struct taskq_err *err)
{
	enum taskq_rc rc;

	memset(out, 0, sizeof *out);
	if ((rc = store_exec_rows(db, &s_metrics_queues, NULL, sizeof *out->q, decode_queue,
				  &out->q, &out->nq, err)) ||
	    (rc = store_exec_rows(db, &s_metrics_counters, NULL, sizeof *out->c, decode_counter,
				  &out->c, &out->nc, err)) ||
	    (rc = store_exec_rows(db, &s_served, NULL, sizeof *out->s, decode_served, &out->s,
				  &out->ns, err)) ||
	    (rc = store_exec_rows(db, &s_metrics_workers, NULL, sizeof *out->w,
				  decode_metrics_worker, &out->w, &out->nw, err)) ||
	    (rc = store_exec_rows(db, &s_metrics_breakers, NULL, sizeof *out->b, decode_breaker,
				  &out->b, &out->nb, err)) ||
	    (rc = store_exec_rows(db, &s_paused, NULL, sizeof *out->paused, row_dup_first,
				  &out->paused, &out->np, err)))
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
	for (int i = 0; i < m->ns; i++)
		free(m->s[i].queue);
	for (int i = 0; i < m->np; i++)
		free(m->paused[i]);
	free(m->paused);
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
	free(m->s);
	free(m->w);
	free(m->b);
	memset(m, 0, sizeof *m);
}

static const struct field worker_fields[] = {
	FIELD(struct worker_row, FIELD_STR, id),
	FIELD(struct worker_row, FIELD_STR, host),
	FIELD(struct worker_row, FIELD_INT, pid),
	FIELD(struct worker_row, FIELD_STR, version),
	FIELD(struct worker_row, FIELD_STR, queues),
	FIELD(struct worker_row, FIELD_INT, concurrency),
	FIELD(struct worker_row, FIELD_INT, running),
	FIELD(struct worker_row, FIELD_DOUBLE, last_seen_s),
};
static const struct record_type worker_record = RECORD_TYPE(worker_fields);

enum taskq_rc store_workers(struct db *db, struct worker_row **out, int *n, struct taskq_err *err)
{
	return store_exec_records(db, &s_workers, NULL, &worker_record, sizeof **out, out, n, err);
}

void store_workers_free(struct worker_row *w, int n)
{
	records_free(&worker_record, w, n, sizeof *w);
}

enum taskq_rc store_served_queues(struct db *db, struct served_queue **out, int *n,
				  struct taskq_err *err)
{
	return store_exec_rows(db, &s_served, NULL, sizeof **out, decode_served, out, n, err);
}

void store_served_free(struct served_queue *s, int n)
{
	if (!s)
		return;
	for (int i = 0; i < n; i++)
		free(s[i].queue);
	free(s);
}

enum taskq_rc store_live_workers(struct db *db, int *n, struct taskq_err *err)
{
	long long v;
	enum taskq_rc rc = store_exec_ll(db, &s_live_workers, NULL, 0, &v, err);

	*n = (int)v;
	return rc;
}
