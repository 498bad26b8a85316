/* h_signals: the signal routes: POST /api/tasks/{id}/signals/{name} (an owner, an admin, or
 * a view token that may signal), POST /api/tasks/{id}/signal_token (mints a one-time signal
 * link) and POST /api/signals/{token} (a link's use: no bearer token, the link is the
 * capability). Each parses, checks, calls one store verb (lib/store/signals.c) and answers
 * through resp; what a signal does is sql/functions/signals.sql's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"
#include "bg/wake.h"
#include "body.h"
#include "handlers.h"
#include "model/signal.h"
#include "resp.h"
#include "store/signals.h"
#include "viewauth.h"

#define SIGNAL_LINK_TTL_S 86400 /* a link's lifetime when the request names none */
#define SIGNAL_TOKEN_LEN 46     /* "ts_" + 43 characters of base64url */

/* True when the request has a body (a Content-Length above 0). */
static bool has_body(struct req *r)
{
	const char *cl = req_param(r, "CONTENT_LENGTH");

	return cl && *cl && strcmp(cl, "0") != 0;
}

/* The optional JSON body of a signal, its payload, at most SIGNAL_PAYLOAD_MAX bytes: *text
 * receives it as JSON text (the caller frees it) or NULL for none. false: it answered. */
static bool read_payload(struct req *r, char **text)
{
	json_object *body;
	char *end;
	const char *cl = req_param(r, "CONTENT_LENGTH");

	*text = NULL;
	if (!has_body(r))
		return true;
	if (strtol(cl, &end, 10) > SIGNAL_PAYLOAD_MAX || *end) {
		if (!*end)
			resp_error(r, TASKQ_TOO_BIG, "a signal's payload is at most 65536 bytes");
		else
			resp_error_status(r, 400, "invalid_field", "Content-Length is not a number",
					  NULL);
		return false;
	}
	if (!body_read_json(r, &body))
		return false;
	*text = xstrdup(json_object_to_json_string_ext(
		body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(body);
	return true;
}

/* Answers a signal's outcome: 202 with the task, or 409 once it is final. */
static void answer(struct req *r, enum signal_outcome oc, const struct task *t)
{
	char msg[96];

	if (oc == SIGNAL_FINAL) {
		snprintf(msg, sizeof msg, "task already %s: it takes no more signals",
			 task_state_name(t->state));
		resp_error(r, TASKQ_CONFLICT, msg);
		return;
	}
	if (oc == SIGNAL_RESUMED)
		wake_signal();
	resp_task(r, 202, t, 0);
}

void h_task_signal(struct req *r)
{
	const char *id = path_id(r), *name = r->cap[1];
	struct task t = {0};
	struct taskq_err err;
	enum signal_outcome oc;
	char *payload = NULL;

	if (!id)
		return;
	if (!signal_name_valid(name)) {
		resp_error(r, TASKQ_INVAL, "signal names are " SIGNAL_NAME_RULE);
		return;
	}
	if (!may_act(r, id) || !read_payload(r, &payload))
		return;
	if (store_signal(r->db, id, name, payload, &t, &oc, &err))
		resp_error(r, err.rc, err.msg);
	else
		answer(r, oc, &t);
	free(payload);
	task_cleanup(&t);
}

/* The body of POST /api/tasks/{id}/signal_token: {"name", "expires_s"?}. false: it answered. */
static bool token_args(struct req *r, char *name, size_t size, long *expires_s)
{
	json_object *body, *v;
	const char *bad = NULL;

	if (!body_read_json(r, &body))
		return false;
	if (!json_object_is_type(body, json_type_object))
		bad = "the body must be a JSON object: {\"name\", \"expires_s\"}";
	else if (!json_object_object_get_ex(body, "name", &v) ||
		 !json_object_is_type(v, json_type_string) ||
		 !signal_name_valid(json_object_get_string(v)))
		bad = "name must be a signal name: " SIGNAL_NAME_RULE;
	else
		snprintf(name, size, "%s", json_object_get_string(v));
	if (!bad && json_object_object_get_ex(body, "expires_s", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		int64_t e = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || e < 1 || e > VIEW_TTL_MAX_S)
			bad = "expires_s must be a whole number of seconds, 1 to 2592000";
		else
			*expires_s = (long)e;
	}
	if (!bad) {
		json_object_object_foreach(body, key, val) {
			(void)val;
			if (strcmp(key, "name") && strcmp(key, "expires_s"))
				bad = "the fields here are name and expires_s";
		}
	}
	json_object_put(body);
	if (bad)
		resp_error(r, TASKQ_INVAL, bad);
	return !bad;
}

void h_task_signal_token(struct req *r)
{
	const char *id = path_id(r);
	char name[SIGNAL_NAME_MAX + 1], at[32], path[80];
	long expires_s = SIGNAL_LINK_TTL_S;
	char *token = NULL;
	struct taskq_err err;
	time_t e;
	struct tm tm;
	json_object *o;

	if (!id || !may_act(r, id) || !token_args(r, name, sizeof name, &expires_s))
		return;
	if (store_signal_token(r->db, id, name, expires_s, &token, &err)) {
		resp_error(r, err.rc, err.msg);
		return;
	}
	e = time(NULL) + expires_s;
	strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&e, &tm));
	snprintf(path, sizeof path, "/api/signals/%s", token);
	o = json_object_new_object();
	json_object_object_add(o, "task", json_object_new_string(id));
	json_object_object_add(o, "signal", json_object_new_string(name));
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "url", json_object_new_string(path));
	json_object_object_add(o, "expires_at", json_object_new_string(at));
	resp_json(r, 200, o, NULL);
	free(token);
}

/* True when s has the shape of a signal link's token: "ts_" and 43 base64url characters. */
static bool token_like(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n != SIGNAL_TOKEN_LEN || strncmp(s, "ts_", 3) != 0)
		return false;
	for (size_t i = 3; i < n; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
			    s[i]))
			return false;
	return true;
}

void h_signal_link(struct req *r)
{
	const char *token = r->cap[0];
	struct task t = {0};
	struct taskq_err err;
	enum signal_outcome oc = SIGNAL_INVALID;
	char *payload = NULL;

	if (!token_like(token)) {
		resp_error_status(r, 401, "invalid_token", "this signal link is not valid", NULL);
		return;
	}
	if (!read_payload(r, &payload))
		return;
	if (store_signal_by_token(r->db, token, payload, &t, &oc, &err))
		resp_error(r, err.rc, err.msg);
	else if (oc == SIGNAL_INVALID)
		resp_error_status(r, 401, "invalid_token", "this signal link is unknown or expired",
				  NULL);
	else if (oc == SIGNAL_USED)
		resp_error(r, TASKQ_CONFLICT, "this signal link was used already");
	else if (oc == SIGNAL_FINAL)
		answer(r, oc, &t);
	else {
		/* the link's bearer learns what became of its signal, not the task's data */
		json_object *o = json_object_new_object();
		json_object_object_add(o, "task", json_object_new_string(t.id));
		json_object_object_add(o, "state",
				       json_object_new_string(task_state_name(t.state)));
		json_object_object_add(o, "resumed", json_object_new_boolean(oc == SIGNAL_RESUMED));
		if (oc == SIGNAL_RESUMED)
			wake_signal();
		resp_json(r, 202, o, NULL);
	}
	free(payload);
	task_cleanup(&t);
}
