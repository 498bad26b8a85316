/* taskjson: task ↔ JSON with json-c. */
#include "model/taskjson.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "model/jsondup.h"
#include "model/jsontext.h"
#include "model/record.h"
#include "model/signal.h"

/* ---- encoding ------------------------------------------------------------------------ */

static void add_str(json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, val ? json_object_new_string(val) : NULL);
}

json_object *taskjson_encode(const struct task *t)
{
	json_object *o = json_object_new_object();

	record_to_json(&task_record, t, o);
	json_object_object_add(o, "blocked", json_object_new_boolean(task_blocked(t)));
	json_object_object_add(o, "warning", NULL);
	return o;
}

void taskjson_note_unserved(json_object *o, const struct task *t)
{
	char text[200];

	if (t->state != TASK_QUEUED || !t->queue)
		return;
	task_unserved_warning(t->queue, text, sizeof text);
	json_object_object_add(o, "warning", json_object_new_string(text));
}

char *taskjson_ids_from_pg(const char *s)
{
	size_t len = strlen(s);
	char *out = xmalloc(len + 2 * (len / (TASK_ID_LEN + 1) + 1) + 3), *o = out;

	/* ids need no quoting in PostgreSQL's array output, nor in JSON; anything else is left out */
	*o++ = '[';
	for (const char *p = s + (*s == '{'); *p && *p != '}';) {
		size_t n = strcspn(p, ",}");
		char id[TASK_ID_LEN + 1];

		if (n == TASK_ID_LEN) {
			memcpy(id, p, n);
			id[n] = '\0';
			if (task_id_valid(id)) {
				if (o > out + 1)
					*o++ = ',';
				*o++ = '"';
				memcpy(o, id, n);
				o += n;
				*o++ = '"';
			}
		}
		p += n + (p[n] == ',');
	}
	*o++ = ']';
	*o = '\0';
	return out;
}

json_object *taskjson_encode_list(const struct task_list *l,
				  json_object *(*encode)(const struct task *t))
{
	json_object *a = json_object_new_array_ext((int)l->n);

	for (size_t i = 0; i < l->n; i++)
		json_object_array_add(a, encode(&l->v[i]));
	return a;
}

json_object *taskjson_encode_queues(const struct queue_stat *q, int n)
{
	json_object *arr = json_object_new_array_ext(n), *o = json_object_new_object();

	for (int i = 0; i < n; i++) {
		json_object *row = json_object_new_object(), *counts = json_object_new_object();
		for (int s = 0; s < TASK_STATES; s++)
			json_object_object_add(counts, task_state_name((enum task_state)s),
					       json_object_new_int64(q[i].count[s]));
		add_str(row, "queue", q[i].queue);
		json_object_object_add(row, "counts", counts);
		json_object_object_add(row, "oldest_queued_s",
				       q[i].oldest_queued_s >= 0
					       ? json_object_new_double(q[i].oldest_queued_s)
					       : NULL);
		json_object_object_add(row, "finished_last_minute",
				       json_object_new_int64(q[i].finished_last_minute));
		json_object_object_add(row, "delayed", json_object_new_int64(q[i].delayed));
		json_object_object_add(row, "blocked", json_object_new_int64(q[i].blocked));
		json_object_object_add(row, "workers", json_object_new_int64(q[i].workers));
		json_object_object_add(row, "aging_s",
				       q[i].aging_s > 0 ? json_object_new_double(q[i].aging_s)
							: NULL);
		json_object_object_add(row, "paused", json_object_new_boolean(q[i].paused));
		if (q[i].workers == 0 && q[i].count[TASK_QUEUED] > 0) {
			char text[200];
			task_unserved_warning(q[i].queue, text, sizeof text);
			json_object_object_add(row, "warning", json_object_new_string(text));
		} else {
			json_object_object_add(row, "warning", NULL);
		}
		json_object_array_add(arr, row);
	}
	json_object_object_add(o, "queues", arr);
	return o;
}

