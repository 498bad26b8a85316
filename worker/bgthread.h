/*
 * bgthread: what every background thread of the worker has — its own PostgreSQL connection,
 * a stop flag, and a lock with a condition for its owner's queue — and its start and stop.
 * Used by the completer, the progress flusher, the scheduler and the webhooks; each keeps its
 * own state and loop.
 */
#ifndef TASKQ_BGTHREAD_H
#define TASKQ_BGTHREAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "store/db.h"

struct bgthread {
	pthread_t thread;
	struct db *db;
	atomic_bool stopping;
	pthread_mutex_t lock; /* the owner's: guards its queue and fields */
	pthread_cond_t work;  /* the owner's producers signal it; bg_stop broadcasts it */
	pthread_cond_t done;  /* the thread broadcasts it when a round is over */
};

/* Opens the connection (application_name app; session: its settings, enum db_session_flag
 * of store/db.h), then starts fn(arg). A thread that cannot start (the process
 * is out of threads or memory) ends the process with a log line, as xmalloc does. */
void bg_start(struct bgthread *b, const char *conninfo, const char *app, unsigned session,
	      void *(*fn)(void *), void *arg);
/* Sets the stop flag (under the lock, so a thread waiting on work sees it), wakes and joins
 * the thread, closes the connection. */
void bg_stop(struct bgthread *b);

static inline bool bg_stopping(struct bgthread *b)
{
	return atomic_load(&b->stopping);
}

#endif
