/*
 * params: the query parameters each route of fcgi/routes.h takes, with their ranges and
 * checks. fcgi/query.c holds the rule they follow (query_check), fcgi/main.c applies it to
 * every request before its handler runs; handlers then read values with query_get and
 * query_long. docs/api.md and nginx/html/openapi.json name the same parameters and ranges.
 */
#ifndef TASKQ_PARAMS_H
#define TASKQ_PARAMS_H

#include "query.h"

#define PARAM_WAIT_MAX_S 30 /* GET /api/tasks/{id}?wait=S, seconds */
#define PARAM_LIST_MAX 500  /* GET /api/tasks?limit=N */

#define PARAM_OUTPUT_MAX 1000 /* GET /api/tasks/{id}/output?limit=N */
#define PARAM_OUTPUT_DEFAULT 200
#define PARAM_SEQ_MAX 9007199254740991L /* ?after=SEQ: 2^53 - 1, exact in JSON numbers */

/* GET /api/tasks: state, queue, kind, before, owner, limit, id_prefix, created_after,
 * created_before, payload, worker, parent, waiting (fcgi/search.h) */
extern const struct query_param params_task_list[];
/* GET /api/queues/{name}/series: range (1h, 1d) */
extern const struct query_param params_series[];
/* GET /api/tasks/{id}: wait, view_token */
extern const struct query_param params_task_get[];
/* the other GET routes a view token may read (history, /api/me): view_token */
extern const struct query_param params_view[];
/* GET /api/tasks/{id}/output: after, limit, view_token */
extern const struct query_param params_task_output[];
/* nchan's authorisations carry the subscriber's query string. A task's stream: view_token,
 * last_event_id (nchan's own way to resume, beside the Last-Event-ID header) */
extern const struct query_param params_task_stream[];
/* the feeds, /api/stream and /api/stream/{owner}: last_event_id */
extern const struct query_param params_feed[];

#endif
