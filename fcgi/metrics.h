/*
 * metrics: taskq-fcgi's own request figures for GET /metrics, counted in process with relaxed
 * atomics (no lock and no database round trip per request): requests by route pattern,
 * method and status, a latency histogram per route, requests in flight. Routes are the
 * patterns of fcgi/routes.h (never a raw path); a request that matched no route counts as
 * route "unmatched" with its method folded into a fixed set, so no label is ever unbounded.
 *
 * A long-poll that was parked (GET /api/tasks/{id}?wait=S) is counted when the watcher
 * answers it, and left out of the latency histogram: its wait is the client's choice.
 * Counting only: this module must not include the modules whose figures sit beside its own
 * on /metrics (fcgi/h_metrics.c gathers them), so that none of them depends back on it.
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
/* The in-process families, into t: HTTP requests (counts, latency, in flight); PostgreSQL
 * trouble of the connections; start time and build. fcgi/h_metrics.c puts them together with
 * the other modules' own families (the watcher's, group commit's, the replica's). */
void metrics_write_http(struct ptext *t);
void metrics_write_db(struct ptext *t);
void metrics_write_build(struct ptext *t);

#endif
