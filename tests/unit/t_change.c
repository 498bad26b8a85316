/* Unit tests: what a task's stream message carries (fcgi/bg/change.c): the whole task first,
 * then changes without the payload and without the large fields that did not change; and
 * when a resuming subscriber already has the final state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg/change.h"
#include "units.h"

/* A task JSON with a payload of plen bytes, a result of rlen bytes ("r" repeated, or null
 * for 0) and the given progress. */
static json_object *task_json(size_t plen, size_t rlen, int progress, char fill)
{
	json_object *o = json_object_new_object();
	char *p = malloc(plen + 1), *r = malloc(rlen + 1);
	json_object *payload = json_object_new_object();

	memset(p, 'p', plen);
	p[plen] = '\0';
	memset(r, fill, rlen);
	r[rlen] = '\0';
	json_object_object_add(o, "id",
			       json_object_new_string("01a20ff7-0000-7000-8000-000000000001"));
	json_object_object_add(o, "state", json_object_new_string(rlen ? "succeeded" : "running"));
	json_object_object_add(o, "progress", json_object_new_int(progress));
	json_object_object_add(payload, "blob", json_object_new_string(p));
	json_object_object_add(o, "payload", payload);
	json_object_object_add(o, "result", rlen ? json_object_new_string(r) : NULL);
	json_object_object_add(o, "message", json_object_new_string("step"));
	json_object_object_add(o, "version", json_object_new_int64(progress + 1));
	free(p);
	free(r);
	return o;
}

static bool has(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

START_TEST(whole_then_changes)
{
	struct change_base b = {0};
	json_object *o = task_json(5000, 0, 0, 'r');

	change_whole(o, &b);
	ck_assert(b.known);
	ck_assert(has(o, "payload") && has(o, "result") && has(o, "progress"));
	json_object_put(o);

	/* a change: no payload; the small fields, null result included, all there */
	o = task_json(5000, 0, 40, 'r');
	change_delta(o, &b);
	ck_assert(!has(o, "payload"));
	ck_assert(has(o, "id") && has(o, "state") && has(o, "progress") && has(o, "version") &&
		  has(o, "message") && has(o, "result"));
	json_object_put(o);

	/* a large result appears: it is sent once ... */
	o = task_json(5000, 3000, 100, 'r');
	change_delta(o, &b);
	ck_assert(has(o, "result") && !has(o, "payload"));
	json_object_put(o);
	/* ... and left out while it stays the same */
	o = task_json(5000, 3000, 100, 'r');
	change_delta(o, &b);
	ck_assert(!has(o, "result") && has(o, "progress") && !has(o, "payload"));
	json_object_put(o);
	/* a different large value of the same length is a change */
	o = task_json(5000, 3000, 100, 's');
	change_delta(o, &b);
	ck_assert(has(o, "result"));
	json_object_put(o);
}
END_TEST

START_TEST(change_without_a_base_stays_whole)
{
	struct change_base b = {0};
	json_object *o = task_json(5000, 3000, 100, 'r');

	change_delta(o, &b);
	ck_assert(has(o, "payload") && has(o, "result"));
	ck_assert(b.known);
	json_object_put(o);
	/* a whole message records the large fields it carried: the next change omits them */
	o = task_json(5000, 3000, 100, 'r');
	change_delta(o, &b);
	ck_assert(!has(o, "payload") && !has(o, "result"));
	json_object_put(o);
}
END_TEST

START_TEST(resumed_after_the_end)
{
	static const struct {
		const char *id, *finished;
		bool saw;
	} cases[] = {
		{"1796659200:0", "2026-12-07T22:00:00.123456Z", false}, /* 1796680800 */
		{"1796680800:0", "2026-12-07T22:00:00.123456Z", false}, /* the same second */
		{"1796680801:3", "2026-12-07T22:00:00.9Z", false},      /* a second later */
		{"1796680802:0", "2026-12-07T22:00:00.9Z", true},       /* two */
		{"1796680900:[0,1]", "2026-12-07T22:00:00Z", true},
		{"1796680900", "2026-12-07T22:00:00Z", false}, /* no tag: not nchan's */
		{"abc:0", "2026-12-07T22:00:00Z", false},
		{"", "2026-12-07T22:00:00Z", false},
		{NULL, "2026-12-07T22:00:00Z", false},
		{"1796680900:0", NULL, false},
		{"1796680900:0", "yesterday", false},
		{"99999999999999999999:0", "2026-12-07T22:00:00Z", false},
	};

	for (size_t i = 0; i < N_OF(cases); i++)
		ck_assert_msg(change_saw_end(cases[i].id, cases[i].finished) == cases[i].saw,
			      "case %zu: %s after %s", i, cases[i].id ? cases[i].id : "NULL",
			      cases[i].finished ? cases[i].finished : "NULL");
}
END_TEST

UNITS_SUITE(change, 0, whole_then_changes, change_without_a_base_stays_whole, resumed_after_the_end)
