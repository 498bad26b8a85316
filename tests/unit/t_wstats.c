/* Unit tests: a worker's counters as JSON (lib/wstats.c): what taskq-worker encodes,
 * taskq-fcgi decodes to the same figures; what is missing or malformed is left out alone. */
#include <stdlib.h>
#include <string.h>

#include "units.h"
#include "model/wstats.h"

/* A record with every member set, as taskq-worker's heartbeat sends it. */
static void full(struct wstats *s)
{
	static const double le[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};

	wstats_init(s);
	s->has = WSTATS_ALL;
	s->claimed = 12345678901ULL;
	s->rescued = 3;
	for (int i = 0; i < WS_NOUTCOMES; i++)
		s->outcome[i] = (unsigned long long)(i * 10 + 1);
	s->nbounds = (int)(sizeof le / sizeof le[0]);
	for (int i = 0; i <= s->nbounds; i++) {
		s->buckets[i] = (unsigned long long)(i + 1);
		s->batch_count += s->buckets[i];
		if (i < s->nbounds)
			s->le[i] = le[i];
	}
	s->batch_sum = 999;
	wstats_add_kind(s, "noop", 40, 0.125);
	wstats_add_kind(s, "sleep", 2, 3.5);
	wstats_add_kind(s, "report-pdf", 0, 0);
	for (int i = 0; i < WSDB_N; i++)
		s->db[i] = (unsigned long long)(100 + i);
}

static void assert_same(const struct wstats *a, const struct wstats *b)
{
	ck_assert_uint_eq(a->has, b->has);
	ck_assert_uint_eq(a->claimed, b->claimed);
	ck_assert_uint_eq(a->rescued, b->rescued);
	for (int i = 0; i < WS_NOUTCOMES; i++)
		ck_assert_uint_eq(a->outcome[i], b->outcome[i]);
	ck_assert_int_eq(a->nbounds, b->nbounds);
	for (int i = 0; i <= a->nbounds; i++) {
		ck_assert_uint_eq(a->buckets[i], b->buckets[i]);
		if (i < a->nbounds)
			ck_assert(a->le[i] == b->le[i]);
	}
	ck_assert_uint_eq(a->batch_sum, b->batch_sum);
	ck_assert_uint_eq(a->batch_count, b->batch_count);
	ck_assert_uint_eq(a->nkinds, b->nkinds);
	for (size_t i = 0; i < a->nkinds; i++) {
		ck_assert_str_eq(a->kinds[i].name, b->kinds[i].name);
		ck_assert_uint_eq(a->kinds[i].count, b->kinds[i].count);
		ck_assert(a->kinds[i].sum_s == b->kinds[i].sum_s);
	}
	for (int i = 0; i < WSDB_N; i++)
		ck_assert_uint_eq(a->db[i], b->db[i]);
}

START_TEST(round_trip)
{
	struct wstats in, out;
	struct taskq_err err;
	char *text, *again;

	full(&in);
	text = wstats_encode(&in);
	ck_assert_int_eq(wstats_decode(text, &out, &err), TASKQ_OK);
	assert_same(&in, &out);
	/* and the decoded record encodes to the same text */
	again = wstats_encode(&out);
	ck_assert_str_eq(text, again);
	free(again);
	free(text);
	wstats_cleanup(&out);
	wstats_cleanup(&in);
	ck_assert_uint_eq(in.nkinds, 0);
	ck_assert_ptr_null(in.kinds);
}
END_TEST

/* The text the worker has always written: whole-number bounds stay integers. */
START_TEST(the_format)
{
	struct wstats s;
	char *text;

	wstats_init(&s);
	s.has = WSTATS_ALL;
	s.nbounds = 3;
	s.le[0] = 1;
	s.le[1] = 2;
	s.le[2] = 4;
	wstats_add_kind(&s, "noop", 1, 0.5);
	text = wstats_encode(&s);
	ck_assert_str_eq(
		text,
		"{\"claimed\":0,\"rescued\":0,\"outcomes\":{\"succeeded\":0,\"failed\":0,"
		"\"retried\":0,\"cancelled\":0,\"released\":0,\"lost\":0},\"claim_batch\":{\"le\":"
		"[1,2,4],\"buckets\":[0,0,0,0],\"sum\":0,\"count\":0},\"kinds\":{\"noop\":"
		"{\"count\":1,\"sum_s\":0.5}},\"db\":{\"lost\":0,\"reconnects\":0,"
		"\"connect_failed\":0,\"statement_errors\":0}}");
	free(text);
	wstats_cleanup(&s);

	wstats_init(&s); /* nothing set: only the (empty) kinds */
	text = wstats_encode(&s);
	ck_assert_str_eq(text, "{\"kinds\":{}}");
	free(text);
	ck_assert_str_eq(wstats_outcome_name(WS_RETRIED), "retried");
	ck_assert_ptr_null(wstats_outcome_name(WS_NOUTCOMES));
	ck_assert_str_eq(wstats_db_name(WSDB_STATEMENT_ERRORS), "statement_errors");
	ck_assert_ptr_null(wstats_db_name(WSDB_N));
}
END_TEST

