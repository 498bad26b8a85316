/*
 * combine: group commit of the submits that request threads make at the same moment (see
 * combine.c): one INSERT statement and one commit for all of them.
 */
#ifndef TASKQ_COMBINE_H
#define TASKQ_COMBINE_H

#include <stdbool.h>

#include "promtext.h"
#include "store/submit.h"

/* On (the default) or off (each submit its own statement and commit); SIGHUP may change it. */
void combine_init(bool on);

/* Inserts task n (without a dedupe_key: those go through store_submit) together with the
 * submits of other threads waiting at the same time; *out receives the task once the commit
 * that holds it is done. */
enum taskq_rc combine_submit(struct db *db, const struct task_new *n, struct task *out,
			     struct taskq_err *err);

/* taskq_submit_group_size, the histogram of group sizes, for /metrics. */
void combine_write_metrics(struct ptext *t);

#endif
