/*
 * metrics: taskq-fcgi's own request figures for GET /metrics, counted in process with relaxed
 * atomics (no lock and no database round trip per request): requests by route pattern,
 * method and status, a latency histogram per route, requests in flight. Routes are the
 * patterns of fcgi/routes.h (never a raw path); a request that matched no route counts as
 * route "unmatched" with its method folded into a fixed set, so no label is ever unbounded.
 *
 * A long-poll that was parked (GET /api/tasks/{id}?wait=S) is counted when the watcher
 * answers it, and left out of the latency histogram: its wait is the client's choice.
 */
#ifndef TASKQ_METRICS_H
#define TASKQ_METRICS_H

#include "promtext.h"
#include "req.h"

/* Once at start (the start time it reports). */
void metrics_init(void);
/* A request thread took r (after req_init and before routing). */
void metrics_request_start(struct req *r);
/* The request thread is done with r: answered, or parked (then the watcher calls
 * metrics_parked_answered once it answers). */
void metrics_request_end(const struct req *r);
void metrics_parked_answered(const struct req *r);
/* Writes the in-process families (HTTP, database connection, build) into t. */
void metrics_write_process(struct ptext *t);

#endif
