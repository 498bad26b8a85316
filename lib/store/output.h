/*
 * store/output: the statements of streamed output (sql/functions/output.sql): the workers'
 * batched appends, fenced by the attempt; a page of a task's chunks for GET
 * /api/tasks/{id}/output; the chunks taskq-fcgi's publisher sends to the output streams.
 * It maps rows to structs and builds no JSON beyond the array parameters.
 */
#ifndef TASKQ_STORE_OUTPUT_H
#define TASKQ_STORE_OUTPUT_H

#include <stdbool.h>

#include "base/err.h"
#include "model/task.h"
#include "store/db.h"

/* One chunk of a task's output, as a read answers it. seq 0: a row without a chunk (the
 * task has none after the seq asked for). */
struct out_chunk {
	char task_id[TASK_ID_LEN + 1]; /* store_output_since only */
	char *state;                   /* store_output_since: the task's state; NULL: gone */
	long long seq;
	int attempt;
	char *data;            /* the text; "" for the cap's marker */
	char *at;              /* RFC 3339 UTC */
	bool truncated;        /* the marker: later output went over the cap */
	bool output_truncated; /* store_output_page: the task's output was capped */
	long long last_seq;    /* the task's last seq when read (0: none) */
};

/* Frees n chunks and the array; store_output_free(NULL, 0) is a no-op. */
void store_output_free(struct out_chunk *c, int n);

/* Appends the output of worker's tasks ids[0..n) at attempts[0..n): chunks_json is a JSON
 * array holding, for each task in order, the array of its new chunks (strings); overs[k]:
 * the worker dropped chunks of task k already. cap: the octets a task keeps at most.
 * on_capped(id, ctx) is called for each task whose output is capped now. */
enum taskq_rc store_output_many(struct db *db, const char *worker, const char *const *ids,
				const int *attempts, const bool *overs, int n,
				const char *chunks_json, long long cap,
				void (*on_capped)(const char *id, void *ctx), void *ctx,
				struct taskq_err *err);

/* Up to limit chunks of task id after seq `after`, in order, into *out (*n rows, at least
 * one: with seq 0 when there is no chunk; each row carries output_truncated and last_seq).
 * The caller frees *out with store_output_free. */
enum taskq_rc store_output_page(struct db *db, const char *id, long long after, int limit,
				struct out_chunk **out, int *n, struct taskq_err *err);

/* For each task ids[k], up to limit chunks after afters[k] (negative: after its last seq
 * now), with its state and last_seq (a task without new chunks gives one row with seq 0), ordered by task then seq, into *out (*n rows; the
 * caller frees them with store_output_free). */
enum taskq_rc store_output_since(struct db *db, const char *const *ids, const long long *afters,
				 int n, int limit, struct out_chunk **out, int *nout,
				 struct taskq_err *err);

#endif
