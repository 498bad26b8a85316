/*
 * store/signals: the statements of tasks that wait for signals (sql/functions/signals.sql):
 * a signal sent to a task, signal links minted and used, and the worker's side: a running
 * attempt's wait and checkpoint (fenced by its holder), the sweep of waits past their
 * deadline. The semantics live in sql/; this file calls them and maps outcomes to taskq_rc.
 * Tasks filled in here are the caller's (task_cleanup).
 */
#ifndef TASKQ_STORE_SIGNALS_H
#define TASKQ_STORE_SIGNALS_H

#include <stdbool.h>

#include "base/err.h"
#include "model/task.h"
#include "store/db.h"
#include "store/worker.h"

enum signal_outcome {
	SIGNAL_RESUMED, /* the task waited for it: queued again */
	SIGNAL_STORED,  /* kept for a later wait (or the running program's next run) */
	SIGNAL_FINAL,   /* the task is finished: nothing stored */
	SIGNAL_USED,    /* a signal link used before: nothing sent */
	SIGNAL_INVALID, /* no such signal link, or expired: nothing sent */
};

/* Sends signal name (checked by the caller) with payload (JSON text, or NULL for null) to
 * task id: *oc says what it did (SIGNAL_RESUMED, _STORED or _FINAL) and *out is the task.
 * TASKQ_NOTFOUND for an unknown id. */
enum taskq_rc store_signal(struct db *db, const char *id, const char *name, const char *payload,
			   struct task *out, enum signal_outcome *oc, struct taskq_err *err);
/* Mints a one-time link for signal name to task id, valid ttl_s seconds: *token receives
 * "ts_…" (the caller frees it). TASKQ_NOTFOUND for an unknown id. */
enum taskq_rc store_signal_token(struct db *db, const char *id, const char *name, long ttl_s,
				 char **token, struct taskq_err *err);
/* Uses a signal link once, with payload (JSON text or NULL): *oc says what it did (any
 * outcome; *out is filled unless SIGNAL_USED or SIGNAL_INVALID). */
enum taskq_rc store_signal_by_token(struct db *db, const char *token, const char *payload,
				    struct task *out, enum signal_outcome *oc,
				    struct taskq_err *err);

/* The worker's: the attempt h waits for signal name, at most timeout_s seconds (<= 0: no
 * limit; on_timeout_run: then it runs without it, else it fails). *state_out receives the
 * state it moved to (waiting, queued when it held the signal already, cancelled when that
 * was asked), or -1 when h no longer held it. */
enum taskq_rc store_wait(struct db *db, const struct holder *h, const char *name, double timeout_s,
			 bool on_timeout_run, int *state_out, struct taskq_err *err);
/* Stores checkpoint (JSON text) for the attempt h; *held false when h no longer held it. */
enum taskq_rc store_checkpoint(struct db *db, const struct holder *h, const char *checkpoint,
			       bool *held, struct taskq_err *err);
/* Fails (or queues, on_timeout "run") the waits past their deadline; *moved: how many. */
enum taskq_rc store_wait_timeouts(struct db *db, int *moved, struct taskq_err *err);

#endif
