/* Unit tests: strict JSON parsing, submit validation and task encoding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taskjson.h"
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

START_TEST(submit_bodies)
{
	static const struct pcase cases[] = {
		{"{\"kind\":\"sleep\"}", TASKQ_OK, NULL},
		{"{\"kind\":\"sleep\",\"payload\":{\"steps\":3},\"queue\":\"q1\",\"priority\":5,"
		 "\"delay_s\":1.5,\"max_attempts\":2,\"timeout_s\":30,\"dedupe_key\":\"d\","
		 "\"concurrency_key\":\"c\"}", TASKQ_OK, NULL},
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
		{"{\"kind\":\"sleep\",\"priority\":99999999999999999999999}", TASKQ_INVAL, "priority"},
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
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct task_new n;
		char msg[256];
		enum taskq_rc rc = submit_rc(cases[i].body, strlen(cases[i].body), &n, msg);
		ck_assert_msg(rc == cases[i].rc, "case %zu (%s): rc %d, want %d (%s)", i, cases[i].body,
			      rc, cases[i].rc, msg);
		if (cases[i].msg_part)
			ck_assert_msg(strstr(msg, cases[i].msg_part), "case %zu: message '%s'", i, msg);
	}
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
	json_object *o, *v;

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
	ck_assert(json_object_object_get_ex(o, "state", &v));
	ck_assert_str_eq(json_object_get_string(v), "running");
	ck_assert(json_object_object_get_ex(o, "payload", &v));
	ck_assert(json_object_is_type(v, json_type_object));
	ck_assert(json_object_object_get_ex(o, "result", &v));
	ck_assert_ptr_null(v);
	ck_assert(json_object_object_get_ex(o, "timeout_s", &v));
	ck_assert_ptr_null(v);
	ck_assert(json_object_object_get_ex(o, "version", &v));
	ck_assert_int_eq(json_object_get_int64(v), 7);
	static const char *const fields[] = {
		"id", "kind", "queue", "state", "progress", "message", "payload", "result", "error",
		"attempts", "max_attempts", "priority", "cancel_requested", "created_at", "run_at",
		"started_at", "finished_at", "updated_at", "version"};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		ck_assert_msg(json_object_object_get_ex(o, fields[i], NULL), "missing %s", fields[i]);
	json_object_put(o);
}
END_TEST

Suite *suite_taskjson(void)
{
	Suite *s = suite_create("taskjson");
	TCase *tc = tcase_create("taskjson");
	tcase_add_test(tc, submit_bodies);
	tcase_add_test(tc, submit_fields_and_defaults);
	tcase_add_test(tc, nul_byte_and_depth);
	tcase_add_test(tc, encode_task);
	suite_add_tcase(s, tc);
	return s;
}
