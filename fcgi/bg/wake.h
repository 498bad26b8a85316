/*
 * wake: coalesced wake-ups for the workers and announcements of new tasks. A submit's own
 * transaction never NOTIFYs (a NOTIFYing commit takes a cluster-wide lock, capping commits
 * near 5k/s; the request threads' connections keep the trigger that announces new tasks out
 * of it: DB_OWN_INSERTS); instead handlers call wake_signal() or wake_announce()
 * after their commit, and one thread with its own connection sends at most one wake-up per
 * millisecond for all of them, with the ids of the tasks they created on taskq_task in the
 * same transaction (store_announce), for the live feeds.
 */
#ifndef TASKQ_WAKE_H
#define TASKQ_WAKE_H

void wake_start(const char *conninfo);
/* Cheap and non-blocking: marks a wake-up as pending. */
void wake_signal(void);
/* The same, for n tasks just created (ids borrowed for the call): they are announced with
 * the next wake-up, all n together (200 ids a notification). */
void wake_announce(const char *const *ids, int n);
/* Sends what is pending, stops the thread and closes its connection. */
void wake_stop(void);

/* The least time between two NOTIFYs (--wake-gap-ms; SIGHUP may change it). */
void wake_set_gap(long ms);

#endif
