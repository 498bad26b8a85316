/*
 * store/metrics: the figures PostgreSQL holds for /metrics (queues, counters, the queues
 * live workers serve, the fleet, breakers: sql/schema/008_metrics.sql), the fleet the CLI
 * shows (taskq stats), the served queues taskq-fcgi's task JSON and the CLI check, and the
 * count of live workers /healthz reports. Formatting them is the caller's (fcgi/promtext.c, cli/stats.c).
 */
#ifndef TASKQ_STORE_METRICS_H
#define TASKQ_STORE_METRICS_H

#include "base/err.h"
#include "store/db.h"

/* One row of taskq.metrics_queues: a queue and state. */
struct metrics_queue {
	char *queue, *state;
	long long count, finished_last_minute;
	double oldest_ready_s; /* on the queued row: the longest wait of a runnable task, else 0 */
	long long delayed, blocked; /* on the queued row: of its tasks, run_at ahead; waiting
				     * for parents (else 0) */
};
/* One row of taskq.served_queues: a queue live workers serve, and how many. */
struct served_queue {
	char *queue;
	long long workers;
};
/* One row of taskq.counter_totals: tasks that ever reached a final state. */
struct metrics_counter {
	char *queue, *state;
	long long n;
};
/* A worker seen in the last minute, with its counters as its heartbeat wrote them. */
struct metrics_worker {
	char *id, *metrics; /* metrics: JSON text or NULL */
	int running, concurrency;
	double last_seen_s;
};
/* A host whose circuit breaker tripped at least once, or that asked to wait at least once
 * (a row of taskq.breakers). */
struct metrics_breaker {
	char *host, *state;
	long long failures, trips, probes, deferred;
	long long throttles, throttles_capped; /* answers that asked to wait; of them, capped */
	double throttled_s;                    /* seconds its throttle has left; 0: none */
};
struct metrics_db {
	struct metrics_queue *q;
	struct metrics_counter *c;
	struct served_queue *s;
	struct metrics_worker *w;
	struct metrics_breaker *b;
	char **paused; /* the paused queues' names */
	int nq, nc, ns, nw, nb, np;
};
/* The queue, counter, served queue, fleet, breaker and pause figures of /metrics (six
 * statements);
 * free with store_metrics_free (also after a failure, which leaves *out empty). */
enum taskq_rc store_metrics(struct db *db, struct metrics_db *out, struct taskq_err *err);
void store_metrics_free(struct metrics_db *m);

/* One live worker daemon, a row of taskq.workers. Strings owned (store_workers_free). */
struct worker_row {
	char *id, *host, *version, *queues;
	int pid, concurrency, running;
	double last_seen_s; /* seconds since its last heartbeat */
};
/* The workers that sent a heartbeat in the last minute (as store_live_workers counts them),
 * by host and pid; the caller frees *out with store_workers_free. */
enum taskq_rc store_workers(struct db *db, struct worker_row **out, int *n, struct taskq_err *err);
void store_workers_free(struct worker_row *w, int n);
/* The queues the live workers serve (taskq.served_queues); the caller frees *out with
 * store_served_free. */
enum taskq_rc store_served_queues(struct db *db, struct served_queue **out, int *n,
				  struct taskq_err *err);
void store_served_free(struct served_queue *s, int n);
/* How many worker daemons sent a heartbeat in the last minute. */
enum taskq_rc store_live_workers(struct db *db, int *n, struct taskq_err *err);

#endif