void taskjson_add_throttles(json_object *o, const struct throttle_stat *t, int n)
{
	json_object_object_add(o, "throttled", records_to_json(&throttle_record, t, n, sizeof *t));
}

json_object *taskjson_encode_events(const struct task_event *e, int n)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "events", records_to_json(&task_event_record, e, n, sizeof *e));
	return o;
}

/* ---- parsing ------------------------------------------------------------------------- */

enum taskq_rc taskjson_parse(const char *text, size_t len, json_object **out, struct taskq_err *err)
{
	json_tokener *tok;
	json_object *v;
	enum json_tokener_error jerr;
	enum taskq_rc rc;
	size_t end;

	*out = NULL;
	if (memchr(text, '\0', len))
		return taskq_fail(err, TASKQ_BAD_JSON, "body contains a NUL byte");
	tok = json_tokener_new_ex(TASKJSON_MAX_DEPTH);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	v = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_continue || (!v && jerr == json_tokener_success)) {
		json_object_put(v);
		return taskq_fail(err, TASKQ_BAD_JSON, "body is not complete JSON");
	}
	if (jerr != json_tokener_success) {
		return taskq_fail(err, TASKQ_BAD_JSON, "invalid JSON at byte %zu: %s", end,
				  json_tokener_error_desc(jerr));
	}
	while (end < len && strchr(" \t\r\n", text[end]))
		end++;
	if (end < len) {
		json_object_put(v);
		return taskq_fail(err, TASKQ_BAD_JSON,
				  "unexpected bytes after the JSON value at byte %zu", end);
	}
	if ((rc = jsontext_check(text, len, err)) != TASKQ_OK ||
	    (rc = jsondup_check(text, len, v, err)) != TASKQ_OK) {
		json_object_put(v);
		return rc;
	}
	*out = v;
	return TASKQ_OK;
}

static enum taskq_rc get_name(json_object *v, const char *field, const char **out,
			      struct taskq_err *err)
{
	if (!json_object_is_type(v, json_type_string))
		return taskq_fail(err, TASKQ_INVAL, "%s must be a string", field);
	if (!task_name_valid(json_object_get_string(v)))
		return taskq_fail(
			err, TASKQ_INVAL,
			"%s must be 1-64 characters of letters, digits, '_', '.', ':' or '-'",
			field);
	*out = json_object_get_string(v);
	return TASKQ_OK;
}

/* An optional string: null gives *out NULL and *n -1; another type than a string fails. */
static enum taskq_rc get_opt_string(json_object *v, const char *field, const char **out, int *n,
				    struct taskq_err *err)
{
	*out = NULL;
	*n = -1;
	if (json_object_is_type(v, json_type_null))
		return TASKQ_OK;
	if (!json_object_is_type(v, json_type_string))
		return taskq_fail(err, TASKQ_INVAL, "%s must be a string", field);
	*out = json_object_get_string(v);
	*n = json_object_get_string_len(v);
	return TASKQ_OK;
}

static enum taskq_rc get_key(json_object *v, const char *field, const char **out,
			     struct taskq_err *err)
{
	int n;
	enum taskq_rc rc = get_opt_string(v, field, out, &n, err);

	if (rc == TASKQ_OK && *out && (n < 1 || n > 200))
		return taskq_fail(err, TASKQ_INVAL, "%s must be 1-200 bytes long", field);
	return rc;
}

static enum taskq_rc get_url(json_object *v, const char *field, const char **out,
			     struct taskq_err *err)
{
	const char *s;
	int n;
	enum taskq_rc rc = get_opt_string(v, field, &s, &n, err);

	*out = NULL;
	if (rc != TASKQ_OK || !s)
		return rc;
	if (n > 2048 || (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0))
		return taskq_fail(err, TASKQ_INVAL,
				  "%s must be an http:// or https:// URL of at most 2048 bytes",
				  field);
	/* no spaces, controls or quotes: a URL has them percent-encoded */
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '\\' || *p == '<' || *p == '>')
			return taskq_fail(
				err, TASKQ_INVAL,
				"%s must not hold spaces, control characters, quotes or <>", field);
	*out = s;
	return TASKQ_OK;
}

