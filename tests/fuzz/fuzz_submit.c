/*
 * fuzz_submit: request bodies through taskjson_parse() and taskjson_parse_submit().
 *
 * Oracles: an independent recursive-descent checker of what taskjson_parse must accept
 * (tests/fuzz/refjson.c); the ranges of a validated submit; a validated submit written back as
 * a body validates to the same task_new; the task JSON built from it (taskjson_encode)
 * serialises to text that taskjson_parse accepts again, with the same payload.
 */
#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/task.h"
#include "model/taskjson.h"
#include "base/xalloc.h"
#include "fuzz.h"
#include "refjson.h"

FUZZ_TARGET(submit);

/* ---- the submit --------------------------------------------------------------------- */

static int streq_opt(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void check_new(const struct task_new *n, const char *payload_text)
{
	CHECK(n->kind && task_name_valid(n->kind));
	CHECK(n->queue && task_name_valid(n->queue));
	CHECK(n->priority >= -1000 && n->priority <= 1000);
	CHECK(isfinite(n->delay_s) && n->delay_s >= 0 && n->delay_s <= 31536000);
	CHECK(n->max_attempts >= 1 && n->max_attempts <= 100);
	CHECK(n->timeout_s == -1 || (n->timeout_s >= 1 && n->timeout_s <= 86400));
	CHECK(!n->dedupe_key || (strlen(n->dedupe_key) >= 1 && strlen(n->dedupe_key) <= 200));
	CHECK(!n->concurrency_key ||
	      (strlen(n->concurrency_key) >= 1 && strlen(n->concurrency_key) <= 200));
	CHECK(!n->callback_url ||
	      (strlen(n->callback_url) <= 2048 && (!strncmp(n->callback_url, "http://", 7) ||
						   !strncmp(n->callback_url, "https://", 8))));
	CHECK(n->payload);
	CHECK(payload_text ? n->payload == payload_text : !strcmp(n->payload, "{}"));
	if (n->after) {
		size_t len = json_object_array_length(n->after);
		bool index = false;

		CHECK(json_object_is_type(n->after, json_type_array));
		CHECK(len >= 1 && len <= TASK_AFTER_MAX);
		for (size_t i = 0; i < len; i++) {
			json_object *e = json_object_array_get_idx(n->after, i);
			if (json_object_is_type(e, json_type_int)) {
				CHECK(json_object_get_int64(e) >= 0 &&
				      json_object_get_int64(e) < TASKJSON_MAX_INDEX);
				index = true;
			} else {
				CHECK(json_object_is_type(e, json_type_string) &&
				      task_id_valid(json_object_get_string(e)));
			}
		}
		CHECK(index == n->after_index);
	} else {
		CHECK(!n->after_index && !n->after_always);
	}
}

/* The payload text is what goes to PostgreSQL as jsonb: it must pass the parser itself. */
static json_object *check_payload(const char *payload_text)
{
	json_object *v;
	struct taskq_err err;
	size_t len = strlen(payload_text);
	int top;

	if (taskjson_parse(payload_text, len, &v, &err) != TASKQ_OK)
		fuzz_fail("payload text rejected (%s): %.200s", err.msg, payload_text);
	CHECK(ref_check((const uint8_t *)payload_text, len, &top) == REF_OK);
	CHECK(json_object_is_type(v, json_type_object));
	return v;
}

/* key: the string value, when there is one */
static void add_string(json_object *b, const char *key, const char *value)
{
	if (value)
		json_object_object_add(b, key, json_object_new_string(value));
}

/* The validated submit written back as a body, the way a client would send it. */
static char *resubmit_body(const struct task_new *n, json_object *payload)
{
	json_object *b = json_object_new_object();
	char *text;

	add_string(b, "kind", n->kind);
	if (payload)
		json_object_object_add(b, "payload", json_object_get(payload));
	add_string(b, "queue", n->queue);
	json_object_object_add(b, "priority", json_object_new_int(n->priority));
	json_object_object_add(b, "delay_s", json_object_new_double(n->delay_s));
	json_object_object_add(b, "max_attempts", json_object_new_int(n->max_attempts));
	json_object_object_add(b, "timeout_s",
			       n->timeout_s >= 0 ? json_object_new_int(n->timeout_s) : NULL);
	add_string(b, "dedupe_key", n->dedupe_key);
	add_string(b, "concurrency_key", n->concurrency_key);
	add_string(b, "callback_url", n->callback_url);
	if (n->after) {
		json_object_object_add(b, "after", json_object_get(n->after));
		add_string(b, "after_policy", n->after_always ? "always" : "success");
	}
	text = xstrdup(json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN));
	json_object_put(b);
	return text;
}

static void check_resubmit(const struct task_new *n, json_object *payload)
{
	char *text = resubmit_body(n, payload), *ptext2 = NULL;
	json_object *body2;
	struct task_new n2;
	struct taskq_err err;

	if (taskjson_parse(text, strlen(text), &body2, &err) != TASKQ_OK)
		fuzz_fail("re-submitted body rejected (%s): %.300s", err.msg, text);
	if (taskjson_parse_submit(body2, &n2, &ptext2, &err) != TASKQ_OK)
		fuzz_fail("re-submitted body invalid (%s): %.300s", err.msg, text);
	CHECK(!strcmp(n->kind, n2.kind));
	CHECK(!strcmp(n->queue, n2.queue));
	CHECK(n->priority == n2.priority);
	CHECK(n->delay_s == n2.delay_s);
	CHECK(n->max_attempts == n2.max_attempts);
	CHECK(n->timeout_s == n2.timeout_s);
	CHECK(streq_opt(n->dedupe_key, n2.dedupe_key));
	CHECK(streq_opt(n->concurrency_key, n2.concurrency_key));
	CHECK(streq_opt(n->callback_url, n2.callback_url));
	CHECK(!strcmp(n->payload, n2.payload));
	CHECK(!n->after == !n2.after && n->after_index == n2.after_index &&
	      n->after_always == n2.after_always);
	if (n->after)
		CHECK(!strcmp(json_object_to_json_string_ext(n->after, JSON_C_TO_STRING_PLAIN),
			      json_object_to_json_string_ext(n2.after, JSON_C_TO_STRING_PLAIN)));
	free(ptext2);
	json_object_put(body2);
	free(text);
}

