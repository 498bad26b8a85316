/*
 * pool_impl: what the rooms of the worker's engine share, and nothing else may see: the pool,
 * its executors and the context of a running task. The rooms:
 *  - worker/pool.c      lifecycle: start, reload, drain and stop, the worker's identity;
 *  - worker/claimer.c   the claimer thread: claim loop, wake-ups, notifications;
 *  - worker/chores.c    the claimer's timed upkeep: lease heartbeat (which keeps the worker's
 *                       row), rescue, breakers re-read, pruning, kind registration;
 *  - worker/executor.c  the executor threads: run a kind, record its outcome;
 *  - worker/kindapi.c   worker/kinds/api.h, what a running kind may call;
 *  - worker/progress.c  the flusher of the kinds' progress (one statement per round);
 *  - worker/output.c    the flusher of the kinds' streamed output (idem; no pool access).
 * Only those files include this header; kinds never do. Locking: pool->lock guards the ring of
 * claimed tasks and the counters marked "guarded by lock"; atomics are read without it.
 */
#ifndef TASKQ_POOL_IMPL_H
#define TASKQ_POOL_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "completer.h"
#include "output.h"
#include "progress.h"
#include "kinds.h"
#include "pool.h"
#include "store/worker.h"
#include "model/task.h"

#define MAX_QUEUES 32

enum stop_reason { STOP_NONE, STOP_CANCEL, STOP_TIMEOUT, STOP_SHUTDOWN, STOP_LOST };

struct executor {
	struct pool *pool;
	pthread_t thread;
	struct db *db;
	int queue_idx;                    /* of the running task; guarded by pool->lock */
	char running_id[TASK_ID_LEN + 1]; /* guarded by pool->lock */
	int running_attempt;
	atomic_int cancel; /* set by the heartbeat and the progress flusher */
	atomic_int lost;   /* set by the progress flusher: the task is no longer ours */
};

struct pool {
	struct pool_config cfg;
	char *queues_csv;
	char *queue[MAX_QUEUES];
	int queue_limit[MAX_QUEUES];   /* 0: no limit but the concurrency */
	int queue_running[MAX_QUEUES]; /* claimed and not yet recorded; guarded by lock */
	int nqueues;
	char worker_id[128];
	char host[64];
	struct worker_info info;

	pthread_mutex_t lock;
	pthread_cond_t ready; /* tasks waiting in `pending` */
	struct task *pending; /* the local queue: claimed, not yet started; a ring of ring_cap */
	double *pending_at;   /* when each entry of the ring was claimed (monotonic seconds) */
	int ring_cap;         /* cfg.concurrency + cfg.claim_ahead */
	int head, count;
	int inflight;  /* claimed and not yet handed to the completer or recorded */
	int recording; /* of those: run, their failure being recorded (claimed for in advance) */
	double done_rate, done_at; /* tasks finished a second, decayed; when the last finished */

	bool breakers_changed; /* NOTIFY taskq_breakers arrived (claimer thread only) */

	atomic_bool stopping;           /* no more claims */
	atomic_bool register_kinds;     /* (again) the kinds table changed */
	atomic_int poll_s, retention_h; /* SIGHUP may change them */
	atomic_bool aborting;           /* grace over: running kinds must stop */
	int efd;                        /* wakes the claimer */

	pthread_t claimer;
	struct db *cdb;
	struct completer *completer;
	struct progress *progress;
	struct output *output;
	struct executor *ex;
};

/* One running task, as the executor and worker/kindapi.c see it; a kind sees only the
 * opaque pointer. */
struct kind_ctx {
	struct pool *pool;
	struct executor *ex;
	const struct task *task;
	const struct kind *kind;
	struct holder holder; /* task id, worker id, attempt: fences every write */
	double retry_after_s; /* 0: the usual back-off */
	bool probe;           /* admitted as its host's breaker probe */
	double deadline;      /* monotonic seconds; 0: none */
	double last_progress;
	enum stop_reason stop;
	char wait_signal[65]; /* kind_wait(): the signal to wait for ("": none) */
	double wait_timeout_s;
	bool wait_run; /* on timeout, run without it */
};

/* pool.c. The index of queue in p->queue, -1 if none. */
int pool_queue_index(const struct pool *p, const char *queue);

/* claimer.c. The claimer thread (arg: the pool). */
void *claimer_main(void *arg);
/* Wakes the claimer (an executor became free, or the pool is stopping); any thread. */
void claimer_poke(struct pool *p);
/* How many tasks the claimer should claim now, 0 when it should wait (p->lock held): enough
 * for the executors that are free, plus a local queue of what they will finish while a claim
 * is on its way (none for long tasks, up to cfg.claim_ahead for short ones), claimed when
 * the local queue has run half empty, so that claims come in batches. */
int claimer_want(const struct pool *p);
/* Notes that an executor finished a task (p->lock held): the finishing rate claimer_want
 * sizes the local queue by. */
void pool_note_done(struct pool *p);

/* executor.c. An executor thread (arg: its struct executor). */
void *executor_main(void *arg);

/* chores.c. When each chore is due next (monotonic seconds; 0: at once). */
struct chores_due {
	double heartbeat, rescue, prune, breakers, rollup, age, waits;
};
/* Runs the chores that are due, on the claimer's connection (claimer thread only). */
void chores_run(struct pool *p, struct chores_due *next);
/* Registers the kinds of the current table in taskq.kinds (claimer thread only). */
void chores_register_kinds(struct pool *p);

#endif
