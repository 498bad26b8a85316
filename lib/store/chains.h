/*
 * store/chains: submits that name parents (taskq.insert_tasks, sql/functions/submit.sql) and the
 * parents' results a command kind reads. Decoding a task's parents column is store/exec.h's
 * (row_task), like the rest of a task row.
 */
#ifndef TASKQ_STORE_CHAINS_H
#define TASKQ_STORE_CHAINS_H

#include <stdbool.h>

#include "base/err.h"
#include "model/task.h"
#include "store/db.h"

/* Inserts task n, which names parents (n->after: ids only), as store_submit does; a parent
 * that does not exist, or is not parent_owner's when that is not NULL, is TASKQ_INVAL ("no
 * such parent task …"). *out is the task as inserted: blocked, ready, or cancelled at once
 * when a parent failed. */
enum taskq_rc store_submit_after(struct db *db, const struct task_new *n, const char *parent_owner,
				 struct task *out, bool *created, struct taskq_err *err);
/* The parents of task id with their kind, state and result, as the JSON array text that a
 * command kind gets in TASKQ_PARENTS; the caller frees *json. */
enum taskq_rc store_parents_json(struct db *db, const char *id, char **json, struct taskq_err *err);

#endif
