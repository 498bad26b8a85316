/* h_stream: nchan's authorisation subrequests. nginx asks once per subscription, before it
 * holds the stream: GET /_taskq/authorize/task/{id} (an internal location, never reachable
 * from outside) and GET /_taskq/authorize/stream for the live feed. 200 lets the subscriber in
 * (after publishing the task's current state, which nchan hands it first); 400/404 keep it out.
 * Owners and tokens come with authentication. */
#include <json-c/json.h>

#include "handlers.h"
#include "publish.h"
#include "resp.h"
#include "store.h"

void h_authorize_task(struct req *r)
{
	struct task t = {0};
	struct taskq_err err;

	if (!task_id_valid(r->cap[0])) {
		resp_error(r, TASKQ_BAD_ID, "task id must be a UUID");
		return;
	}
	if (store_get(r->db, r->cap[0], &t, &err)) {
		resp_error(r, err.rc, err.msg);
		return;
	}
	publish_subscribed(&t, req_param(r, "HTTP_LAST_EVENT_ID") != NULL, r->db);
	task_cleanup(&t);
	resp_json(r, 200, json_object_new_object(), NULL);
}

void h_authorize_stream(struct req *r)
{
	publish_feed_subscribed();
	resp_json(r, 200, json_object_new_object(), NULL);
}
