/*
 * h_metrics: GET /metrics — Prometheus text format 0.0.4. Two parts:
 *  - this process's own figures (fcgi/metrics.c, and the watcher's, group commit's and the
 *    replica's own families), read from atomics at every scrape;
 *  - the queue, counter, served queue, fleet, circuit breaker and throttle figures from PostgreSQL
 *    (five statements), rendered once
 *    and shared by every request thread for a second, like /api/queues: scrapers and
 *    dashboards together cost the database at most one round of reads a second. The
 *    workers' own counters come from their rows in taskq.workers (written by their
 *    heartbeats, decoded by lib/wstats.c); workers not seen for a minute are left out.
 * Who may read it: see the route's flags in fcgi/routes.h and README "Security".
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bg/combine.h"
#include "bg/watch.h"
#include "base/clock.h"
#include "fresh.h"
#include "handlers.h"
#include "base/log.h"
#include "metrics.h"
#include "promtext.h"
#include "replica.h"
#include "resp.h"
#include "store/metrics.h"
#include "model/task.h"
#include "model/wstats.h"
#include "base/xalloc.h"

#define METRICS_CACHE_S 1.0

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_db_text; /* the database part, rendered */
static size_t g_db_len;
static double g_db_at = -1e9;

static const char *const g_final[] = {"succeeded", "failed", "cancelled"};
/* the workers' database counters shown as taskq_worker_db_errors_total{type} */
static const struct {
	enum wstats_db member;
	const char *type;
} g_db_types[] = {{WSDB_LOST, "connection_lost"},
		  {WSDB_CONNECT_FAILED, "connect_failed"},
		  {WSDB_STATEMENT_ERRORS, "statement"}};

/* ---- queues ---------------------------------------------------------------------------- */

struct qagg {
	const char *queue;
	long long count[TASK_STATES], last_minute[TASK_STATES];
	double oldest;
	long long delayed, blocked, workers, paused;
	long long finished_total[TASK_STATES];
};

/* The entry of queue in a[0..*n), added when missing. */
static struct qagg *entry(struct qagg *a, int *n, const char *queue)
{
	int k;

	for (k = 0; k < *n && strcmp(a[k].queue, queue); k++)
		;
	if (k == *n)
		a[(*n)++].queue = queue;
	return &a[k];
}

/* The queues of the task rows, the counter rows and the served queues, each once, with their
 * figures. (A queue whose tasks and counters are gone and that no worker serves has no
 * series: taskq.prune_queue_series.) */
static struct qagg *aggregate(const struct metrics_db *m, int *nout)
{
	struct qagg *a = xcalloc((size_t)(m->nq + m->nc + m->ns + m->np) + 1, sizeof *a), *e;
	int n = 0;

	for (int i = 0; i < m->nq; i++) {
		int s = task_state_parse(m->q[i].state);

		e = entry(a, &n, m->q[i].queue);
		if (s < 0 || s >= TASK_STATES)
			continue;
		e->count[s] = m->q[i].count;
		e->last_minute[s] = m->q[i].finished_last_minute;
		if (s == TASK_QUEUED) {
			e->oldest = m->q[i].oldest_ready_s;
			e->delayed = m->q[i].delayed;
			e->blocked = m->q[i].blocked;
		}
	}
	for (int i = 0; i < m->nc; i++) {
		int s = task_state_parse(m->c[i].state);

		e = entry(a, &n, m->c[i].queue);
		if (s >= 0 && s < TASK_STATES)
			e->finished_total[s] += m->c[i].n;
	}
	for (int i = 0; i < m->ns; i++)
		entry(a, &n, m->s[i].queue)->workers = m->s[i].workers;
	for (int i = 0; i < m->np; i++)
		entry(a, &n, m->paused[i])->paused = 1;
	*nout = n;
	return a;
}

enum qfig { QF_DELAYED, QF_BLOCKED, QF_WORKERS, QF_PAUSED };

/* A family of one gauge per queue: its figure fig. */
static void write_per_queue(struct ptext *t, const struct qagg *a, int n, const char *name,
			    const char *help, enum qfig fig)
{
	pt_family(t, name, "gauge", help);
	for (int i = 0; i < n; i++)
		pt_sample(t, "", (const char *const[]){"queue", a[i].queue, NULL},
			  (double)(fig == QF_DELAYED   ? a[i].delayed
				   : fig == QF_BLOCKED ? a[i].blocked
				   : fig == QF_PAUSED  ? a[i].paused
						       : a[i].workers));
}

/* A family with a sample per queue and final state: the last minute's finishes, or (total)
 * every finish ever. */
