/*
 * progress: the progress writes of the running kinds, batched. A kind's progress lands in its
 * executor's slot (the latest one wins) and returns at once; one thread with its own
 * connection writes every slot that changed in one statement (taskq.progress_many), at most
 * once per PROGRESS_FLUSH_S, so a worker's progress costs one commit and one change
 * notification per flush however many tasks write it (a NOTIFYing commit takes a
 * cluster-wide lock: one per write serialised whole fleets). What the write learns (a
 * cancel was requested, the task is no longer this worker's) goes back through a callback.
 * It must not record outcomes or touch the pool's ring.
 */
#ifndef TASKQ_PROGRESS_H
#define TASKQ_PROGRESS_H

#include "store/worker.h"

/* the most time between a progress write and its flush */
#define PROGRESS_FLUSH_S 0.02

struct progress;

/* What a flush learnt about the task id at attempt in slot: 1 a cancel was requested, -1 it
 * is no longer this worker's. Called on the flusher's thread. */
typedef void (*progress_verdict_fn)(int slot, const char *id, int attempt, int verdict, void *ctx);

/* nslots: one per executor; worker borrowed for the flusher's lifetime. */
struct progress *progress_start(const char *conninfo, const char *worker, int nslots, int lease_s,
				progress_verdict_fn verdict, void *ctx);
/* Writes what is still pending, then stops the thread and closes its connection; pg is a
 * started flusher. */
void progress_stop(struct progress *pg);

/* Sets h's progress in slot (pct 0..100, msg copied, NULL for none); written within
 * PROGRESS_FLUSH_S. */
void progress_post(struct progress *pg, int slot, const struct holder *h, int pct, const char *msg);
/* Returns once slot's pending progress (if any) is written: an outcome recorded after it
 * never lands before the last progress. */
void progress_settle(struct progress *pg, int slot);

#endif
