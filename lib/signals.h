/*
 * signals: how both daemons take signals. Nothing runs in a signal handler: SIGTERM, SIGINT
 * and SIGHUP are blocked in every thread and taken by the main thread with sigwait.
 */
#ifndef TASKQ_SIGNALS_H
#define TASKQ_SIGNALS_H

#include <signal.h>

/* Blocks SIGTERM, SIGINT and SIGHUP in this thread and the threads it starts later (call it
 * before starting any), and ignores SIGPIPE. *set receives the blocked set. */
void signals_setup(sigset_t *set);
/* Waits in the main thread for SIGTERM or SIGINT and returns it; a SIGHUP is logged. */
int signals_wait(const sigset_t *set);

#endif
