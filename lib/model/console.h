/*
 * console: the records the console's admin routes answer with, each described once as a field
 * table (model/record.h) so that decoding the row, encoding the JSON and freeing follow one
 * list: a worker daemon of the fleet, a point of a queue's per-minute series, a circuit
 * breaker, and the outcome of one task of a bulk action. It must not know SQL or HTTP.
 */
#ifndef TASKQ_MODEL_CONSOLE_H
#define TASKQ_MODEL_CONSOLE_H

#include <stdbool.h>

#include "model/record.h"

/* A worker daemon (taskq.fleet). */
struct fleet_row {
	char *id, *host, *version, *queues, *started_at, *last_seen;
	int pid, concurrency, running;
	double last_seen_s, finished_per_min;
	bool stale; /* no heartbeat for 30 s */
};
extern const struct record_type fleet_record;

/* A bucket of a queue's series (taskq.queue_series); the JSON fields are numbers or null. */
struct series_point {
	char *at;
	long long started, succeeded, failed, cancelled;
	char *queued, *wait_p50_ms, *wait_p95_ms, *run_p50_ms, *run_p95_ms;
};
extern const struct record_type series_record;

/* A host's circuit breaker and throttle (taskq.breaker_overview). */
struct breaker_info {
	char *host, *state, *last_error, *opened_at, *retry_at, *updated_at;
	int failures;
	long long trips, probes, deferred, waiting;
	double throttled_s;
};
extern const struct record_type breaker_record;

/* One task of a bulk action: its id and the verb's outcome ("queued", "cancelled",
 * "requested", "deleted", "wrong_state", "finished", "not_found"). */
struct bulk_outcome {
	char id[40];
	char outcome[16];
};
extern const struct record_type bulk_record;

#endif
