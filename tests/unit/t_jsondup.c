/* Unit tests: keys named twice in a JSON object are refused (model/jsondup.c), through
 * taskjson_parse as every request body goes, at any depth, with the key and its byte named. */
#include <stdio.h>
#include <string.h>

#include "model/jsondup.h"
#include "model/taskjson.h"
#include "units.h"

struct dcase {
	const char *text;
	const char *msg; /* NULL: accepted; else refused, with this in the message */
};

START_TEST(duplicate_keys)
{
	static const struct dcase cases[] = {
		{"{}", NULL},
		{"[]", NULL},
		{"{\"a\":1,\"b\":2}", NULL},
		{"{\"a\":{\"a\":{\"a\":1}}}", NULL},   /* the same key in different objects */
		{"[{\"a\":1},{\"a\":2}]", NULL},       /* siblings in an array */
		{"{\"a\":[{\"b\":1}],\"b\":2}", NULL}, /* an inner object's key again outside */
		{"{\"a:b\":\"c:d\",\"e\":\"::\"}", NULL},
		{"{\"q\\\"\":1,\"q\\\\\":2,\"q\":3}", NULL}, /* escapes make three keys */
		{"{\"\\u00e9\":1,\"\\u00e8\":2}", NULL},
		{"{\"a\":1,\"a\":2}", "duplicate key 'a' at byte 7"},
		{"{\"kind\":\"noop\",\"priority\":1,\"priority\":9}",
		 "duplicate key 'priority' at byte 28"},
		{"{\"p\":{\"x\":1, \"y\":{}, \"x\":2}}", "duplicate key 'x' at byte 21"},
		{"{\"t\":[1,{\"k\":[],\"k\":{}}]}", "duplicate key 'k' at byte 16"},
		{"{\"a\" : 1 ,\n \"a\"\t: 2}", "duplicate key 'a' at byte 12"},
		{"{\"a\":1,\"\\u0061\":2}",
		 "duplicate key 'a' at byte 7"}, /* the same key escaped */
		{"{\"b\":{\"c\":1},\"c\":2,\"b\":3}", "duplicate key 'b' at byte 19"},
		{"{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", "duplicate key '?"
								  "?"
								  "?"
								  "?' at byte 18"},
		{"{\"\":1,\"\":2}", "duplicate key '' at byte 6"},
	};

	for (size_t i = 0; i < N_OF(cases); i++) {
		json_object *o = NULL;
		struct taskq_err err = {0};
		enum taskq_rc rc = taskjson_parse(cases[i].text, strlen(cases[i].text), &o, &err);

		if (!cases[i].msg) {
			ck_assert_msg(rc == TASKQ_OK, "case %zu (%s): rc %d (%s)", i, cases[i].text,
				      rc, err.msg);
		} else {
			ck_assert_msg(rc == TASKQ_BAD_JSON && o == NULL,
				      "case %zu (%s): rc %d, want a refusal", i, cases[i].text, rc);
			ck_assert_msg(strstr(err.msg, cases[i].msg),
				      "case %zu: message '%s' lacks '%s'", i, err.msg,
				      cases[i].msg);
		}
		json_object_put(o);
	}
}
END_TEST

/* A batch-sized body: a repeat in its last element is found, named, and costs no more than a
 * walk; the same body without it passes. */
START_TEST(duplicate_in_a_large_body)
{
	enum { N = 2000 };
	static char text[N * 40 + 64];
	size_t n = 0;
	json_object *o;
	struct taskq_err err;

	n += (size_t)snprintf(text + n, sizeof text - n, "{\"tasks\":[");
	for (int i = 0; i < N; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "%s{\"kind\":\"noop\",\"n%d\":%d}",
				      i ? "," : "", i, i);
	n += (size_t)snprintf(text + n, sizeof text - n, "]}");
	ck_assert_int_eq(taskjson_parse(text, n, &o, &err), TASKQ_OK);
	ck_assert_int_eq(jsondup_check(text, n, o, &err), TASKQ_OK);
	json_object_put(o);

	/* the last element gets a second "kind" */
	n -= 3; /* "}]}" */
	n += (size_t)snprintf(text + n, sizeof text - n, ",\"kind\":\"sleep\"}]}");
	ck_assert_int_eq(taskjson_parse(text, n, &o, &err), TASKQ_BAD_JSON);
	ck_assert_ptr_null(o);
	ck_assert_msg(strstr(err.msg, "duplicate key 'kind' at byte "), "%s", err.msg);
}
END_TEST

UNITS_SUITE(jsondup, 0, duplicate_keys, duplicate_in_a_large_body)
