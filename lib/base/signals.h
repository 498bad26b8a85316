/*
 * signals: how both daemons take signals. Nothing runs in a signal handler: SIGTERM, SIGINT,
 * SIGHUP and SIGUSR1 are blocked in every thread and taken by the main thread with sigwait.
 * SIGHUP reloads the configuration, SIGUSR1 reopens the log file (logrotate), SIGTERM and
 * SIGINT stop.
 */
#ifndef TASKQ_SIGNALS_H
#define TASKQ_SIGNALS_H

#include <signal.h>

/* Blocks SIGTERM, SIGINT, SIGHUP and SIGUSR1 in this thread and the threads it starts later
 * (call it before starting any), and ignores SIGPIPE. *set receives the blocked set. */
void signals_setup(sigset_t *set);

/* What the main thread does on SIGHUP (reload) and SIGUSR1 (reopen the log); NULL: only log. */
struct signal_actions {
	void (*reload)(void *arg);
	void *arg;
};

/* Waits in the main thread for SIGTERM or SIGINT and returns it, running the reload action
 * for each SIGHUP and reopening the log file for each SIGUSR1 meanwhile. */
int signals_wait(const sigset_t *set, const struct signal_actions *actions);

#endif
