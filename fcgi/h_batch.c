/*
 * h_batch: POST /api/tasks/batch, many tasks in one request and one statement. The body is a
 * JSON array of task objects (each as POST /api/tasks takes it) or {"tasks": [...]}; up to
 * --max-batch of them. Every element is checked before anything is inserted: a bad one
 * rejects the whole batch with its index ({"error":{..., "index": i}}), and nothing lands.
 * The answer lists the ids in the order of the array.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg/wake.h"
#include "body.h"
#include "fair.h"
#include "handlers.h"
#include "kindcache.h"
#include "log.h"
#include "owner_limits.h"
#include "resp.h"
#include "settings.h"
#include "store.h"
#include "taskjson.h"
#include "xalloc.h"

/* One element, checked: its fields (borrowing from the body) and its place among owners. */
struct element {
	struct task_new n;
	char *payload_text;
	char fair_at[FAIR_AT_LEN];
};

struct batch {
	json_object *body, *list;
	struct element *el;
	size_t count;
};

static void batch_cleanup(struct batch *b)
{
	for (size_t i = 0; i < b->count; i++)
		free(b->el[i].payload_text);
	free(b->el);
	json_object_put(b->body);
}

/* The array of tasks: the body itself or its "tasks" member. */
static json_object *task_array(json_object *body)
{
	json_object *list = body;

	if (json_object_is_type(body, json_type_object) &&
	    (!json_object_object_get_ex(body, "tasks", &list) || json_object_object_length(body) != 1))
		return NULL;
	return json_object_is_type(list, json_type_array) ? list : NULL;
}

/* Checks every element into b->el; false: it has answered (400 with the index). */
static bool check_elements(struct req *r, struct batch *b)
{
	struct taskq_err err;
	size_t n = json_object_array_length(b->list);
	char msg[300];

	if (n == 0 || n > settings_max_batch()) {
		snprintf(msg, sizeof msg, "a batch holds 1 to %zu tasks, not %zu", settings_max_batch(), n);
		resp_error_status(r, n == 0 ? 400 : 413, n == 0 ? "invalid_field" : "too_large", msg,
				  NULL);
		return false;
	}
	b->el = xcalloc(n, sizeof *b->el);
	for (size_t i = 0; i < n; i++, b->count++) {
		struct element *e = &b->el[i];
		json_object *o = json_object_array_get_idx(b->list, i);

		if (!json_object_is_type(o, json_type_object))
			err = (struct taskq_err){.rc = TASKQ_INVAL, .msg = "a task must be a JSON object"};
		else if (!taskjson_parse_submit(o, &e->n, &e->payload_text, &err) &&
			 !kindcache_check(r->db, e->n.kind, &err)) {
			long k = taskjson_after_forward(&e->n, i);
			e->n.owner = r->who.owner;
			if (k < 0)
				continue;
			taskq_fail(&err, TASKQ_INVAL,
				   "after[%ld] is not the index of an earlier task of the batch"
				   " (a task runs only after tasks that exist before it)",
				   k);
		}
		if (err.rc == TASKQ_DB_DOWN) {
			resp_error(r, err.rc, err.msg);
			return false;
		}
		snprintf(msg, sizeof msg, "tasks[%zu]: %s", i, err.msg);
		resp_error_at(r, err.rc, msg, (long)i);
		return false;
	}
	return true;
}

/* The array taskq.submit_many() takes: each element's checked fields, and its fair place. */
static json_object *normalized(struct batch *b)
{
	json_object *arr = json_object_new_array_ext((int)b->count);

	for (size_t i = 0; i < b->count; i++) {
		fair_prepare(&b->el[i].n, b->el[i].fair_at);
		json_object_array_add(arr, taskjson_batch_element(&b->el[i].n));
	}
	return arr;
}

/* The element an error of taskq.submit_many names ("tasks[3]: no such parent task …"), or -1. */
static long index_of(const char *msg)
{
	char *end;
	long i;

	if (strncmp(msg, "tasks[", 6) != 0)
		return -1;
	i = strtol(msg + 6, &end, 10);
	return end > msg + 6 && *end == ']' && i >= 0 ? i : -1;
}

/* 202 with the ids in order (200 when every one was a live duplicate of a dedupe key). */
static void answer(struct req *r, struct batch *b, struct batch_row *rows, int nrows)
{
	json_object *o = json_object_new_object(), *ids = json_object_new_array_ext(nrows);
	long created = 0;

	for (int i = 0; i < nrows; i++) {
		struct task t = {.run_at = rows[i].run_at};
		json_object_array_add(ids, json_object_new_string(rows[i].id));
		if (rows[i].created) {
			created++;
			fair_created(&b->el[i].n, &t);
		}
	}
	if (created > 0) {
		limits_created(r, created);
		wake_signal();
	}
	json_object_object_add(o, "ids", ids);
	json_object_object_add(o, "count", json_object_new_int(nrows));
	json_object_object_add(o, "created", json_object_new_int64(created));
	resp_json(r, created > 0 ? 202 : 200, o, NULL);
}

void h_task_submit_batch(struct req *r)
{
	struct batch b = {0};
	struct batch_row *rows = NULL;
	struct taskq_err err;
	json_object *arr = NULL;
	int nrows = 0;

	if (!body_read_json(r, &b.body))
		return;
	if (!(b.list = task_array(b.body))) {
		resp_error_status(r, 400, "invalid_field",
				  "the body must be a JSON array of tasks or {\"tasks\": [...]}", NULL);
		goto out;
	}
	if (!check_elements(r, &b) || !limits_admit_n(r, (long)b.count))
		goto out;
	arr = normalized(&b);
	/* an owner names only its own tasks as parents */
	if (store_submit_many(r->db, r->who.owner,
			      json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN),
			      r->who.admin ? NULL : r->who.owner, &rows, &nrows, &err)) {
		resp_error_at(r, err.rc, err.msg, index_of(err.msg));
		goto out;
	}
	if ((size_t)nrows != b.count) { /* the tasks are in: only the answer is short */
		log_error("event=batch_rows_short sent=%zu answered=%d", b.count, nrows);
		resp_error(r, TASKQ_INTERNAL, "internal error");
		goto out;
	}
	answer(r, &b, rows, nrows);
out:
	store_batch_free(rows, nrows);
	json_object_put(arr);
	batch_cleanup(&b);
}