/* What a worker of another version (or a damaged row) may hold: each member stands alone. */
START_TEST(lenient)
{
	struct wstats s;
	struct taskq_err err;

	ck_assert_int_eq(wstats_decode(NULL, &s, &err), TASKQ_INVAL);
	ck_assert_uint_eq(s.has, 0);
	wstats_cleanup(&s);
	ck_assert_int_eq(wstats_decode("[1,2]", &s, &err), TASKQ_INVAL);
	wstats_cleanup(&s);
	ck_assert_int_eq(wstats_decode("not json", &s, &err), TASKQ_INVAL);
	wstats_cleanup(&s);

	ck_assert_int_eq(
		wstats_decode("{\"claimed\":-1,\"rescued\":2,\"outcomes\":{\"failed\":\"x\","
			      "\"lost\":4},\"db\":{\"reconnects\":1.5,\"lost\":7},\"future\":1}",
			      &s, &err),
		TASKQ_OK);
	ck_assert_uint_eq(s.has, WSTATS_RESCUED | WSTATS_OUTCOME(WS_LOST) | WSTATS_DB(WSDB_LOST));
	ck_assert_uint_eq(s.rescued, 2);
	ck_assert_uint_eq(s.outcome[WS_LOST], 4);
	ck_assert_uint_eq(s.db[WSDB_LOST], 7);
	wstats_cleanup(&s);

	/* a histogram is all or nothing: bounds that do not increase, a short bucket list, a
	 * negative bucket; without "count" it is the buckets' sum */
	static const char *const bad[] = {
		"{\"claim_batch\":{\"le\":[1,1],\"buckets\":[0,0,0],\"sum\":0}}",
		"{\"claim_batch\":{\"le\":[1,2],\"buckets\":[0,0],\"sum\":0}}",
		"{\"claim_batch\":{\"le\":[1,2],\"buckets\":[0,-1,0],\"sum\":0}}",
		"{\"claim_batch\":{\"le\":[1,2],\"buckets\":[0,1,0]}}",
		"{\"claim_batch\":{\"le\":[1,\"2\"],\"buckets\":[0,1,0],\"sum\":1}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_int_eq(wstats_decode(bad[i], &s, &err), TASKQ_OK);
		ck_assert_msg(!(s.has & WSTATS_BATCH), "%s", bad[i]);
		ck_assert_int_eq(s.nbounds, 0);
		ck_assert_uint_eq(s.buckets[0] + s.buckets[1] + s.batch_sum, 0);
		wstats_cleanup(&s);
	}
	ck_assert_int_eq(wstats_decode("{\"claim_batch\":{\"le\":[0.5,2],\"buckets\":[3,1,2],"
				       "\"sum\":9}}",
				       &s, &err),
			 TASKQ_OK);
	ck_assert_uint_eq(s.has, WSTATS_BATCH);
	ck_assert_int_eq(s.nbounds, 2);
	ck_assert(s.le[0] == 0.5);
	ck_assert_uint_eq(s.batch_count, 6);
	wstats_cleanup(&s);

	/* kinds: a row needs a count and a non-negative sum; the others are left out */
	ck_assert_int_eq(
		wstats_decode("{\"kinds\":{\"a\":{\"count\":1,\"sum_s\":2},\"b\":{\"count\":1},"
			      "\"c\":{\"count\":1,\"sum_s\":-1},\"d\":3,\"e\":{\"count\":0,"
			      "\"sum_s\":0}}}",
			      &s, &err),
		TASKQ_OK);
	ck_assert_uint_eq(s.nkinds, 2);
	ck_assert_str_eq(s.kinds[0].name, "a");
	ck_assert(s.kinds[0].sum_s == 2);
	ck_assert_str_eq(s.kinds[1].name, "e");
	wstats_cleanup(&s);
}
END_TEST

Suite *suite_wstats(void)
{
	Suite *s = suite_create("wstats");
	TCase *tc = tcase_create("wstats");
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, the_format);
	tcase_add_test(tc, lenient);
	suite_add_tcase(s, tc);
	return s;
}
