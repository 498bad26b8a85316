/*
 * watch: long-polls (GET /api/tasks/{id}?wait=S) without a thread or a connection per waiter.
 * A request that must wait is parked here: its FastCGI request leaves the request thread,
 * which goes back to accepting. One watcher thread LISTENs on taskq_task (every statement that
 * changes tasks announces their ids), re-reads the announced tasks that have waiters in one
 * query per batch, and answers each waiter when its task's version moves on or its time is up.
 */
#ifndef TASKQ_WATCH_H
#define TASKQ_WATCH_H

#include <stdbool.h>

#include "promtext.h"
#include "req.h"

void watch_start(const char *conninfo, int max_waiters);
/* A new bound on parked long-polls (SIGHUP); those parked beyond it stay until answered. */
void watch_set_max(int max_waiters);
/* Answers every parked request (with the task as it is) and stops the thread. */
void watch_stop(void);

/*
 * Parks r until task id's version differs from version, or wait_s seconds pass. On true the
 * watcher owns r->fr (a heap FCGX_Request) and answers it: 200 with the task, or 304 when
 * not_modified_ok and the version never moved. false: too many waiters (the caller answers 429).
 */
bool watch_park(struct req *r, const char *id, long long version, double wait_s,
		bool not_modified_ok);
/* taskq_http_long_polls_parked, for /metrics (the watcher reports the requests it answers
 * to fcgi/metrics.c; fcgi/metrics.c knows nothing of the watcher). */
void watch_write_metrics(struct ptext *t);

#endif
