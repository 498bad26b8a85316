/*
 * store/submit: inserting tasks one by one (POST /api/tasks, the CLI) and as a group of
 * concurrent submits in one statement (taskq-fcgi's group commit, fcgi/bg/combine.c), with their
 * place in line among owners. Batches of a client are store/batch.h's; tasks that name parents
 * store/chains.h's. Tasks filled in here are the caller's (task_cleanup).
 */
#ifndef TASKQ_STORE_SUBMIT_H
#define TASKQ_STORE_SUBMIT_H

#include <stdbool.h>

#include "base/err.h"
#include "model/task.h"
#include "store/db.h"

/* Inserts a task. *created is false when an unfinished task with the same owner and
 * dedupe_key existed; *out is then that task. Its id is made here before the first try, so
 * that a connection lost during the insert is retried once on a fresh one without inserting
 * it twice (db_retry_lost, store/exec.h). */
enum taskq_rc store_submit(struct db *db, const struct task_new *n, struct task *out, bool *created,
			   struct taskq_err *err);

/* One submit of a group (fcgi/bg/combine.c): n in; the caller makes id (a UUIDv7, uuid7_make);
 * out receives the task. */
struct group_item {
	const struct task_new *n;
	char id[40];
	struct task *out;
};

/* Inserts the group's tasks (none with a dedupe_key) in one statement, all or none; retried
 * once on a fresh connection after a lost one, which inserts the ids that are not there. */
enum taskq_rc store_submit_group(struct db *db, struct group_item *items, int n,
				 struct taskq_err *err);

#endif
