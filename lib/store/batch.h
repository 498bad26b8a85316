/*
 * store/batch: a client's batch of tasks inserted in one statement, all or none
 * (taskq.submit_many, sql/functions/submit.sql). Single submits and taskq-fcgi's group commit are
 * store/submit.h's.
 */
#ifndef TASKQ_STORE_BATCH_H
#define TASKQ_STORE_BATCH_H

#include <json-c/json.h>
#include <stdbool.h>

#include "base/err.h"
#include "store/db.h"

/* One task of a batch as inserted (or, for a dedupe key already held, the live holder). */
struct batch_row {
	char id[40];
	bool created;
	char queue[72];
	int priority;
	char *run_at; /* RFC 3339 */
};

/* Inserts the tasks of tasks (a JSON array of elements as taskjson_batch_element makes them, see
 * taskq.insert_tasks in sql/functions/submit.sql) for owner in one statement, all or none;
 * *rows receives *n rows in the array's order (store_batch_free). parent_owner: when not
 * NULL, every parent named must be that owner's. Each element without an "id" gets one here
 * (a UUIDv7) before the first try: a connection lost during the statement is retried once on
 * a fresh one (db_retry_lost, store/exec.h), and the retry inserts only the ids that are not
 * there yet, so that no task lands twice when the first try committed and only its answer was
 * lost. The array is borrowed (the ids stay in it). */
enum taskq_rc store_submit_many(struct db *db, const char *owner, json_object *tasks,
				const char *parent_owner, struct batch_row **rows, int *n,
				struct taskq_err *err);
void store_batch_free(struct batch_row *rows, int n);

#endif
