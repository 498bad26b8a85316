/* h_output: a task's streamed output. GET /api/tasks/{id}/output?after=SEQ&limit=N pages
 * through its chunks (the owner, an admin or the task's view token), and nchan's
 * authorisation of the output stream, GET /_taskq/authorize/out/{id} (internal; the
 * stream itself is nginx's: GET /api/tasks/{id}/output/stream, fcgi/bg/outpub.h). The chunks
 * are the worker's (worker/output.c); nothing here writes them. */
#include <json-c/json.h>

#include "auth.h"
#include "bg/outpub.h"
#include "handlers.h"
#include "params.h"
#include "query.h"
#include "resp.h"
#include "store/output.h"

/* The {id} of the route, visible to r, into t; answers the error and returns false. */
static bool output_task(struct req *r, struct task *t)
{
	struct taskq_err err;

	if (!task_id_valid(r->cap[0])) {
		resp_error(r, TASKQ_BAD_ID, "task id must be a UUID");
		return false;
	}
	if (visible_task(r, r->cap[0], t, &err)) {
		resp_error(r, err.rc, err.msg);
		return false;
	}
	return true;
}

/* {"chunks":[{"seq","attempt","data","at"(,"truncated")}],"next","last_seq",
 * "output_truncated"}: next is the seq to ask after for the following page (the last chunk's
 * seq, or `after` when there was none). */
void h_task_output(struct req *r)
{
	long long after = query_long(r->query, "after", 0);
	int limit = (int)query_long(r->query, "limit", PARAM_OUTPUT_DEFAULT), n = 0;
	struct out_chunk *c = NULL;
	struct task t = {0};
	struct taskq_err err;
	json_object *o, *arr;
	long long next = after;

	if (!output_task(r, &t))
		return;
	task_cleanup(&t);
	if (store_output_page(r->db, r->cap[0], after, limit, &c, &n, &err)) {
		resp_error(r, err.rc, err.msg);
		return;
	}
	o = json_object_new_object();
	arr = json_object_new_array();
	for (int i = 0; i < n; i++) {
		json_object *ch;
		if (c[i].seq == 0)
			continue;
		ch = json_object_new_object();
		json_object_object_add(ch, "seq", json_object_new_int64(c[i].seq));
		json_object_object_add(ch, "attempt", json_object_new_int(c[i].attempt));
		json_object_object_add(ch, "data", json_object_new_string(c[i].data));
		json_object_object_add(ch, "at", c[i].at ? json_object_new_string(c[i].at) : NULL);
		if (c[i].truncated)
			json_object_object_add(ch, "truncated", json_object_new_boolean(true));
		json_object_array_add(arr, ch);
		next = c[i].seq;
	}
	json_object_object_add(o, "chunks", arr);
	json_object_object_add(o, "next", json_object_new_int64(next));
	json_object_object_add(o, "last_seq", json_object_new_int64(n > 0 ? c[0].last_seq : 0));
	json_object_object_add(o, "output_truncated",
			       json_object_new_boolean(n > 0 && c[0].output_truncated));
	store_output_free(c, n);
	resp_json(r, 200, o, NULL);
}

/* 200 lets the subscriber in, after the channel was opened (outpub_subscribed); a resume
 * (Last-Event-ID) of a finished task's stream is refused with 410 stream_ended: the channel
 * ended after its last chunk, and what the subscriber may lack is GET /output's. */
void h_authorize_out(struct req *r)
{
	const char *last = req_param(r, "HTTP_LAST_EVENT_ID");
	char q[QUERY_MAX_VALUE + 1];
	struct task t = {0};

	if (!output_task(r, &t))
		return;
	if (task_state_final(t.state) && (last || query_get(r->query, "last_event_id", q))) {
		resp_error_status(r, 410, "stream_ended",
				  "the task is finished and its output stream ended; read the rest "
				  "with GET /api/tasks/{id}/output?after=SEQ",
				  NULL);
	} else {
		outpub_subscribed(&t, r->db);
		resp_json(r, 200, json_object_new_object(), NULL);
	}
	task_cleanup(&t);
}
