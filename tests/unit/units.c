/* units.c: the helpers the unit suites share (declared in units.h): building a suite, and
 * checking a validator against a table. No test of its own. */
#include "units.h"

Suite *units_suite(const char *name, double timeout_s, const TTest *const tests[], size_t n)
{
	Suite *s = suite_create(name);
	TCase *tc = tcase_create(name);

	if (timeout_s > 0)
		tcase_set_timeout(tc, timeout_s);
	for (size_t i = 0; i < n; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	return s;
}

void check_valid(bool (*valid)(const char *), const struct valid_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(valid(c[i].s) == c[i].valid, "case %zu (%s): want %s", i,
			      c[i].s ? c[i].s : "NULL", c[i].valid ? "taken" : "refused");
}
