/* h_stream: nchan's authorisation subrequests, and who the caller is. nginx asks once per
 * subscription, before it holds the stream, passing the subscriber's own headers (its
 * Authorization header or cookies; its query string in X-Original-URI, see req_init):
 * GET /_taskq/authorize/task/{id} (an internal location, never reachable from outside),
 * GET /_taskq/authorize/stream for the feed of all tasks (admins) and
 * GET /_taskq/authorize/stream/{owner} for one owner's feed. 200 lets the
 * subscriber in (after publishing the task's current state, which nchan hands it first);
 * 401/403/404 keep it out, with the same JSON error the API gives. */
#include <json-c/json.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "bg/change.h"
#include "bg/publish.h"
#include "handlers.h"
#include "resp.h"
#include "served.h"
#include "store/tasks.h"
#include "cred/token.h"

void h_authorize_task(struct req *r)
{
	const char *last = req_param(r, "HTTP_LAST_EVENT_ID");
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
	if (!auth_sees(r, &t)) {
		resp_error(r, TASKQ_NOTFOUND, STORE_NO_TASK);
	} else if (task_state_final(t.state) && change_saw_end(last, t.finished_at)) {
		resp_error_status(r, 410, "stream_ended",
				  "the task is finished and its stream sent the final state", NULL);
	} else {
		if (t.state == TASK_QUEUED)
			served_refresh(r->db);
		publish_subscribed(&t, last != NULL, r->db);
		resp_json(r, 200, json_object_new_object(), NULL);
	}
	task_cleanup(&t);
}

void h_authorize_stream(struct req *r)
{
	if (!r->who.admin) {
		resp_error_status(
			r, 403, "forbidden",
			"the feed of all tasks is for admins; subscribe to /api/stream/{owner}",
			NULL);
		return;
	}
	publish_feed_subscribed(NULL, r->db);
	resp_json(r, 200, json_object_new_object(), NULL);
}

void h_authorize_owner_stream(struct req *r)
{
	const char *owner = r->cap[0];

	if (!token_owner_valid(owner)) {
		resp_error(r, TASKQ_INVAL, "not an owner name");
		return;
	}
	if (!r->who.admin && strcmp(owner, r->who.owner) != 0) {
		resp_error_status(r, 403, "forbidden", "a token sees only its own owner's feed",
				  NULL);
		return;
	}
	publish_feed_subscribed(owner, r->db);
	resp_json(r, 200, json_object_new_object(), NULL);
}

/* GET /api/me: {"owner","admin","read_only","auth"} (a read-only token: admin and read_only,
 * it sees all and changes nothing) — what the dashboard needs to pick its feed; for a
 * view token also {"view":{"task","cancel","signal","expires_in_s"}}. */
void h_me(struct req *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "owner", json_object_new_string(r->who.owner));
	json_object_object_add(o, "admin", json_object_new_boolean(r->who.admin));
	json_object_object_add(o, "read_only", json_object_new_boolean(r->who.read_only));
	json_object_object_add(o, "auth", json_object_new_boolean(auth_on()));
	if (r->who.view) {
		json_object *v = json_object_new_object();
		json_object_object_add(v, "task", json_object_new_string(r->who.view_task));
		json_object_object_add(v, "cancel", json_object_new_boolean(r->who.view_cancel));
		json_object_object_add(v, "signal", json_object_new_boolean(r->who.view_signal));
		json_object_object_add(
			v, "expires_in_s",
			json_object_new_int64(r->who.view_expires - (long long)time(NULL)));
		json_object_object_add(o, "view", v);
	}
	resp_json(r, 200, o, NULL);
}
