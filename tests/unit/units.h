/* units: the suites of the unit test program (check framework), and what they share
 * (tests/unit/units.c): the suite boilerplate (UNITS_SUITE), a silent assertion for long
 * loops (require) and tables of strings a validator takes or refuses (check_valid). */
#ifndef TASKQ_UNITS_H
#define TASKQ_UNITS_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

/* ck_assert_msg, but silent while cond holds: check records the place of every passing
 * assertion (a write to its pipe), too slow for loops of many thousand checks */
#define require(cond, ...)                                \
	do {                                              \
		if (!(cond))                              \
			ck_assert_msg(cond, __VA_ARGS__); \
	} while (0)

/* The number of elements of an array. */
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A new suite with one test case, both called name, holding the n tests (what START_TEST
 * names); timeout_s: each test's limit in seconds, 0 for check's default. The runner (main.c)
 * frees it. */
Suite *units_suite(const char *name, double timeout_s, const TTest *const tests[], size_t n);

/* Defines Suite *suite_NAME(void) over the tests listed, in that order:
 *   UNITS_SUITE(task, 0, ids, names, states) */
#define UNITS_SUITE(name, timeout_s, ...)                                 \
	Suite *suite_##name(void)                                         \
	{                                                                 \
		const TTest *const tests[] = {__VA_ARGS__};               \
		return units_suite(#name, timeout_s, tests, N_OF(tests)); \
	}

/* A string (NULL allowed) and whether a validator takes it. */
struct valid_case {
	const char *s;
	bool valid;
};

/* Asserts valid(s) == want for each of the n cases; a failure names the case. */
void check_valid(bool (*valid)(const char *), const struct valid_case *c, size_t n);
#define CHECK_VALID(valid, cases) check_valid(valid, cases, N_OF(cases))

/* An input and the text it must give. */
struct text_case {
	const char *in, *want;
};

Suite *suite_change(void);
Suite *suite_config(void);
Suite *suite_router(void);
Suite *suite_task(void);
Suite *suite_taskjson(void);
Suite *suite_queues(void);
Suite *suite_netallow(void);
Suite *suite_cmdout(void);
Suite *suite_token(void);
Suite *suite_log(void);
Suite *suite_promtext(void);
Suite *suite_cron(void);
Suite *suite_cron_props(void);
Suite *suite_tz(void);
Suite *suite_tz_zones(void);
Suite *suite_breakers(void);
Suite *suite_wstats(void);
Suite *suite_jsondup(void);
Suite *suite_httpwait(void);
Suite *suite_httpstream(void);

#endif
