/*
 * search: the filters of a task search, read one way for GET /api/tasks and for the "filter"
 * of POST /api/tasks/bulk: state, queue, kind, owner, before (keyset), limit, id_prefix,
 * created_after / created_before (RFC 3339), payload (a JSON object the payload contains) and
 * worker (its running tasks), parent (a task's children) and waiting (delayed, blocked or
 * retrying queued tasks). The checks of each value are fcgi/filters.c's; the rule that a payload search names a queue and created_after (so that it reads one
 * index range, see sql/functions/console.sql) are here. It must not run SQL.
 */
#ifndef TASKQ_SEARCH_H
#define TASKQ_SEARCH_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "model/task.h"
#include "query.h"
#include "req.h"

/* The filter of one search; f's strings point into the struct (valid while it lives). */
struct search_args {
	struct task_filter f;
	char state[QUERY_MAX_VALUE + 1], queue[QUERY_MAX_VALUE + 1], kind[QUERY_MAX_VALUE + 1],
		before[QUERY_MAX_VALUE + 1], owner[QUERY_MAX_VALUE + 1],
		after_t[QUERY_MAX_VALUE + 1], before_t[QUERY_MAX_VALUE + 1],
		payload[QUERY_MAX_VALUE + 1], worker[QUERY_MAX_VALUE + 1],
		parent[QUERY_MAX_VALUE + 1], waiting[QUERY_MAX_VALUE + 1];
	char id_lo[40], id_hi[40];
};

/* Reads the filter of query (which passed query_check with params_task_list), limit dflt
 * when absent; an owner's search is of its own tasks whatever it names. false: it answered
 * 400 (a payload without queue and created_after). */
bool search_read(struct req *r, const char *query, int dflt, struct search_args *a);

/* The JSON object filter ({"state": "failed", "limit": 100, ...}: strings and integers) as
 * the query string GET /api/tasks would take, into out (size bytes). false with msg filled
 * (size msg_size) when it is not an object of such values or does not fit. */
bool search_query_of(json_object *filter, char *out, size_t size, char *msg, size_t msg_size);

#endif
