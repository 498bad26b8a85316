/* Unit tests: strict JSON parsing, submit validation and task encoding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/taskjson.h"
#include "units.h"

struct pcase {
	const char *body;
	enum taskq_rc rc;
	const char *msg_part; /* expected in the message, or NULL */
};

/* Parses and validates a submit body; returns the rc of the first failing step. */
static enum taskq_rc submit_rc(const char *body, size_t len, struct task_new *n, char *msg)
{
	json_object *o = NULL;
	struct taskq_err err = {0};
	char *payload = NULL;
	enum taskq_rc rc = taskjson_parse(body, len, &o, &err);

	if (rc == TASKQ_OK)
		rc = taskjson_parse_submit(o, n, &payload, &err);
	snprintf(msg, 256, "%s", err.msg);
	free(payload);
	json_object_put(o);
	return rc;
}

/* Each body's rc, and the part of its message a case expects. */
static void check_submits(const struct pcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct task_new tn;
		char msg[256];
		enum taskq_rc rc = submit_rc(c[i].body, strlen(c[i].body), &tn, msg);

		ck_assert_msg(rc == c[i].rc, "case %zu (%s): rc %d, want %d (%s)", i, c[i].body, rc,
			      c[i].rc, msg);
		if (c[i].msg_part)
			ck_assert_msg(strstr(msg, c[i].msg_part),
				      "case %zu: message '%s' lacks '%s'", i, msg, c[i].msg_part);
	}
}

/* o's member name, which must be there; NULL when it is JSON null (borrowed from o). */
static json_object *member(json_object *o, const char *name)
{
	json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, name, &v), "no member %s", name);
	return v;
}

/* o's member name as compact JSON text (valid while o is). */
static const char *member_text(json_object *o, const char *name)
{
	return json_object_to_json_string_ext(member(o, name), JSON_C_TO_STRING_PLAIN);
}

START_TEST(submit_bodies)
{
	static const struct pcase cases[] = {
		{"{\"kind\":\"sleep\"}", TASKQ_OK, NULL},
		{"{\"kind\":\"sleep\",\"payload\":{\"steps\":3},\"queue\":\"q1\",\"priority\":5,"
		 "\"delay_s\":1.5,\"max_attempts\":2,\"timeout_s\":30,\"dedupe_key\":\"d\","
		 "\"concurrency_key\":\"c\"}",
		 TASKQ_OK, NULL},
		{"  {\"kind\":\"sleep\"}\n", TASKQ_OK, NULL},
		{"{\"kind\":\"sleep\",\"timeout_s\":null,\"payload\":null}", TASKQ_OK, NULL},
		{"", TASKQ_BAD_JSON, NULL},
		{"{", TASKQ_BAD_JSON, NULL},
		{"{\"kind\":\"sleep\"", TASKQ_BAD_JSON, NULL},
		{"{\"kind\":\"sleep\"} x", TASKQ_BAD_JSON, NULL},
		{"{\"kind\":\"sleep\"}{}", TASKQ_BAD_JSON, NULL},
		{"[1,2]", TASKQ_BAD_JSON, "object"},
		{"\"kind\"", TASKQ_BAD_JSON, "object"},
		{"{'kind':'sleep'}", TASKQ_BAD_JSON, NULL},
		{"{\"kind\":\"sleep\",}", TASKQ_BAD_JSON, NULL},
		{"{}", TASKQ_INVAL, "kind is required"},
		{"{\"kind\":5}", TASKQ_INVAL, "kind"},
		{"{\"kind\":\"\"}", TASKQ_INVAL, "kind"},
		{"{\"kind\":\"a b\"}", TASKQ_INVAL, "kind"},
		{"{\"kind\":\"sleep\",\"extra\":1}", TASKQ_INVAL, "unknown field"},
		{"{\"kind\":\"sleep\",\"payload\":[1]}", TASKQ_INVAL, "payload"},
		{"{\"kind\":\"sleep\",\"payload\":\"x\"}", TASKQ_INVAL, "payload"},
		{"{\"kind\":\"sleep\",\"priority\":1001}", TASKQ_INVAL, "priority"},
		{"{\"kind\":\"sleep\",\"priority\":-1001}", TASKQ_INVAL, "priority"},
		{"{\"kind\":\"sleep\",\"priority\":1.5}", TASKQ_INVAL, "integer"},
		{"{\"kind\":\"sleep\",\"priority\":\"1\"}", TASKQ_INVAL, "integer"},
		{"{\"kind\":\"sleep\",\"priority\":99999999999999999999999}", TASKQ_INVAL,
		 "priority"},
		{"{\"kind\":\"sleep\",\"delay_s\":-1}", TASKQ_INVAL, "delay_s"},
		{"{\"kind\":\"sleep\",\"delay_s\":1e300}", TASKQ_INVAL, "delay_s"},
		{"{\"kind\":\"sleep\",\"delay_s\":true}", TASKQ_INVAL, "delay_s"},
		{"{\"kind\":\"sleep\",\"max_attempts\":0}", TASKQ_INVAL, "max_attempts"},
		{"{\"kind\":\"sleep\",\"timeout_s\":0}", TASKQ_INVAL, "timeout_s"},
		{"{\"kind\":\"sleep\",\"dedupe_key\":\"\"}", TASKQ_INVAL, "dedupe_key"},
		{"{\"kind\":\"sleep\",\"dedupe_key\":7}", TASKQ_INVAL, "dedupe_key"},
		{"{\"kind\":\"sleep\",\"payload\":{\"a\":\"x\\u0000y\"}}", TASKQ_INVAL, "U+0000"},
		{"{\"kind\":\"sleep\",\"payload\":{\"a\\u0000\":1}}", TASKQ_INVAL, "U+0000"},
		{"{\"kind\":\"sleep\",\"payload\":{\"a\":\"x\\\\u0000y\"}}", TASKQ_OK, NULL},
		{"{\"kind\":\"sleep\",\"payload\":{\"a\":\"\xff\xfe\"}}", TASKQ_BAD_JSON, NULL},
	};
	check_submits(cases, N_OF(cases));
}
END_TEST

