/*
 * fair: start-time fair queueing across owners at submit. This process remembers, per
 * owner and line (queue, priority and concurrency key), the place in line (run_at) of the
 * owner's last task; the next task goes one microsecond after it, but never before the
 * line's head (lib/store/submit.c's FAIR_RUN_AT). A flood from one owner is spread a
 * microsecond apart while another owner's first task lands at the head, so workers alternate
 * between owners instead of draining the flood first; within a concurrency key too, whose
 * tasks a claim takes in the same order. On only with auth (without it there is one owner).
 */
#ifndef TASKQ_FAIR_H
#define TASKQ_FAIR_H

#include <stdbool.h>

#include "model/task.h"

#define FAIR_AT_LEN 40

/* At start, and again on SIGHUP. */
void fair_init(bool on);
/* Sets n->fair and n->fair_after (pointing into at, which must outlive n). */
void fair_prepare(struct task_new *n, char at[FAIR_AT_LEN]);
/* Remembers a created task's place in line. */
void fair_created(const struct task_new *n, const struct task *t);

#endif