static void write_per_final(struct ptext *t, const struct qagg *a, int n, const char *name,
			    const char *type, const char *help, bool total)
{
	pt_family(t, name, type, help);
	for (int i = 0; i < n; i++)
		for (int f = 0; f < 3; f++) {
			const long long *v = total ? a[i].finished_total : a[i].last_minute;
			pt_sample(t, "",
				  (const char *const[]){"queue", a[i].queue, "state", g_final[f],
							NULL},
				  (double)v[task_state_parse(g_final[f])]);
		}
}

static void write_queues(struct ptext *t, const struct metrics_db *m)
{
	int n;
	struct qagg *a = aggregate(m, &n);

	pt_family(t, "taskq_tasks", "gauge", "Tasks in the table now, by queue and state.");
	for (int i = 0; i < n; i++)
		for (int s = 0; s < TASK_STATES; s++)
			pt_sample(t, "",
				  (const char *const[]){"queue", a[i].queue, "state",
							task_state_name((enum task_state)s), NULL},
				  (double)a[i].count[s]);

	pt_family(t, "taskq_queue_oldest_queued_seconds", "gauge",
		  "How long the longest-waiting runnable task of the queue has waited since it "
		  "became runnable (its submit, the end of its delay or back-off, its release by "
		  "its parents); delayed and blocked tasks do not count; 0 when none waits.");
	for (int i = 0; i < n; i++)
		pt_sample(t, "", (const char *const[]){"queue", a[i].queue, NULL}, a[i].oldest);
	write_per_queue(t, a, n, "taskq_queue_delayed_tasks",
			"Queued tasks of the queue whose run_at lies ahead (delay_s, a retry's "
			"back-off, a circuit breaker's deferral).",
			QF_DELAYED);
	write_per_queue(t, a, n, "taskq_queue_blocked_tasks",
			"Queued tasks of the queue that wait for parents to finish.", QF_BLOCKED);
	write_per_queue(t, a, n, "taskq_queue_workers",
			"Live workers (a heartbeat in the last minute) whose --queues list the "
			"queue; 0: its queued tasks wait until one starts.",
			QF_WORKERS);
	write_per_queue(
		t, a, n, "taskq_queue_paused",
		"1 while the queue is paused (taskq.pause_queue): none of its tasks starts; "
		"0 otherwise.",
		QF_PAUSED);

	write_per_final(t, a, n, "taskq_tasks_finished_last_minute", "gauge",
			"Tasks of the queue in this final state that finished in the last 60 "
			"seconds.",
			false);
	write_per_final(t, a, n, "taskq_tasks_finished_total", "counter",
			"Tasks that reached this final state in the queue, ever (taskq.counters; "
			"retries that finish again count again; pruning does not lower it).",
			true);
	free(a);
}

/* ---- workers ---------------------------------------------------------------------------- */

static void write_counter_of(struct ptext *t, const struct metrics_worker *w,
			     const struct wstats *s, unsigned bit, unsigned long long v)
{
	if (s->has & bit)
		pt_sample_u64(t, "", (const char *const[]){"worker", w->id, NULL}, v);
}

static double heartbeat_age(const struct metrics_worker *w)
{
	return w->last_seen_s;
}

static double executors(const struct metrics_worker *w)
{
	return (double)w->concurrency;
}

static double busy_executors(const struct metrics_worker *w)
{
	return (double)w->running;
}

/* the gauges with one sample per worker, labelled by its id */
static const struct {
	const char *name, *help;
	double (*value)(const struct metrics_worker *w);
} g_worker_gauges[] = {
	{"taskq_worker_heartbeat_age_seconds",
	 "Seconds since the worker's last heartbeat (it writes one every lease/3).", heartbeat_age},
	{"taskq_worker_executors", "Executor threads of the worker (--concurrency).", executors},
	{"taskq_worker_busy_executors",
	 "Executor threads of the worker running a task, at its last heartbeat.", busy_executors},
};

