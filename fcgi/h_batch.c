/*
 * h_batch: POST /api/tasks/batch, many tasks in one request and one statement. The body is a
 * JSON array of task objects (each as POST /api/tasks takes it) or {"tasks": [...]}; up to
 * --max-batch of them. Every element is checked before anything is inserted: a bad one
 * rejects the whole batch with its index ({"error":{..., "index": i}}), and nothing lands.
 * The answer lists the ids in the order of the array. Admission is fcgi/submit.c's, shared
 * with POST /api/tasks; this file reads the array and shapes the answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "handlers.h"
#include "base/log.h"
#include "resp.h"
#include "settings.h"
#include "store/batch.h"
#include "submit.h"
#include "base/xalloc.h"

struct batch {
	json_object *body, *list;
	struct submit_task *el; /* count of them, checked */
	size_t count, cap;
};

static void batch_cleanup(struct batch *b)
{
	for (size_t i = 0; i < b->cap; i++)
		submit_task_cleanup(&b->el[i]);
	free(b->el);
	json_object_put(b->body);
}

/* The array of tasks: the body itself or its "tasks" member. */
static json_object *task_array(json_object *body)
{
	json_object *list = body;

	if (json_object_is_type(body, json_type_object) &&
	    (!json_object_object_get_ex(body, "tasks", &list) ||
	     json_object_object_length(body) != 1))
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
		snprintf(msg, sizeof msg, "a batch holds 1 to %zu tasks, not %zu",
			 settings_max_batch(), n);
		resp_error_status(r, n == 0 ? 400 : 413, n == 0 ? "invalid_field" : "too_large",
				  msg, NULL);
		return false;
	}
	b->el = xcalloc(n, sizeof *b->el);
	b->cap = n;
	for (size_t i = 0; i < n; i++, b->count++) {
		json_object *o = json_object_array_get_idx(b->list, i);

		if (!json_object_is_type(o, json_type_object))
			err = (struct taskq_err){.rc = TASKQ_INVAL,
						 .msg = "a task must be a JSON object"};
		else if (submit_check(r, o, (long)i, &b->el[i], &err) == TASKQ_OK)
			continue;
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
	const char **made = xcalloc((size_t)nrows + 1, sizeof *made);
	long created = 0;

	for (int i = 0; i < nrows; i++) {
		struct task t = {.run_at = rows[i].run_at};
		json_object_array_add(ids, json_object_new_string(rows[i].id));
		if (rows[i].created) {
			made[created++] = rows[i].id;
			submit_created(&b->el[i], &t);
		}
	}
	if (created > 0)
		submit_done(r, made, created);
	free(made);
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
	int nrows = 0;

	if (!body_read_json(r, &b.body))
		return;
	if (!(b.list = task_array(b.body))) {
		resp_error_status(r, 400, "invalid_field",
				  "the body must be a JSON array of tasks or {\"tasks\": [...]}",
				  NULL);
		goto out;
	}
	if (!check_elements(r, &b) || !submit_admit(r, b.el, b.count))
		goto out;
	if (submit_store_batch(r, b.el, b.count, &rows, &nrows, &err)) {
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
	batch_cleanup(&b);
}
