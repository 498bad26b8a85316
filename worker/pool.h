/*
 * pool: the worker's engine. One claimer thread (its own connection, LISTENing for wake-ups)
 * claims ready tasks in batches into a local queue (the free executors' share, plus what
 * short tasks will need while the next claim is on its way), renews leases with one
 * heartbeat statement, rescues expired leases, re-reads the circuit breakers (every second
 * and on NOTIFY taskq_breakers), and hands tasks to N executor threads (each with its own
 * connection) that run the kinds and record the outcome. This header is the engine's face
 * to worker/main.c; its rooms share worker/pool_impl.h.
 */
#ifndef TASKQ_POOL_H
#define TASKQ_POOL_H

struct pool_config {
	const char *db;
	const char *queues; /* comma-separated name[=max running in this worker] */
	int concurrency;
	int lease_s;
	int poll_s;
	int grace_s;
	int retention_h; /* finished tasks older than this are pruned */
	int claim_ahead; /* the most tasks claimed beyond the free executors (0: none) */
	int rollup_days; /* days of the per-minute queue rollup kept (0: no rollup) */
	long output_max; /* octets of streamed output a task keeps */
};

struct pool;

/* Starts the threads; NULL when they cannot start. config is copied. */
struct pool *pool_start(const struct pool_config *config);
/* This worker's id (host:pid:start), as in taskq.workers. */
const char *pool_worker_id(const struct pool *p);
/* After a reload (SIGHUP, main thread): takes poll_s, retention_h and grace_s from config
 * (the other fields need a restart) and registers the kinds table again. */
void pool_reload(struct pool *p, const struct pool_config *config);
/* Stops claiming; lets running tasks finish within the grace period, hands the rest back
 * to the queue, joins every thread and frees the pool. */
void pool_stop(struct pool *p);

#endif
