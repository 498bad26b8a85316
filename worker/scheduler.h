/*
 * scheduler: the worker's thread that fires recurring schedules (see scheduler.c). Every
 * worker runs one (unless --scheduler off); the database makes each fire time happen once.
 */
#ifndef TASKQ_SCHEDULER_H
#define TASKQ_SCHEDULER_H

struct scheduler;

/* Starts the thread with a connection of its own; worker_id goes into the fire rows. */
struct scheduler *scheduler_start(const char *conninfo, const char *worker_id);
void scheduler_stop(struct scheduler *s);

#endif
