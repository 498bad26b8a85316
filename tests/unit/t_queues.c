/* Unit tests: the worker's --queues list. */
#include <stdlib.h>

#include "queues.h"
#include "units.h"

struct qcase {
	const char *spec;
	int n;
	const char *first;
	int first_limit, last_limit;
};

START_TEST(queue_lists)
{
	static const struct qcase cases[] = {
		{"default", 1, "default", 0, 0},
		{"default=8,reports=2", 2, "default", 8, 2},
		{"a,b=3,c", 3, "a", 0, 0},
		{"a,", 1, "a", 0, 0},
		{"", -1, NULL, 0, 0},
		{",a", -1, NULL, 0, 0},
		{"a=0", -1, NULL, 0, 0},
		{"a=", -1, NULL, 0, 0},
		{"a=x", -1, NULL, 0, 0},
		{"a b", -1, NULL, 0, 0},
		{"a=1=2", -1, NULL, 0, 0},
	};
	for (size_t i = 0; i < N_OF(cases); i++) {
		char *names[8];
		int limits[8], n = queues_parse(cases[i].spec, names, limits, 8);
		ck_assert_msg(n == cases[i].n, "case %zu (%s): %d", i, cases[i].spec, n);
		if (n > 0) {
			ck_assert_str_eq(names[0], cases[i].first);
			ck_assert_int_eq(limits[0], cases[i].first_limit);
			ck_assert_int_eq(limits[n - 1], cases[i].last_limit);
		}
		for (int j = 0; j < n; j++)
			free(names[j]);
	}
}
END_TEST

UNITS_SUITE(queues, 0, queue_lists)