START_TEST(submit_fields_and_defaults)
{
	const char *body = "{\"kind\":\"sleep\",\"payload\":{\"s\":\"it's \\\"quoted\\\"; DROP\"},"
			   "\"queue\":\"q1\",\"priority\":-7,\"delay_s\":2,\"max_attempts\":9}";
	json_object *o;
	struct taskq_err err;
	struct task_new n;
	char *payload;

	ck_assert_int_eq(taskjson_parse(body, strlen(body), &o, &err), TASKQ_OK);
	ck_assert_int_eq(taskjson_parse_submit(o, &n, &payload, &err), TASKQ_OK);
	ck_assert_str_eq(n.kind, "sleep");
	ck_assert_str_eq(n.queue, "q1");
	ck_assert_int_eq(n.priority, -7);
	ck_assert(n.delay_s == 2.0);
	ck_assert_int_eq(n.max_attempts, 9);
	ck_assert_int_eq(n.timeout_s, -1);
	ck_assert_ptr_null(n.dedupe_key);
	ck_assert_str_eq(n.payload, "{\"s\":\"it's \\\"quoted\\\"; DROP\"}");
	free(payload);
	json_object_put(o);
}
END_TEST

START_TEST(nul_byte_and_depth)
{
	char deep[200];
	json_object *o;
	struct taskq_err err;

	ck_assert_int_eq(taskjson_parse("{\"a\":1}\0", 8, &o, &err), TASKQ_BAD_JSON);
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	ck_assert_int_eq(taskjson_parse(deep, 200, &o, &err), TASKQ_BAD_JSON);
}
END_TEST