static enum taskq_rc get_int(json_object *v, const char *field, long lo, long hi, int *out,
			     struct taskq_err *err)
{
	int64_t x;
	if (!json_object_is_type(v, json_type_int))
		return taskq_fail(err, TASKQ_INVAL, "%s must be an integer", field);
	x = json_object_get_int64(v);
	if (x < lo || x > hi)
		return taskq_fail(err, TASKQ_INVAL, "%s must be between %ld and %ld", field, lo,
				  hi);
	*out = (int)x;
	return TASKQ_OK;
}

/* after: an array of 1..TASK_AFTER_MAX task ids (UUID strings) and indexes of earlier tasks
 * of a batch (integers >= 0; n->after_index says there is one), or null for none. */
static enum taskq_rc get_after(json_object *v, struct task_new *n, struct taskq_err *err)
{
	size_t len;

	if (json_object_is_type(v, json_type_null)) {
		n->after = NULL;
		return TASKQ_OK;
	}
	if (!json_object_is_type(v, json_type_array) || (len = json_object_array_length(v)) < 1 ||
	    len > TASK_AFTER_MAX)
		return taskq_fail(err, TASKQ_INVAL, "after must be an array of 1 to %d task ids",
				  TASK_AFTER_MAX);
	n->after_index = false;
	for (size_t i = 0; i < len; i++) {
		json_object *e = json_object_array_get_idx(v, i);

		if (json_object_is_type(e, json_type_int) && json_object_get_int64(e) >= 0 &&
		    json_object_get_int64(e) < TASKJSON_MAX_INDEX) {
			n->after_index = true;
			continue;
		}
		if (!json_object_is_type(e, json_type_string) ||
		    !task_id_valid(json_object_get_string(e)))
			return taskq_fail(
				err, TASKQ_INVAL,
				"after[%zu] must be a task id (or, in a batch, the index of an earlier task)",
				i);
	}
	n->after = v;
	return TASKQ_OK;
}

static bool flow_field(const char *key)
{
	return !strcmp(key, "debounce_ms") || !strcmp(key, "max_delay_ms") ||
	       !strcmp(key, "start_by_s") || !strcmp(key, "on_conflict");
}

/* A field that must be one of two words (on_conflict: "keep" or "supersede"; after_policy:
 * "success" or "always"); *second receives whether it is the second. */
static enum taskq_rc get_either(json_object *v, const char *field, const char *first,
				const char *second, bool *is_second, struct taskq_err *err)
{
	const char *s = json_object_get_string(v);

	if (!json_object_is_type(v, json_type_string) || (strcmp(s, first) && strcmp(s, second)))
		return taskq_fail(err, TASKQ_INVAL, "%s must be \"%s\" or \"%s\"", field, first,
				  second);
	*is_second = !strcmp(s, second);
	return TASKQ_OK;
}

/* The rules between flow-control fields (the same as taskq.flow_refusal, sql/functions/flow.sql). */
static enum taskq_rc check_flow(const struct task_new *n, struct taskq_err *err)
{
	if (n->debounce_ms >= 0 && !n->dedupe_key)
		return taskq_fail(
			err, TASKQ_INVAL,
			"debounce_ms needs a dedupe_key (the key of the task it debounces)");
	if (n->supersede && !n->dedupe_key)
		return taskq_fail(
			err, TASKQ_INVAL,
			"on_conflict \"supersede\" needs a dedupe_key (the key of the task"
			" it supersedes)");
	if (n->max_delay_ms >= 0 && n->debounce_ms < 0)
		return taskq_fail(err, TASKQ_INVAL, "max_delay_ms needs debounce_ms");
	if (n->max_delay_ms >= 0 && n->max_delay_ms < n->debounce_ms)
		return taskq_fail(err, TASKQ_INVAL,
				  "max_delay_ms must not be less than debounce_ms");
	if (n->debounce_ms >= 0 && n->delay_s > 0)
		return taskq_fail(err, TASKQ_INVAL,
				  "debounce_ms sets the delay: leave delay_s out");
	if (n->debounce_ms >= 0 && n->supersede)
		return taskq_fail(err, TASKQ_INVAL,
				  "debounce_ms and on_conflict \"supersede\" do not go together");
	return TASKQ_OK;
}

