/*
 * wstats: the worker's own counters for /metrics. Kept in memory as relaxed atomics (an
 * increment costs a few nanoseconds and takes no lock), turned into one JSON object at each
 * heartbeat, which stores it in the worker's row of taskq.workers (column metrics); taskq-fcgi
 * reads the rows and shows them with a `worker` label. No second HTTP server.
 *
 * The JSON (every number a count since the worker started, run times in seconds):
 *   {"claimed":N, "rescued":N,
 *    "outcomes":{"succeeded":N,"failed":N,"retried":N,"cancelled":N,"released":N,"lost":N},
 *    "claim_batch":{"le":[1,2,4,…],"buckets":[n,…,n_inf],"sum":N,"count":N},
 *    "kinds":{"noop":{"count":N,"sum_s":S},…},
 *    "db":{"lost":N,"reconnects":N,"connect_failed":N,"statement_errors":N}}
 * buckets are per bucket (not cumulative), one more than le (the last is above every bound).
 */
#ifndef TASKQ_WSTATS_H
#define TASKQ_WSTATS_H

#include "kinds.h"

enum wstats_outcome {
	WS_SUCCEEDED, /* recorded as succeeded */
	WS_FAILED,    /* the attempt failed and the task failed for good */
	WS_RETRIED,   /* the attempt failed and the task was queued again */
	WS_CANCELLED, /* stopped on a cancel request, recorded as cancelled */
	WS_RELEASED,  /* handed back on shutdown */
	WS_LOST,      /* the task was no longer this worker's: nothing recorded */
	WS_NOUTCOMES
};

/* Starts the per-kind rows with the kinds of the current table (after kinds_init), so that
 * each shows, at 0, before it first runs. */
void wstats_init(void);
/* One claim statement that took n > 0 tasks. */
void wstats_claimed(int n);
void wstats_outcome(enum wstats_outcome o);
/* Tasks this worker's maintenance re-queued (or failed) after their lease expired. */
void wstats_rescued(int n);
/* One attempt of the kind of this name ran for seconds (up to 256 kinds; more are ignored). */
void wstats_run(const char *kind, double seconds);
/* The JSON object described above; the caller frees it. */
char *wstats_json(void);

#endif
