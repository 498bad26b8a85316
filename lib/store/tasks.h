/*
 * store/tasks: reading and changing tasks on the HTTP side: one task, a page of them, several
 * by id, the running ones, cancel and retry, a task's history, per-queue counts, and the
 * registered task kinds. Inserting tasks is store/submit.h's (and batch.h's, chains.h's); the
 * worker's verbs are store/worker.h's. Tasks filled in here are the caller's (task_cleanup).
 */
#ifndef TASKQ_STORE_TASKS_H
#define TASKQ_STORE_TASKS_H

#include "base/err.h"
#include "model/task.h"
#include "store/db.h"

/* The message of every TASKQ_NOTFOUND about a task, by id or by owner: one text, without the
 * id, so that the answer to an unknown id and to another owner's task are the same bytes
 * (callers that hide another owner's task answer with it too). */
#define STORE_NO_TASK "no such task"

/* TASKQ_NOTFOUND (STORE_NO_TASK) for an unknown id. */
enum taskq_rc store_get(struct db *db, const char *id, struct task *out, struct taskq_err *err);
/* The tasks among ids[0..n) (canonical UUIDs) that exist, in no promised order; without a
 * queued task's position and eta_s (null), which store_get and store_get_many_placed read. */
enum taskq_rc store_get_many(struct db *db, const char *const *ids, int n, struct task_list *out,
			     struct taskq_err *err);
enum taskq_rc store_get_many_placed(struct db *db, const char *const *ids, int n,
				    struct task_list *out, struct taskq_err *err);
enum taskq_rc store_list(struct db *db, const struct task_filter *f, struct task_list *out,
			 struct taskq_err *err);
/* Up to limit running tasks. */
enum taskq_rc store_running(struct db *db, int limit, struct task_list *out, struct taskq_err *err);

enum cancel_outcome { CANCEL_DONE, CANCEL_REQUESTED, CANCEL_FINISHED };
/* TASKQ_NOTFOUND (STORE_NO_TASK) for an unknown id; else *oc says what happened and *out is
 * the task. */
enum taskq_rc store_cancel(struct db *db, const char *id, struct task *out, enum cancel_outcome *oc,
			   struct taskq_err *err);
/* Failed or cancelled → queued; TASKQ_CONFLICT (with *out filled) from any other state. */
enum taskq_rc store_retry(struct db *db, const char *id, struct task *out, struct taskq_err *err);

/* Runs stmt with parameters p: a call of a function answering one row (outcome text, then a
 * task's columns, as taskq.cancel does). The outcome goes into name, the task into *t
 * (unless the outcome is not_found). TASKQ_NOTFOUND (STORE_NO_TASK) for no row or not_found. */
#define STORE_OUTCOME_MAX 32
struct db_stmt;
enum taskq_rc store_exec_outcome(struct db *db, struct db_stmt *stmt, const char *const *p,
				 char name[STORE_OUTCOME_MAX], struct task *t,
				 struct taskq_err *err);

/* Queued → held (store_hold), held → queued (store_release_hold): TASKQ_CONFLICT (with *out
 * filled) from any other state, or when the dedupe key of the task to release was taken. */
enum taskq_rc store_hold(struct db *db, const char *id, struct task *out, struct taskq_err *err);
enum taskq_rc store_release_hold(struct db *db, const char *id, struct task *out,
				 struct taskq_err *err);
/* Pauses (pause) or resumes a queue; *changed is false when it was so already. by: who
 * paused it (kept in taskq.queue_pauses), or NULL. A pause returns after the claims of the
 * queue under way: no task of it starts after. */
enum taskq_rc store_pause_queue(struct db *db, const char *queue, const char *by, bool pause,
				bool *changed, struct taskq_err *err);

/* A task's history (taskq.task_history), oldest first (at most 1000 rows); free with
 * task_events_free. */
enum taskq_rc store_history(struct db *db, const char *id, struct task_event **out, int *n,
			    struct taskq_err *err);
/* Per-queue counts (GET /api/queues) of all tasks, or of one owner's; the caller frees with
 * queue_stats_free. */
enum taskq_rc store_queues(struct db *db, const char *owner, struct queue_stat **out, int *n,
			   struct taskq_err *err);

/* The names of the registered task kinds; the caller frees each and the array (which has a
 * NULL after the last). */
enum taskq_rc store_kinds(struct db *db, char ***names, int *n, struct taskq_err *err);
/* Registers (or marks as seen now) a kind a worker serves. */
enum taskq_rc store_register_kind(struct db *db, const char *name, struct taskq_err *err);

#endif
