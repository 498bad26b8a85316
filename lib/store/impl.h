/*
 * store_impl: what lib/store.c shares with the other lib/store_*.c files, and nothing else
 * includes: the statement numbers, the statement table and the row helpers. No PGresult leaves
 * these files.
 */
#ifndef TASKQ_STORE_IMPL_H
#define TASKQ_STORE_IMPL_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "model/task.h"
#include "store/db.h"

enum {
	S_PING,
	S_SUBMIT,
	S_SUBMIT_DEDUPE,
	S_FIND_DEDUPE,
	S_GET,
	S_CANCEL,
	S_RETRY,
	S_LIST,
	S_WAKE,
	S_KINDS,
	S_REGISTER_KIND,
	S_CLAIM,
	S_NEXT_DUE,
	S_PROGRESS,
	S_COMPLETE,
	S_FAIL,
	S_ACK_CANCEL,
	S_RELEASE,
	S_RESCUE,
	S_HEARTBEAT,
	S_WORKER_EXIT,
	S_PRUNE,
	S_LIVE_WORKERS,
	S_CLAIM_CALLBACKS,
	S_QUEUES,
	S_HISTORY,
	S_GET_MANY,
	S_PUBLISH_LOCK,
	S_COMPLETE_MANY,
	S_RUNNING,
	S_WATCH_NOTE,
	S_CALLBACK_DONE,
	S_MIGRATED,
	S_RECORD_MIGRATION,
	S_WORKERS,
	S_TOKEN_LOOKUP,
	S_TOKEN_CREATE,
	S_TOKEN_LIST,
	S_TOKEN_REVOKE,
	S_OWNER_UNFINISHED,
	S_QUEUES_OF,
	S_METRICS_QUEUES,
	S_METRICS_COUNTERS,
	S_METRICS_WORKERS,
	S_SUBMIT_MANY,
	S_SUBMIT_GROUP,
	S_SCHED_CREATE,
	S_SCHED_PUT,
	S_SCHED_GET,
	S_SCHED_LIST,
	S_SCHED_DELETE,
	S_SCHED_DUE,
	S_SCHED_FIRE,
	S_SCHED_ADVANCE,
	S_RATE_PUT,
	S_RATE_LIST,
	S_RATE_DELETE,
	S_METRICS_BREAKERS,
	S_BREAKERS_ACTIVE,
	S_BREAKER_ADMIT,
	S_BREAKER_REPORT,
	S_SUBMIT_AFTER,
	S_PARENTS_OF,
	S_VIEW_KEYS,
	S_COUNT
};

extern const struct db_stmt store_stmts[S_COUNT];

/* A copy of a column (NULL for SQL NULL or col < 0); the caller frees it. */
char *store_opt_str(const PGresult *res, int row, int col);
long long store_opt_ll(const PGresult *res, int row, int col, long long dflt);
/* A timestamptz column as RFC 3339 UTC text; the caller frees it. */
char *store_opt_time(const PGresult *res, int row, int col);
void store_decode_task(const PGresult *res, int row, struct task *t);
/* A uuid[] column as JSON array text (taskjson_ids_from_pg); NULL for NULL or col < 0. The
 * caller frees it (lib/store_chains.c). */
char *store_opt_uuid_array(const PGresult *res, int row, int col);
void store_decode_list(const PGresult *res, struct task_list *out);
/* Runs a statement that returns at most one value; *val is a copy (or NULL). */
enum taskq_rc store_exec_value(struct db *db, int stmt, const char *const *params, char **val,
			       struct taskq_err *err);
/* Runs a statement returning task rows into *out (the caller cleans it up). */
enum taskq_rc store_exec_list(struct db *db, int stmt, const char *const *params,
			      struct task_list *out, struct taskq_err *err);
/* Runs a verb that answers one boolean (did this holder still hold the task). */
enum taskq_rc store_exec_fenced(struct db *db, int stmt, const char *const *p, bool *held,
				struct taskq_err *err);

#endif
