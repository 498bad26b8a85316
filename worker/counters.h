/*
 * counters: the worker's own counters for /metrics, collected where things happen: claims,
 * outcomes, rescues, run times per kind. Kept in memory as relaxed atomics (an increment costs
 * a few nanoseconds and takes no lock) and turned into lib/wstats.c's JSON at each heartbeat,
 * which stores it in the worker's row of taskq.workers (column metrics); taskq-fcgi reads the
 * rows back with the same module. This file must not know the JSON's shape (lib/wstats.c owns
 * it) nor write to the database.
 */
#ifndef TASKQ_COUNTERS_H
#define TASKQ_COUNTERS_H

#include "model/wstats.h"

/* Starts the per-kind rows with the kinds of the current table (after kinds_init), so that
 * each shows, at 0, before it first runs. */
void counters_init(void);
/* One claim statement that took n > 0 tasks. */
void counters_claimed(int n);
void counters_outcome(enum wstats_outcome o);
/* Tasks this worker's maintenance re-queued (or failed) after their lease expired. */
void counters_rescued(int n);
/* One attempt of the kind of this name ran for seconds (up to 256 kinds; more are ignored). */
void counters_run(const char *kind, double seconds);
/* Everything counted so far, with this process's database counters, as lib/wstats.h's JSON;
 * the caller frees it. */
char *counters_json(void);

#endif