/* The task JSON of a task made from the submit must serialise to text that parses again. */
static void check_encode(const struct task_new *n, json_object *payload, uint8_t sel)
{
	struct task t = {0};
	json_object *o, *back, *v;
	struct taskq_err err;
	const char *text;
	static const int flags[] = {JSON_C_TO_STRING_PLAIN, JSON_C_TO_STRING_SPACED,
				    JSON_C_TO_STRING_PRETTY,
				    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE};

	snprintf(t.id, sizeof t.id, "0b3e8a1c-5f2d-4e6a-9c7b-1d2e3f4a5b6c");
	t.kind = xstrdup(n->kind);
	t.queue = xstrdup(n->queue);
	t.owner = xstrdup(n->owner);
	t.state = (enum task_state)(sel % 6); /* 5: an unknown state */
	t.progress = sel;
	t.message = sel & 1 ? xstrdup(n->dedupe_key) : NULL;
	t.payload = xstrdup(n->payload);
	t.result = sel & 2 ? xstrdup(n->payload) : NULL;
	t.error = sel & 4 ? xstrdup(n->concurrency_key) : NULL;
	t.attempts = 1;
	t.max_attempts = n->max_attempts;
	t.priority = n->priority;
	t.timeout_s = n->timeout_s;
	t.cancel_requested = sel & 8;
	t.created_at = xstrdup("2024-01-02T03:04:05.678Z");
	t.run_at = xstrdup("2024-01-02T03:04:05.678Z");
	t.version = (long long)n->priority * 1000003;
	t.dedupe_key = xstrdup(n->dedupe_key);
	t.concurrency_key = xstrdup(n->concurrency_key);
	t.callback_url = xstrdup(n->callback_url);
	t.callback_state = n->callback_url ? xstrdup("pending") : NULL;

	o = taskjson_encode(&t);
	text = json_object_to_json_string_ext(o, flags[(sel >> 4) & 3]);
	if (taskjson_parse(text, strlen(text), &back, &err) != TASKQ_OK)
		fuzz_fail("task JSON rejected (%s): %.300s", err.msg, text);
	CHECK(json_object_object_get_ex(back, "kind", &v) &&
	      !strcmp(json_object_get_string(v), n->kind));
	CHECK(json_object_object_get_ex(back, "queue", &v) &&
	      !strcmp(json_object_get_string(v), n->queue));
	CHECK(json_object_object_get_ex(back, "payload", &v) &&
	      json_object_is_type(v, json_type_object));
	if (payload)
		CHECK(json_object_equal(v, payload));
	if (n->dedupe_key)
		CHECK(json_object_object_get_ex(back, "dedupe_key", &v) &&
		      !strcmp(json_object_get_string(v), n->dedupe_key));
	json_object_put(back);
	json_object_put(o);
	task_cleanup(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *body = NULL, *payload = NULL;
	struct taskq_err err = {0};
	struct task_new n;
	char *payload_text = NULL;
	enum taskq_rc rc;
	enum ref want;
	int top_scalar;

	if (size > (1u << 20))
		return -1;
	rc = taskjson_parse((const char *)data, size, &body, &err);
	CHECK(rc == TASKQ_OK || rc == TASKQ_BAD_JSON || rc == TASKQ_INVAL);
	CHECK(rc == TASKQ_OK ? body != NULL : body == NULL);
	CHECK(rc == TASKQ_OK || (err.rc == rc && memchr(err.msg, '\0', sizeof err.msg)));

	/* the reference checker and taskjson_parse agree */
	want = memchr(data, '\0', size) ? REF_BAD : ref_check(data, size, &top_scalar);
	if (want != REF_BAD && rc == TASKQ_BAD_JSON && top_scalar) {
		/* json-c waits for more input after a bare top-level number or literal */
	} else if ((want == REF_OK && rc != TASKQ_OK) || (want == REF_INVAL && rc != TASKQ_INVAL) ||
		   (want == REF_BAD && rc != TASKQ_BAD_JSON)) {
		fuzz_fail("taskjson_parse: rc %d (%s), reference %s", rc, err.msg,
			  want == REF_OK      ? "ok"
			  : want == REF_INVAL ? "invalid field"
					      : "bad JSON");
	}
	if (rc != TASKQ_OK)
		return 0;

	rc = taskjson_parse_submit(body, &n, &payload_text, &err);
	CHECK(rc == TASKQ_OK || rc == TASKQ_BAD_JSON || rc == TASKQ_INVAL);
	if (rc == TASKQ_OK) {
		check_new(&n, payload_text);
		if (payload_text)
			payload = check_payload(payload_text);
		check_resubmit(&n, payload);
		check_encode(&n, payload, size ? data[size / 2] : 0);
		json_object_put(payload);
	} else {
		CHECK(payload_text == NULL);
	}
	free(payload_text);
	json_object_put(body);
	return 0;
}