enum taskq_rc taskjson_parse_submit(json_object *body, struct task_new *n, char **payload_text,
				    struct taskq_err *err)
{
	enum taskq_rc rc = TASKQ_OK;
	bool have_kind = false, have_policy = false;
	char snip[65];

	*payload_text = NULL;
	task_new_init(n);
	if (!json_object_is_type(body, json_type_object))
		return taskq_fail(err, TASKQ_BAD_JSON, "body must be a JSON object");

	json_object_object_foreach(body, key, v) {
		if (json_object_is_type(v, json_type_null) && flow_field(key))
			continue; /* null: the field's default (none) */
		if (!strcmp(key, "kind")) {
			rc = get_name(v, "kind", &n->kind, err);
			have_kind = true;
		} else if (!strcmp(key, "payload")) {
			if (json_object_is_type(v, json_type_null))
				continue;
			if (!json_object_is_type(v, json_type_object))
				return taskq_fail(err, TASKQ_INVAL,
						  "payload must be a JSON object");
		} else if (!strcmp(key, "queue")) {
			rc = get_name(v, "queue", &n->queue, err);
		} else if (!strcmp(key, "priority")) {
			rc = get_int(v, "priority", -1000, 1000, &n->priority, err);
		} else if (!strcmp(key, "delay_s")) {
			double d;
			if (!json_object_is_type(v, json_type_int) &&
			    !json_object_is_type(v, json_type_double))
				return taskq_fail(err, TASKQ_INVAL, "delay_s must be a number");
			d = json_object_get_double(v);
			if (!isfinite(d) || d < 0 || d > 31536000)
				return taskq_fail(err, TASKQ_INVAL,
						  "delay_s must be between 0 and 31536000");
			n->delay_s = d;
		} else if (!strcmp(key, "max_attempts")) {
			rc = get_int(v, "max_attempts", 1, 100, &n->max_attempts, err);
		} else if (!strcmp(key, "timeout_s")) {
			if (json_object_is_type(v, json_type_null))
				n->timeout_s = -1;
			else
				rc = get_int(v, "timeout_s", 1, 86400, &n->timeout_s, err);
		} else if (!strcmp(key, "dedupe_key")) {
			rc = get_key(v, "dedupe_key", &n->dedupe_key, err);
		} else if (!strcmp(key, "concurrency_key")) {
			rc = get_key(v, "concurrency_key", &n->concurrency_key, err);
		} else if (!strcmp(key, "callback_url")) {
			rc = get_url(v, "callback_url", &n->callback_url, err);
		} else if (!strcmp(key, "after")) {
			rc = get_after(v, n, err);
		} else if (!strcmp(key, "wait_for")) {
			if ((rc = signal_check_wait_for(v, err)) == TASKQ_OK &&
			    !json_object_is_type(v, json_type_null))
				n->wait_for = v;
		} else if (!strcmp(key, "ordering")) {
			if (json_object_is_type(v, json_type_null))
				continue;
			if (!json_object_is_type(v, json_type_string) ||
			    strcmp(json_object_get_string(v), "strict") != 0)
				return taskq_fail(err, TASKQ_INVAL,
						  "ordering must be \"strict\" or null");
			n->strict = true;
		} else if (!strcmp(key, "debounce_ms")) {
			rc = get_int(v, "debounce_ms", 1, 86400000, &n->debounce_ms, err);
		} else if (!strcmp(key, "max_delay_ms")) {
			rc = get_int(v, "max_delay_ms", 1, 2147483647, &n->max_delay_ms, err);
		} else if (!strcmp(key, "start_by_s")) {
			rc = get_int(v, "start_by_s", 1, 31536000, &n->start_by_s, err);
		} else if (!strcmp(key, "on_conflict")) {
			rc = get_either(v, "on_conflict", "keep", "supersede", &n->supersede, err);
		} else if (!strcmp(key, "after_policy")) {
			if (json_object_is_type(v, json_type_null))
				continue;
			rc = get_either(v, "after_policy", "success", "always", &n->after_always,
					err);
			have_policy = true;
		} else {
			return taskq_fail(err, TASKQ_INVAL, "unknown field '%s'",
					  err_snippet(snip, sizeof snip, key, 64));
		}
		if (rc)
			return rc;
	}
	if (!have_kind)
		return taskq_fail(err, TASKQ_INVAL, "kind is required");
	if (have_policy && !n->after)
		return taskq_fail(err, TASKQ_INVAL, "after_policy needs after");
	if (n->wait_for && n->after)
		return taskq_fail(err, TASKQ_INVAL, "wait_for cannot be combined with after");
	if (n->strict && !n->concurrency_key)
		return taskq_fail(err, TASKQ_INVAL, "ordering \"strict\" needs a concurrency_key");
	if ((rc = check_flow(n, err)) != TASKQ_OK)
		return rc;

