/*
 * h_bulk: POST /api/tasks/bulk {"action": "retry"|"cancel"|"delete"|"run_now", "ids": [...]}
 * or {"action": ..., "filter": {GET /api/tasks' parameters}}: one action on up to 1000 tasks,
 * each through its one-task SQL verb (sql/functions/console.sql, taskq.bulk_tasks). An owner's
 * call acts on its own tasks only (the others answer not_found, as one task's verb does). A
 * filter call acts on the first page of its matches (newest first, up to its limit, 1000 by
 * default) and answers "next": the "before" of the next page, or null at the end.
 */
#include <stdio.h>
#include <string.h>

#include "bg/wake.h"
#include "body.h"
#include "handlers.h"
#include "params.h"
#include "resp.h"
#include "search.h"
#include "store/console.h"
#include "store/tasks.h"

#define BULK_MAX 1000
#define BULK_USAGE                                                                           \
	"the body is {\"action\": \"retry\"|\"cancel\"|\"delete\"|\"run_now\"} with either " \
	"\"ids\": [1-1000 task ids] or \"filter\": {GET /api/tasks' parameters}"

static bool action_valid(const char *a)
{
	return !strcmp(a, "retry") || !strcmp(a, "cancel") || !strcmp(a, "delete") ||
	       !strcmp(a, "run_now");
}

/* The ids of the body's "ids" into ids (BULK_MAX); -1: it answered 400. */
static int ids_of(struct req *r, json_object *arr, const char **ids)
{
	int n;

	if (!json_object_is_type(arr, json_type_array) ||
	    (n = (int)json_object_array_length(arr)) < 1 || n > BULK_MAX) {
		resp_error(r, TASKQ_INVAL, "ids must be an array of 1-1000 task ids");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, (size_t)i);
		if (!json_object_is_type(e, json_type_string) ||
		    !task_id_valid(json_object_get_string(e))) {
			resp_error_at(r, TASKQ_BAD_ID, "ids: each must be a task id (a UUID)", i);
			return -1;
		}
		ids[i] = json_object_get_string(e);
	}
	return n;
}

/* The ids of the first page of the filter's matches into ids (BULK_MAX), kept in l, and the
 * page's size into *limit; -1: it answered (400, or the store's error). */
static int ids_matching(struct req *r, json_object *filter, struct task_list *l, const char **ids,
			int *limit)
{
	char qs[4096], msg[256], full[300];
	struct search_args a;
	struct taskq_err err;

	if (!search_query_of(filter, qs, sizeof qs, msg, sizeof msg) ||
	    query_check(qs, params_task_list, msg, sizeof msg)) {
		snprintf(full, sizeof full, "filter: %s", msg);
		resp_error(r, TASKQ_INVAL, full);
		return -1;
	}
	if (!search_read(r, qs, BULK_MAX, &a))
		return -1;
	*limit = a.f.limit;
	if (store_list(r->db, &a.f, l, &err)) {
		resp_error(r, err.rc, err.msg);
		return -1;
	}
	for (size_t i = 0; i < l->n; i++)
		ids[i] = l->v[i].id;
	return (int)l->n;
}

static json_object *encode(const char *action, const struct bulk_outcome *v, int n,
			   const char *next)
{
	json_object *o = json_object_new_object(), *counts = json_object_new_object();

	for (int i = 0; i < n; i++) {
		json_object *c;
		int k = json_object_object_get_ex(counts, v[i].outcome, &c) ? json_object_get_int(c)
									    : 0;
		json_object_object_add(counts, v[i].outcome, json_object_new_int(k + 1));
	}
	json_object_object_add(o, "action", json_object_new_string(action));
	json_object_object_add(o, "matched", json_object_new_int(n));
	json_object_object_add(o, "outcomes", counts);
	json_object_object_add(o, "tasks", records_to_json(&bulk_record, v, n, sizeof *v));
	json_object_object_add(o, "next", next ? json_object_new_string(next) : NULL);
	return o;
}

void h_task_bulk(struct req *r)
{
	json_object *body, *action = NULL, *ids_j = NULL, *filter = NULL;
	const char *ids[BULK_MAX];
	struct task_list l = {0};
	struct bulk_outcome *v = NULL;
	struct taskq_err err;
	int n, nv = 0, keys = 0, limit = 0;

	if (!body_read_json(r, &body))
		return;
	if (json_object_is_type(body, json_type_object)) {
		keys = json_object_object_length(body);
		json_object_object_get_ex(body, "action", &action);
		json_object_object_get_ex(body, "ids", &ids_j);
		json_object_object_get_ex(body, "filter", &filter);
	}
	if (!action || !json_object_is_type(action, json_type_string) ||
	    !action_valid(json_object_get_string(action)) || keys != 2 || !(!ids_j != !filter)) {
		resp_error(r, TASKQ_INVAL, BULK_USAGE);
		goto out;
	}
	n = ids_j ? ids_of(r, ids_j, ids) : ids_matching(r, filter, &l, ids, &limit);
	if (n < 0)
		goto out;
	if (n > 0 && store_bulk(r->db, json_object_get_string(action), ids, n,
				r->who.admin ? NULL : r->who.owner, &v, &nv, &err)) {
		resp_error(r, err.rc, err.msg);
		goto out;
	}
	if (n > 0)
		wake_signal();
	resp_json(r, 200,
		  encode(json_object_get_string(action), v, nv,
			 filter && n > 0 && n == limit ? ids[n - 1] : NULL),
		  NULL);
	records_free(&bulk_record, v, nv, sizeof *v);
out:
	task_list_cleanup(&l);
	json_object_put(body);
}
