/*
 * store/worker: the worker daemon's verbs: claim, progress, completion (batched), failure,
 * cancel acknowledgement, release, the heartbeat that renews leases, rescue of expired leases,
 * pruning, completion callbacks (webhooks) and the next due time. Every verb on a claimed task
 * is fenced by its holder (struct holder). Tasks filled in here are the caller's.
 */
#ifndef TASKQ_STORE_WORKER_H
#define TASKQ_STORE_WORKER_H

#include <stdbool.h>

#include "base/err.h"
#include "model/task.h"
#include "store/db.h"

/* Who holds a claimed task: the worker and the attempt its claim started. Every worker verb
 * is fenced by both, so a run whose lease expired (even one its own worker re-claimed)
 * records nothing. Strings borrowed. */
struct holder {
	const char *id, *worker;
	int attempt;
};

/* Claims up to k ready tasks of queue for worker, leased for lease_s seconds. */
enum taskq_rc store_claim(struct db *db, const char *worker, const char *queue, int k, int lease_s,
			  struct task_list *out, struct taskq_err *err);
/* Seconds until the next queued task of the comma-separated queues is due (<0: none). */
enum taskq_rc store_next_due(struct db *db, const char *queues_csv, double *secs,
			     struct taskq_err *err);
/* Records the progress of worker's tasks ids[0..n) at attempts[0..n): percentages pcts,
 * messages as one JSON array in the same order (null: none); renews their leases. on_held is
 * called for each task the worker still holds, with its cancel flag; the others are no
 * longer this worker's. */
enum taskq_rc store_progress_many(struct db *db, const char *worker, const char *const *ids,
				  const int *attempts, const int *pcts, int n,
				  const char *msgs_json, int lease_s,
				  void (*on_held)(const char *id, bool cancel, void *ctx),
				  void *ctx, struct taskq_err *err);
/* Records the successes of a batch: worker's tasks ids[0..n) at attempts[0..n), results as
 * one JSON array in the same order. *recorded receives the *nrec ids recorded (the others
 * were no longer this worker's); the caller frees each and the array. */
enum taskq_rc store_complete_many(struct db *db, const char *worker, const char *const *ids,
				  const int *attempts, int n, const char *results_json,
				  char ***recorded, int *nrec, struct taskq_err *err);
/* *state_out (may be NULL) receives the state the task moved to (queued or failed), or -1
 * when it was no longer this holder's. retry_in_s > 0 delays a retry at least that long. */
enum taskq_rc store_fail(struct db *db, const struct holder *h, const char *error, bool retryable,
			 double retry_in_s, int *state_out, struct taskq_err *err);
enum taskq_rc store_ack_cancel(struct db *db, const struct holder *h, struct taskq_err *err);
enum taskq_rc store_release(struct db *db, const struct holder *h, struct taskq_err *err);
/* Re-queues (or fails) tasks whose lease expired; *moved receives the count. */
enum taskq_rc store_rescue(struct db *db, int *moved, struct taskq_err *err);
/* The flow chores of about once a second: the queues' start rates (taskq.measure_rates, what
 * a queued task's eta_s divides by), then priority aging (taskq.age: raises the priority of
 * tasks that waited long in queues with an aging setting, a bounded batch; *raised receives
 * the count). */
enum taskq_rc store_age(struct db *db, int *raised, struct taskq_err *err);
/* Cancels queued tasks past their start deadline (start_by_s, taskq.expire); *moved receives
 * the count. */
enum taskq_rc store_expire(struct db *db, int *moved, struct taskq_err *err);

/* What a worker tells the fleet table about itself (strings borrowed). */
struct worker_info {
	const char *id, *host, *version, *queues;
	int pid, concurrency;
};

/* Upserts the worker's row in taskq.workers (with its counters, metrics_json: a JSON object
 * or NULL) and renews the leases of the nheld tasks it still runs (held_ids[i] at attempt
 * held_attempts[i]); calls on_cancel(id, ctx) for each whose cancellation was requested (id
 * borrowed for the call). */
enum taskq_rc store_heartbeat(struct db *db, const struct worker_info *w, int lease_s,
			      const char *const *held_ids, const int *held_attempts, int nheld,
			      const char *metrics_json,
			      void (*on_cancel)(const char *id, void *ctx), void *ctx,
			      struct taskq_err *err);
/* Removes the worker's row (clean exit). */
enum taskq_rc store_worker_exit(struct db *db, const char *worker, struct taskq_err *err);
/* Deletes up to batch finished tasks older than older_than_h hours, and their events. */
enum taskq_rc store_prune(struct db *db, int older_than_h, int batch, int *deleted,
			  struct taskq_err *err);

/* Drops the counter rows (the /metrics series) of queues that are gone: no task left, no
 * finish for a day (taskq.prune_queue_series); *queues: how many. */
enum taskq_rc store_prune_series(struct db *db, int *queues, struct taskq_err *err);

/* Takes up to k completion callbacks that are due, leased for lease_s seconds. */
enum taskq_rc store_claim_callbacks(struct db *db, int k, int lease_s, struct task_list *out,
				    struct taskq_err *err);
/* Records one delivery: delivered, or retried later, or failed after too many tries. */
enum taskq_rc store_callback_done(struct db *db, const char *id, bool ok, const char *error,
				  struct taskq_err *err);

#endif