static void write_workers(struct ptext *t, const struct metrics_db *m)
{
	struct wstats *ws = xcalloc((size_t)m->nw + 1, sizeof *ws);
	struct taskq_err err;

	/* a row without counters, or with ones that are not a JSON object, shows none of them */
	for (int i = 0; i < m->nw; i++)
		wstats_decode(m->w[i].metrics, &ws[i], &err);

	pt_family(t, "taskq_workers", "gauge",
		  "Worker daemons with a heartbeat in the last minute.");
	pt_sample(t, "", NULL, (double)m->nw);

	for (size_t g = 0; g < sizeof g_worker_gauges / sizeof g_worker_gauges[0]; g++) {
		pt_family(t, g_worker_gauges[g].name, "gauge", g_worker_gauges[g].help);
		for (int i = 0; i < m->nw; i++)
			pt_sample(t, "", (const char *const[]){"worker", m->w[i].id, NULL},
				  g_worker_gauges[g].value(&m->w[i]));
	}

	pt_family(t, "taskq_worker_claimed_total", "counter", "Tasks the worker claimed.");
	for (int i = 0; i < m->nw; i++)
		write_counter_of(t, &m->w[i], &ws[i], WSTATS_CLAIMED, ws[i].claimed);

	pt_family(t, "taskq_worker_attempts_total", "counter",
		  "Attempts the worker finished, by outcome: succeeded, failed (for good), retried "
		  "(failed, queued again), cancelled, released (handed back on shutdown), lost (no "
		  "longer the worker's: nothing recorded).");
	for (int i = 0; i < m->nw; i++)
		for (int k = 0; k < WS_NOUTCOMES; k++)
			if (ws[i].has & WSTATS_OUTCOME(k))
				pt_sample_u64(t, "",
					      (const char *const[]){"worker", m->w[i].id, "outcome",
								    wstats_outcome_name(k), NULL},
					      ws[i].outcome[k]);

	pt_family(
		t, "taskq_worker_rescued_total", "counter",
		"Tasks of stopped workers whose expired lease this worker's maintenance rescued.");
	for (int i = 0; i < m->nw; i++)
		write_counter_of(t, &m->w[i], &ws[i], WSTATS_RESCUED, ws[i].rescued);

	pt_family(t, "taskq_worker_claim_batch_size", "histogram",
		  "Tasks taken per claim statement (claims that took none are left out).");
	for (int i = 0; i < m->nw; i++)
		if (ws[i].has & WSTATS_BATCH)
			pt_histogram(t, (const char *const[]){"worker", m->w[i].id, NULL}, ws[i].le,
				     ws[i].nbounds, ws[i].buckets, (double)ws[i].batch_sum);

	pt_family(t, "taskq_worker_run_seconds", "summary",
		  "Time the worker's executors spent running attempts, by kind (recording the "
		  "outcome not included).");
	for (int i = 0; i < m->nw; i++)
		for (size_t k = 0; k < ws[i].nkinds; k++) {
			const char *const labels[] = {"worker", m->w[i].id, "kind",
						      ws[i].kinds[k].name, NULL};

			pt_sample(t, "_sum", labels, ws[i].kinds[k].sum_s);
			pt_sample_u64(t, "_count", labels, ws[i].kinds[k].count);
		}

	pt_family(t, "taskq_worker_db_errors_total", "counter",
		  "PostgreSQL trouble of the worker's connections (as taskq_db_errors_total).");
	for (int i = 0; i < m->nw; i++)
		for (size_t k = 0; k < sizeof g_db_types / sizeof g_db_types[0]; k++)
			if (ws[i].has & WSTATS_DB(g_db_types[k].member))
				pt_sample_u64(t, "",
					      (const char *const[]){"worker", m->w[i].id, "type",
								    g_db_types[k].type, NULL},
					      ws[i].db[g_db_types[k].member]);
	pt_family(t, "taskq_worker_db_reconnects_total", "counter",
		  "Connections of the worker to PostgreSQL made again after one was lost.");
	for (int i = 0; i < m->nw; i++)
		write_counter_of(t, &m->w[i], &ws[i], WSTATS_DB(WSDB_RECONNECTS),
				 ws[i].db[WSDB_RECONNECTS]);

	for (int i = 0; i < m->nw; i++)
		wstats_cleanup(&ws[i]);
	free(ws);
}

/* ---- circuit breakers ------------------------------------------------------------------- */

static const char *const g_breaker_states[] = {"closed", "open", "half_open"};

/* the families with one sample per host, each a field of struct metrics_breaker: of the hosts
 * whose breaker tripped at least once, or (throttle) of those that asked to wait */
static const struct {
	const char *name, *type, *help;
	size_t field;
	bool throttle, real; /* real: a double field, else long long */
} g_host_figures[] = {
	{"taskq_breaker_consecutive_failures", "gauge",
	 "Consecutive failures of the host (a success resets them).",
	 offsetof(struct metrics_breaker, failures), false, false},
	{"taskq_breaker_trips_total", "counter", "Times the host's breaker opened from closed.",
	 offsetof(struct metrics_breaker, trips), false, false},
	{"taskq_breaker_probes_total", "counter",
	 "Tasks let through to the host as the half-open breaker's probe.",
	 offsetof(struct metrics_breaker, probes), false, false},
	{"taskq_breaker_deferred_total", "counter",
	 "Tasks for the host put back in the queue by its breaker, their attempt not counted (a "
	 "task deferred again counts again).",
	 offsetof(struct metrics_breaker, deferred), false, false},
	{"taskq_upstream_throttle_seconds", "gauge",
	 "Seconds before the workers send anything to this upstream host of the http kind "
	 "again: it asked to wait (429/503 Retry-After, a spent rate limit), capped by the "
	 "workers' --http-retry-after-max; 0 when it is not throttled.",
	 offsetof(struct metrics_breaker, throttled_s), true, true},
	{"taskq_upstream_throttles_total", "counter",
	 "Answers of the host that asked the workers to wait (each one that a worker "
	 "recorded, also while it was throttled already).",
	 offsetof(struct metrics_breaker, throttles), true, false},
	{"taskq_upstream_throttles_capped_total", "counter",
	 "Of those, answers that asked for longer than --http-retry-after-max (held for "
	 "that long only).",
	 offsetof(struct metrics_breaker, throttles_capped), true, false},
};

