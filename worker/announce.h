/*
 * announce: the worker's announcer thread. The worker's hot connections (the claimer, the
 * executors, the completer, the progress flusher) run with DB_ANNOUNCE_LATER: their
 * statements send no NOTIFY, so their commits never queue behind each other for the
 * cluster-wide lock a NOTIFYing commit holds until it is durable. After a commit that changed
 * tasks, the thread that made it hands their ids here; this thread sends them on taskq_task
 * (for taskq-fcgi's long-polls and live streams) from a connection of its own whose commits
 * need not wait for the disk (DB_ASYNC_COMMIT), in batches, a moment after the commit.
 * It must not change tasks.
 */
#ifndef TASKQ_ANNOUNCE_H
#define TASKQ_ANNOUNCE_H

/* Starts the thread (one per process). */
void announce_start(const char *conninfo);
/* Sends what is pending and stops the thread. */
void announce_stop(void);
/* Hands over the ids of tasks that a committed statement changed (any thread; ids copied). */
void announce_ids(const char *const *ids, int n);
/* The same for one task. */
void announce_id(const char *id);

#endif