START_TEST(encode_task)
{
	struct task t = {0};
	json_object *o;

	snprintf(t.id, sizeof t.id, "%s", "0193a6b2-7c1e-7d3f-8a9b-0123456789ab");
	t.kind = "sleep";
	t.queue = "default";
	t.state = TASK_RUNNING;
	t.progress = 40;
	t.payload = "{\"steps\":3}";
	t.timeout_s = -1;
	t.version = 7;
	t.created_at = "2026-11-24T22:42:00.123456Z";
	o = taskjson_encode(&t);
	ck_assert_str_eq(json_object_get_string(member(o, "state")), "running");
	ck_assert(json_object_is_type(member(o, "payload"), json_type_object));
	ck_assert_ptr_null(member(o, "result"));
	ck_assert_ptr_null(member(o, "timeout_s"));
	ck_assert_int_eq(json_object_get_int64(member(o, "version")), 7);
	static const char *const fields[] = {"id",
					     "kind",
					     "queue",
					     "state",
					     "progress",
					     "message",
					     "payload",
					     "result",
					     "error",
					     "attempts",
					     "max_attempts",
					     "priority",
					     "cancel_requested",
					     "created_at",
					     "run_at",
					     "started_at",
					     "finished_at",
					     "updated_at",
					     "version"};
	for (size_t i = 0; i < N_OF(fields); i++)
		ck_assert_msg(json_object_object_get_ex(o, fields[i], NULL), "missing %s",
			      fields[i]);
	json_object_put(o);
}
END_TEST

#define ID1 "0193a6b2-7c1e-7d3f-8a9b-0123456789ab"
#define ID2 "0193A6B2-7C1E-7D3F-8A9B-0123456789AC"

START_TEST(submit_after)
{
	static const struct pcase cases[] = {
		{"{\"kind\":\"noop\",\"after\":[\"" ID1 "\"]}", TASKQ_OK, NULL},
		{"{\"kind\":\"noop\",\"after\":[\"" ID1 "\",\"" ID2
		 "\"],\"after_policy\":\"always\"}",
		 TASKQ_OK, NULL},
		{"{\"kind\":\"noop\",\"after\":[0,\"" ID1 "\",7]}", TASKQ_OK, NULL},
		{"{\"kind\":\"noop\",\"after\":null,\"after_policy\":null}", TASKQ_OK, NULL},
		{"{\"kind\":\"noop\",\"after\":[\"" ID1 "\"],\"after_policy\":\"success\"}",
		 TASKQ_OK, NULL},
		{"{\"kind\":\"noop\",\"after\":[]}", TASKQ_INVAL, "1 to 100"},
		{"{\"kind\":\"noop\",\"after\":\"" ID1 "\"}", TASKQ_INVAL, "array"},
		{"{\"kind\":\"noop\",\"after\":{}}", TASKQ_INVAL, "array"},
		{"{\"kind\":\"noop\",\"after\":[\"x\"]}", TASKQ_INVAL,
		 "after[0] must be a task id"},
		{"{\"kind\":\"noop\",\"after\":[\"" ID1 "\",\"" ID1 "x\"]}", TASKQ_INVAL,
		 "after[1]"},
		{"{\"kind\":\"noop\",\"after\":[-1]}", TASKQ_INVAL, "after[0]"},
		{"{\"kind\":\"noop\",\"after\":[1.5]}", TASKQ_INVAL, "after[0]"},
		{"{\"kind\":\"noop\",\"after\":[1000000]}", TASKQ_INVAL, "after[0]"},
		{"{\"kind\":\"noop\",\"after\":[null]}", TASKQ_INVAL, "after[0]"},
		{"{\"kind\":\"noop\",\"after\":[[0]]}", TASKQ_INVAL, "after[0]"},
		{"{\"kind\":\"noop\",\"after_policy\":\"always\"}", TASKQ_INVAL, "needs after"},
		{"{\"kind\":\"noop\",\"after\":[0],\"after_policy\":\"sometimes\"}", TASKQ_INVAL,
		 "after_policy"},
		{"{\"kind\":\"noop\",\"after\":[0],\"after_policy\":true}", TASKQ_INVAL,
		 "after_policy"},
	};

	check_submits(cases, N_OF(cases));
}
END_TEST