/* The host families of one kind (breakers, or throttles when throttle). */
static void write_host_figures(struct ptext *t, const struct metrics_db *m, bool throttle)
{
	for (size_t f = 0; f < sizeof g_host_figures / sizeof g_host_figures[0]; f++) {
		if (g_host_figures[f].throttle != throttle)
			continue;
		pt_family(t, g_host_figures[f].name, g_host_figures[f].type,
			  g_host_figures[f].help);
		for (int i = 0; i < m->nb; i++) {
			const char *at = (const char *)&m->b[i] + g_host_figures[f].field;

			if ((throttle ? m->b[i].throttles : m->b[i].trips) > 0)
				pt_sample(t, "", (const char *const[]){"host", m->b[i].host, NULL},
					  g_host_figures[f].real ? *(const double *)at
								 : (double)*(const long long *)at);
		}
	}
}

/* Hosts whose breaker tripped at least once (at most 200 hosts that tripped or were
 * throttled, the most recently changed). */
static void write_breakers(struct ptext *t, const struct metrics_db *m)
{
	pt_family(t, "taskq_breaker_state", "gauge",
		  "Circuit breaker of an upstream host of the http kind: 1 for its current state "
		  "(closed, open, half_open), 0 for the others.");
	for (int i = 0; i < m->nb; i++) {
		if (m->b[i].trips == 0)
			continue; /* only throttled: write_throttles */
		for (size_t s = 0; s < sizeof g_breaker_states / sizeof g_breaker_states[0]; s++)
			pt_sample(t, "",
				  (const char *const[]){"host", m->b[i].host, "state",
							g_breaker_states[s], NULL},
				  strcmp(m->b[i].state, g_breaker_states[s]) ? 0 : 1);
	}
	write_host_figures(t, m, false);
}

/* Hosts that asked to wait at least once (of the same 200 rows): the seconds their throttle
 * has left, and the answers that asked. */
static void write_throttles(struct ptext *t, const struct metrics_db *m)
{
	write_host_figures(t, m, true);
}

/* Reads the database figures and renders them (the caller holds g_lock). */
static void refresh(struct db *db)
{
	struct metrics_db m;
	struct taskq_err err;
	struct ptext t;
	bool ok;

	ok = store_metrics(db, &m, &err) == TASKQ_OK;
	if (!ok)
		log_warn("event=metrics_db_failed msg=\"%s\"", err.msg);
	pt_init(&t);
	pt_family(&t, "taskq_database_up", "gauge",
		  "1 when taskq-fcgi read the queue and fleet figures from PostgreSQL (they are "
		  "cached for a second), 0 when it could not (they are then left out).");
	pt_sample(&t, "", NULL, ok ? 1 : 0);
	if (ok) {
		write_queues(&t, &m);
		write_workers(&t, &m);
		write_breakers(&t, &m);
		write_throttles(&t, &m);
	}
	store_metrics_free(&m);
	if (t.errors)
		log_error("event=metrics_writer_refused count=%d", t.errors);
	free(g_db_text);
	g_db_text = xstrndup(t.buf, t.len);
	g_db_len = t.len;
	g_db_at = clock_mono_s();
	pt_free(&t);
}

/* This process's own families, in the order they have always had. */
static void write_process(struct ptext *t)
{
	metrics_write_http(t);
	watch_write_metrics(t);
	fresh_write_metrics(t);
	metrics_write_db(t);
	combine_write_metrics(t);
	replica_write_metrics(t);
	metrics_write_build(t);
}

void h_metrics(struct req *r)
{
	struct ptext t;

	pt_init(&t);
	write_process(&t);
	if (t.errors)
		log_error("event=metrics_writer_refused count=%d", t.errors);
	pthread_mutex_lock(&g_lock);
	if (clock_mono_s() - g_db_at > METRICS_CACHE_S)
		refresh(r->db);
	pt_append(&t, g_db_text, g_db_len);
	pthread_mutex_unlock(&g_lock);
	resp_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", t.buf, t.len, NULL);
	pt_free(&t);
}
