/* h_tasks: the /api/tasks routes. Each handler parses, validates, calls one store verb and
 * answers through resp; none holds a connection across anything slow. A submit's admission
 * (checks, limits, fair place, how it is stored) is fcgi/submit.c's, shared with h_batch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "bg/wake.h"
#include "bg/watch.h"
#include "fresh.h"
#include "body.h"
#include "handlers.h"
#include "query.h"
#include "replica.h"
#include "resp.h"
#include "search.h"
#include "served.h"
#include "settings.h"
#include "store/tasks.h"
#include "submit.h"
#include "model/taskjson.h"
#include "viewauth.h"

#define LIST_DEFAULT 50

const char *path_id(struct req *r)
{
	if (!task_id_valid(r->cap[0])) {
		resp_error(r, TASKQ_BAD_ID, "task id must be a UUID");
		return NULL;
	}
	return r->cap[0];
}

/* Reads task id for r: TASKQ_NOTFOUND also for another owner's task, so that ids do not
 * reveal that a task exists. (handlers.h) */
enum taskq_rc visible_task(struct req *r, const char *id, struct task *t, struct taskq_err *err)
{
	enum taskq_rc rc = store_get(r->db, id, t, err);

	if (rc == TASKQ_OK && !auth_sees(r, t)) {
		task_cleanup(t);
		memset(t, 0, sizeof *t);
		return taskq_fail(err, TASKQ_NOTFOUND, STORE_NO_TASK);
	}
	return rc;
}

/* visible_task for a status read: from the replica when it can (replica.h), at least as new
 * as the version the client names. */
static enum taskq_rc visible_read(struct req *r, const char *id, long long known, struct task *t,
				  struct taskq_err *err)
{
	enum taskq_rc rc = replica_get(r, id, known, t, err);

	if (rc == TASKQ_OK && !auth_sees(r, t)) {
		task_cleanup(t);
		memset(t, 0, sizeof *t);
		return taskq_fail(err, TASKQ_NOTFOUND, STORE_NO_TASK);
	}
	return rc;
}

bool may_act(struct req *r, const char *id)
{
	struct task t = {0};
	struct taskq_err err;

	if (r->who.admin)
		return true;
	if (visible_task(r, id, &t, &err)) {
		resp_error(r, err.rc, err.msg);
		return false;
	}
	task_cleanup(&t);
	return true;
}

void h_task_submit(struct req *r)
{
	json_object *body, *o;
	struct submit_task s = {0};
	struct task t = {0};
	struct taskq_err err;
	bool created;

	if (!body_read_json(r, &body))
		return;
	if (submit_check(r, body, -1, &s, &err)) {
		resp_error(r, err.rc, err.msg);
		goto out;
	}
	if (!submit_admit(r, &s, 1))
		goto out;
	if (submit_store(r, &s, &t, &created, &err)) {
		resp_error(r, err.rc, err.msg);
		goto out;
	}
	if (created) {
		const char *ids[1] = {t.id};
		submit_created(&s, &t);
		submit_done(r, ids, 1);
	}
	served_refresh(r->db);
	o = served_task_json(&t);
	viewauth_add(r, o, t.id, settings_view_ttl());
	resp_task_json(r, created ? 202 : 200, &t, o, 1);
out:
	task_cleanup(&t);
	submit_task_cleanup(&s);
	json_object_put(body);
}

void h_task_get(struct req *r)
{
	struct task t = {0};
	struct taskq_err err;
	const char *id = path_id(r), *inm = req_param(r, "HTTP_IF_NONE_MATCH");
	long wait = query_long(r->query, "wait", 0); /* 0..30, checked (fcgi/params.c) */
	bool fresh;
	uint64_t since = fresh_begin();

	if (!id)
		return;
	if (wait == 0 && fresh_not_modified(r, id, inm, &t.version)) {
		resp_not_modified(r, t.version);
		return;
	}
	/* a long-poll parks on the primary's version; a plain read may come from the replica */
	if (wait > 0 ? visible_task(r, id, &t, &err)
		     : visible_read(r, id, replica_known_version(inm), &t, &err)) {
		resp_error(r, err.rc, err.msg);
		return;
	}
	if (!r->rdb)
		fresh_put(&t, since); /* read from the primary */
	fresh = etag_names(inm, t.version);
	/* a long-poll waits while the client's version (or, without one, this one) is current */
	if (wait > 0 && (fresh || !inm) && !task_state_final(t.state)) {
		if (watch_park(r, id, t.version, (double)wait, fresh)) {
			r->parked = true;
			task_cleanup(&t);
			return;
		}
		resp_error_status(r, 429, "too_many_waiters",
				  "too many long-polls at once; poll again shortly",
				  "Retry-After: 1\r\n");
	} else if (fresh) {
		resp_not_modified(r, t.version);
	} else {
		if (t.state == TASK_QUEUED)
			served_refresh(r->db);
		resp_task(r, 200, &t, 0);
	}
	task_cleanup(&t);
}

void h_task_history(struct req *r)
{
	struct task_event *ev;
	struct task t = {0};
	struct taskq_err err;
	const char *id = path_id(r);
	int n;

	if (!id)
		return;
	/* 404 for an unknown task, not an empty history */
	if (visible_task(r, id, &t, &err) || store_history(r->db, id, &ev, &n, &err)) {
		resp_error(r, err.rc, err.msg);
		task_cleanup(&t);
		return;
	}
	task_cleanup(&t);
	resp_json(r, 200, taskjson_encode_events(ev, n), NULL);
	task_events_free(ev, n);
}