	json_object *payload;
	if (json_object_object_get_ex(body, "payload", &payload) && payload) {
		*payload_text = xstrdup(json_object_to_json_string_ext(
			payload, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		n->payload = *payload_text;
	}
	return TASKQ_OK;
}

long taskjson_after_forward(const struct task_new *n, size_t i)
{
	for (size_t k = 0; n->after_index && k < json_object_array_length(n->after); k++) {
		json_object *e = json_object_array_get_idx(n->after, k);
		if (json_object_is_type(e, json_type_int) && json_object_get_int64(e) >= (int64_t)i)
			return (long)k;
	}
	return -1;
}

json_object *taskjson_batch_element(const struct task_new *n)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "kind", json_object_new_string(n->kind));
	json_add_raw(o, "payload", n->payload ? n->payload : "{}");
	json_object_object_add(o, "queue", json_object_new_string(n->queue));
	json_object_object_add(o, "priority", json_object_new_int(n->priority));
	json_object_object_add(o, "delay_s", json_object_new_double(n->delay_s));
	json_object_object_add(o, "max_attempts", json_object_new_int(n->max_attempts));
	if (n->timeout_s >= 0)
		json_object_object_add(o, "timeout_s", json_object_new_int(n->timeout_s));
	if (n->dedupe_key)
		json_object_object_add(o, "dedupe_key", json_object_new_string(n->dedupe_key));
	if (n->concurrency_key)
		json_object_object_add(o, "concurrency_key",
				       json_object_new_string(n->concurrency_key));
	if (n->callback_url)
		json_object_object_add(o, "callback_url", json_object_new_string(n->callback_url));
	if (n->strict)
		json_object_object_add(o, "ordering", json_object_new_string("strict"));
	if (n->after) {
		json_object_object_add(o, "after", json_object_get(n->after));
		json_object_object_add(
			o, "after_policy",
			json_object_new_string(n->after_always ? "always" : "success"));
	}
	if (n->wait_for)
		json_object_object_add(o, "wait_for", json_object_get(n->wait_for));
	if (n->debounce_ms >= 0)
		json_object_object_add(o, "debounce_ms", json_object_new_int(n->debounce_ms));
	if (n->max_delay_ms >= 0)
		json_object_object_add(o, "max_delay_ms", json_object_new_int(n->max_delay_ms));
	if (n->start_by_s >= 0)
		json_object_object_add(o, "start_by_s", json_object_new_int(n->start_by_s));
	if (n->supersede)
		json_object_object_add(o, "on_conflict", json_object_new_string("supersede"));
	if (n->fair) {
		json_object_object_add(o, "fair", json_object_new_boolean(1));
		if (n->fair_after)
			json_object_object_add(o, "fair_after",
					       json_object_new_string(n->fair_after));
	}
	return o;
}