/* "ordering": "strict" needs a concurrency key; null is no ordering; nothing else goes. */
START_TEST(submit_ordering)
{
	static const struct pcase cases[] = {
		{"{\"kind\":\"noop\",\"concurrency_key\":\"k\",\"ordering\":\"strict\"}", TASKQ_OK,
		 NULL},
		{"{\"kind\":\"noop\",\"ordering\":null}", TASKQ_OK, NULL},
		{"{\"kind\":\"noop\",\"ordering\":\"strict\"}", TASKQ_INVAL,
		 "needs a concurrency_key"},
		{"{\"kind\":\"noop\",\"concurrency_key\":\"k\",\"ordering\":\"fifo\"}", TASKQ_INVAL,
		 "ordering must be"},
		{"{\"kind\":\"noop\",\"concurrency_key\":\"k\",\"ordering\":true}", TASKQ_INVAL,
		 "ordering must be"},
	};

	check_submits(cases, N_OF(cases));
}
END_TEST

/* 101 ids is one too many; 100 are fine. */
START_TEST(submit_after_limit)
{
	char body[8192], msg[256];
	struct task_new n;
	size_t at = (size_t)snprintf(body, sizeof body, "{\"kind\":\"noop\",\"after\":[");

	for (int i = 0; i < 101; i++)
		at += (size_t)snprintf(body + at, sizeof body - at, "%s\"" ID1 "\"", i ? "," : "");
	snprintf(body + at, sizeof body - at, "]}");
	ck_assert_int_eq(submit_rc(body, strlen(body), &n, msg), TASKQ_INVAL);
	ck_assert_ptr_nonnull(strstr(msg, "1 to 100"));
	/* the last id out: 100 */
	memmove(strrchr(body, ','), "]}", 3);
	ck_assert_int_eq(submit_rc(body, strlen(body), &n, msg), TASKQ_OK);
}
END_TEST

/* What the parse leaves in task_new, and what a batch element (taskq.submit_many) carries. */
START_TEST(submit_after_fields)
{
	static const char body[] =
		"{\"kind\":\"noop\",\"after\":[\"" ID1 "\",2],\"after_policy\":\"always\"}";
	json_object *o = NULL, *el;
	struct taskq_err err;
	struct task_new n;
	char *payload = NULL;

	ck_assert_int_eq(taskjson_parse(body, strlen(body), &o, &err), TASKQ_OK);
	ck_assert_int_eq(taskjson_parse_submit(o, &n, &payload, &err), TASKQ_OK);
	ck_assert_ptr_nonnull(n.after);
	ck_assert(n.after_index);
	ck_assert(n.after_always);
	el = taskjson_batch_element(&n);
	ck_assert_str_eq(member_text(el, "after"), "[\"" ID1 "\",2]");
	ck_assert_str_eq(json_object_get_string(member(el, "after_policy")), "always");
	json_object_put(el);
	json_object_put(o);
	free(payload);

	/* no after: neither field in the element, and no index */
	ck_assert_int_eq(taskjson_parse("{\"kind\":\"noop\"}", 15, &o, &err), TASKQ_OK);
	ck_assert_int_eq(taskjson_parse_submit(o, &n, &payload, &err), TASKQ_OK);
	ck_assert_ptr_null(n.after);
	ck_assert(!n.after_index && !n.after_always);
	el = taskjson_batch_element(&n);
	ck_assert(!json_object_object_get_ex(el, "after", NULL));
	ck_assert(!json_object_object_get_ex(el, "after_policy", NULL));
	json_object_put(el);
	json_object_put(o);
}
END_TEST

START_TEST(ids_from_pg)
{
	static const struct text_case cases[] = {
		{"{}", "[]"},
		{"{" ID1 "}", "[\"" ID1 "\"]"},
		{"{" ID1 "," ID2 "}", "[\"" ID1 "\",\"" ID2 "\"]"},
		{"{" ID1 ",NULL," ID2 "}", "[\"" ID1 "\",\"" ID2 "\"]"},
		{"{x,\"" ID1 "\"}", "[]"},
		{"", "[]"},
	};

	for (size_t i = 0; i < N_OF(cases); i++) {
		char *s = taskjson_ids_from_pg(cases[i].in);
		ck_assert_msg(!strcmp(s, cases[i].want), "case %zu: %s -> %s", i, cases[i].in, s);
		free(s);
	}
}
END_TEST