void h_task_cancel(struct req *r)
{
	struct task t = {0};
	struct taskq_err err;
	enum cancel_outcome oc;
	const char *id = path_id(r);

	if (!id || !may_act(r, id))
		return;
	if (store_cancel(r->db, id, &t, &oc, &err)) {
		resp_error(r, err.rc, err.msg);
		return;
	}
	if (oc == CANCEL_FINISHED) {
		snprintf(err.msg, sizeof err.msg, "task already %s", task_state_name(t.state));
		resp_error(r, TASKQ_CONFLICT, err.msg);
	} else {
		resp_task(r, oc == CANCEL_DONE ? 200 : 202, &t, 0);
	}
	task_cleanup(&t);
}

/* A verb that moves one task of r's (retry, hold, release): answers with the task, and
 * wakes the workers when it may have become claimable (wake). */
static void task_verb(struct req *r,
		      enum taskq_rc (*verb)(struct db *, const char *, struct task *,
					    struct taskq_err *),
		      bool wake)
{
	struct task t = {0};
	struct taskq_err err;
	const char *id = path_id(r);

	if (!id || !may_act(r, id))
		return;
	if (verb(r->db, id, &t, &err))
		resp_error(r, err.rc, err.msg);
	else {
		if (wake)
			wake_signal();
		served_refresh(r->db);
		resp_task(r, 200, &t, 0);
	}
	task_cleanup(&t);
}

void h_task_retry(struct req *r)
{
	task_verb(r, store_retry, true);
}

void h_task_hold(struct req *r)
{
	task_verb(r, store_hold, false);
}

void h_task_release(struct req *r)
{
	task_verb(r, store_release_hold, true);
}

/* The optional body of POST /api/tasks/{id}/view_token: {"ttl_s": 1…VIEW_TTL_MAX_S,
 * "cancel": bool, "signal": bool}. false: it answered 400 (or 411/413/415 from
 * body_read_json). */
static bool view_token_args(struct req *r, long *ttl_s, bool *cancel, bool *signal)
{
	const char *cl = req_param(r, "CONTENT_LENGTH");
	json_object *body;
	const char *bad = NULL;

	if (!cl || !*cl || !strcmp(cl, "0"))
		return true;
	if (!body_read_json(r, &body))
		return false;
	if (!json_object_is_type(body, json_type_object)) {
		resp_error(r, TASKQ_INVAL, "the body must be a JSON object");
		json_object_put(body);
		return false;
	}
	json_object_object_foreach(body, key, val) {
		int64_t v;
		if (!strcmp(key, "ttl_s") && json_object_is_type(val, json_type_int) &&
		    (v = json_object_get_int64(val)) >= 1 && v <= VIEW_TTL_MAX_S)
			*ttl_s = (long)v;
		else if (!strcmp(key, "cancel") && json_object_is_type(val, json_type_boolean))
			*cancel = json_object_get_boolean(val);
		else if (!strcmp(key, "signal") && json_object_is_type(val, json_type_boolean))
			*signal = json_object_get_boolean(val);
		else
			bad = !strcmp(key, "ttl_s")
				      ? "ttl_s must be a whole number of seconds, 1 to 2592000"
			      : !strcmp(key, "cancel") ? "cancel must be true or false"
			      : !strcmp(key, "signal")
				      ? "signal must be true or false"
				      : "the fields here are ttl_s, cancel and signal";
		if (bad)
			break;
	}
	json_object_put(body);
	if (bad)
		resp_error(r, TASKQ_INVAL, bad);
	return !bad;
}

void h_task_view_token(struct req *r)
{
	struct task t = {0};
	struct taskq_err err;
	const char *id = path_id(r);
	long ttl_s = settings_view_ttl() > 0 ? settings_view_ttl() : 3600;
	bool cancel = false, signal = false;
	long long expires;
	char tok[VIEW_TOKEN_LEN + 1], at[32];
	struct tm tm;
	time_t e;
	json_object *o;

	if (!id || !view_token_args(r, &ttl_s, &cancel, &signal))
		return;
	if (visible_task(r, id, &t, &err)) {
		resp_error(r, err.rc, err.msg);
		return;
	}
	if (!viewauth_sign(r, t.id, ttl_s, cancel, signal, tok, &expires)) {
		resp_error(r, TASKQ_DB_DOWN, "no view key");
		task_cleanup(&t);
		return;
	}
	e = (time_t)expires;
	strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&e, &tm));
	o = json_object_new_object();
	json_object_object_add(o, "task", json_object_new_string(t.id));
	json_object_object_add(o, "view_token", json_object_new_string(tok));
	json_object_object_add(o, "cancel", json_object_new_boolean(cancel));
	json_object_object_add(o, "signal", json_object_new_boolean(signal));
	json_object_object_add(o, "expires_at", json_object_new_string(at));
	resp_json(r, 200, o, NULL);
	task_cleanup(&t);
}

void h_task_list(struct req *r)
{
	/* the parameters are checked (fcgi/params.c): here they are only read */
	struct search_args a;
	struct task_list l = {0};
	struct taskq_err err;
	json_object *o;

	if (!search_read(r, r->query, LIST_DEFAULT, &a))
		return;
	if (store_list(r->db, &a.f, &l, &err)) {
		resp_error(r, err.rc, err.msg);
		return;
	}
	if (served_any_queued(&l))
		served_refresh(r->db);
	o = json_object_new_object();
	json_object_object_add(o, "tasks", served_task_list_json(&l));
	json_object_object_add(
		o, "next",
		(int)l.n == a.f.limit && l.n > 0 ? json_object_new_string(l.v[l.n - 1].id) : NULL);
	resp_json(r, 200, o, NULL);
	task_list_cleanup(&l);
}
