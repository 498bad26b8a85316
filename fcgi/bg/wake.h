/*
 * wake: coalesced wake-ups for the workers. A submit's own transaction never NOTIFYs (a
 * NOTIFYing commit takes a cluster-wide lock, capping commits near 5k/s); instead handlers
 * call wake_signal() after their commit, and one thread with its own connection sends at
 * most one NOTIFY per millisecond for all of them.
 */
#ifndef TASKQ_WAKE_H
#define TASKQ_WAKE_H

void wake_start(const char *conninfo);
/* Cheap and non-blocking: marks a wake-up as pending. */
void wake_signal(void);
/* Sends what is pending, stops the thread and closes its connection. */
void wake_stop(void);

/* The least time between two NOTIFYs (--wake-gap-ms; SIGHUP may change it). */
void wake_set_gap(long ms);

#endif