/* parents, after_policy and blocked in the task JSON. */
START_TEST(encode_parents)
{
	struct task t = {0};
	json_object *o;

	snprintf(t.id, sizeof t.id, "%s", ID1);
	t.state = TASK_QUEUED;
	t.timeout_s = -1;
	t.parents = "[\"" ID1 "\"]";
	t.after_policy = "success";
	t.pending_parents = 1;
	o = taskjson_encode(&t);
	ck_assert(json_object_get_boolean(member(o, "blocked")));
	ck_assert_str_eq(member_text(o, "parents"), "[\"" ID1 "\"]");
	ck_assert_str_eq(json_object_get_string(member(o, "after_policy")), "success");
	json_object_put(o);

	t.state = TASK_CANCELLED; /* a cancelled child still counts its parents: not blocked */
	o = taskjson_encode(&t);
	ck_assert(!json_object_get_boolean(member(o, "blocked")));
	json_object_put(o);

	memset(&t, 0, sizeof t);
	t.timeout_s = -1;
	o = taskjson_encode(&t);
	ck_assert_ptr_null(member(o, "parents"));
	ck_assert_ptr_null(member(o, "after_policy"));
	json_object_put(o);
}
END_TEST

/* warning: null in the task JSON until the caller notes an unserved queue, and then only on a
 * queued task; in /api/queues when tasks are queued and no worker serves the queue. */
START_TEST(encode_unserved)
{
	struct task t = {0};
	struct queue_stat q[2] = {{.queue = "lonely", .workers = 0, .delayed = 1, .blocked = 2},
				  {.queue = "served", .workers = 3}};
	json_object *o, *rows;

	snprintf(t.id, sizeof t.id, "%s", ID1);
	t.queue = "lonely";
	t.timeout_s = -1;
	t.state = TASK_QUEUED;
	o = taskjson_encode(&t);
	ck_assert_ptr_null(member(o, "warning"));
	taskjson_note_unserved(o, &t);
	ck_assert_str_eq(json_object_get_string(member(o, "warning")),
			 "no live worker serves queue lonely: its tasks wait until a taskq-worker "
			 "with lonely in its --queues runs");
	json_object_put(o);
	t.state = TASK_RUNNING; /* only a queued task waits */
	o = taskjson_encode(&t);
	taskjson_note_unserved(o, &t);
	ck_assert_ptr_null(member(o, "warning"));
	json_object_put(o);

	q[0].count[TASK_QUEUED] = 3;
	q[0].oldest_queued_s = -1;
	q[1].count[TASK_QUEUED] = 1;
	q[1].oldest_queued_s = 2.5;
	o = taskjson_encode_queues(q, 2);
	rows = member(o, "queues");
	ck_assert_int_eq(json_object_get_int(member(json_object_array_get_idx(rows, 0), "delayed")),
			 1);
	ck_assert_int_eq(json_object_get_int(member(json_object_array_get_idx(rows, 0), "blocked")),
			 2);
	ck_assert_ptr_null(member(json_object_array_get_idx(rows, 0), "oldest_queued_s"));
	ck_assert_int_eq(json_object_get_int(member(json_object_array_get_idx(rows, 0), "workers")),
			 0);
	ck_assert(strstr(json_object_get_string(
				 member(json_object_array_get_idx(rows, 0), "warning")),
			 "no live worker serves queue lonely") != NULL);
	ck_assert_ptr_null(member(json_object_array_get_idx(rows, 1), "warning"));
	ck_assert_int_eq(json_object_get_int(member(json_object_array_get_idx(rows, 1), "workers")),
			 3);
	json_object_put(o);
}
END_TEST

UNITS_SUITE(taskjson, 0, submit_bodies, submit_fields_and_defaults, nul_byte_and_depth, encode_task,
	    submit_after, submit_after_limit, submit_after_fields, ids_from_pg, encode_parents,
	    encode_unserved, submit_ordering)
