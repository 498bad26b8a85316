/* Unit tests: the Prometheus text writer — escaping, names, values, families, histograms. */
#include <math.h>
#include <string.h>

#include "promtext.h"
#include "units.h"

START_TEST(family_and_samples)
{
	struct ptext t;

	pt_init(&t);
	ck_assert(pt_family(&t, "taskq_x_total", "counter", "Things.\nMore \\ text."));
	pt_sample_u64(&t, "", (const char *const[]){"queue", "default", "state", "queued", NULL},
		      42);
	pt_sample(&t, "", NULL, 1.5);
	ck_assert_str_eq(t.buf, "# HELP taskq_x_total Things.\\nMore \\\\ text.\n"
				"# TYPE taskq_x_total counter\n"
				"taskq_x_total{queue=\"default\",state=\"queued\"} 42\n"
				"taskq_x_total 1.5\n");
	ck_assert_int_eq(t.errors, 0);
	pt_free(&t);
}
END_TEST

START_TEST(label_values_are_escaped)
{
	struct ptext t;

	pt_init(&t);
	ck_assert(pt_family(&t, "m", "gauge", ""));
	pt_sample(&t, "", (const char *const[]){"v", "a\"b\\c\nd", NULL}, 0);
	/* invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong NUL,
	 * a surrogate; valid multi-byte text stays */
	pt_sample(&t, "", (const char *const[]){"v", "x\x80y\xC3z\xC0\x80\xED\xA0\x80ü€😀", NULL},
		  0);
	ck_assert_str_eq(t.buf, "# HELP m \n# TYPE m gauge\n"
				"m{v=\"a\\\"b\\\\c\\nd\"} 0\n"
				"m{v=\"x\xEF\xBF\xBDy\xEF\xBF\xBDz\xEF\xBF\xBD\xEF\xBF\xBD"
				"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDü€😀\"} 0\n");
	pt_free(&t);
}
END_TEST

START_TEST(names_are_checked)
{
	static const struct valid_case metrics[] = {
		{"taskq_a:b_1", true}, {"1abc", false}, {"a-b", false}, {"", false}};
	static const struct valid_case labels[] = {
		{"route", true}, {"__name__", false}, {"a:b", false}};
	struct ptext t;

	CHECK_VALID(pt_valid_metric_name, metrics);
	CHECK_VALID(pt_valid_label_name, labels);
	pt_init(&t);
	ck_assert(!pt_family(&t, "bad name", "gauge", "x"));
	pt_sample(&t, "", NULL, 1); /* no family open: dropped */
	ck_assert(!pt_family(&t, "ok", "gauges", "x"));
	ck_assert(pt_family(&t, "ok", "gauge", "x"));
	ck_assert(!pt_family(&t, "ok", "gauge", "x")); /* a family appears once */
	pt_sample(&t, "", NULL, 2);                    /* ... and its samples are dropped */
	ck_assert(pt_family(&t, "ok2", "gauge", "x"));
	pt_sample(&t, "", (const char *const[]){"bad-label", "v", NULL}, 3);
	ck_assert_str_eq(t.buf, "# HELP ok x\n# TYPE ok gauge\n# HELP ok2 x\n# TYPE ok2 gauge\n");
	ck_assert_int_eq(t.errors, 4);
	pt_free(&t);
}
END_TEST

START_TEST(values)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{0, "0"},
		{123456789012.0, "123456789012"},
		{0.0005, "0.0005"},
		{0.1 + 0.2, "0.30000000000000004"}, /* needs 17 digits to read back the same */
		{NAN, "NaN"},
		{INFINITY, "+Inf"},
		{-INFINITY, "-Inf"},
		{1e300, "1e+300"},
	};
	char b[40];

	for (size_t i = 0; i < N_OF(cases); i++) {
		pt_format_value(b, sizeof b, cases[i].v);
		ck_assert_str_eq(b, cases[i].want);
	}
}
END_TEST

START_TEST(histogram_is_cumulative)
{
	struct ptext t;
	const double le[] = {0.5, 1};
	const unsigned long long counts[] = {2, 0, 3};

	pt_init(&t);
	ck_assert(pt_family(&t, "h_seconds", "histogram", "h"));
	pt_histogram(&t, (const char *const[]){"route", "/r/*", NULL}, le, 2, counts, 7.25);
	ck_assert_str_eq(t.buf, "# HELP h_seconds h\n# TYPE h_seconds histogram\n"
				"h_seconds_bucket{route=\"/r/*\",le=\"0.5\"} 2\n"
				"h_seconds_bucket{route=\"/r/*\",le=\"1\"} 2\n"
				"h_seconds_bucket{route=\"/r/*\",le=\"+Inf\"} 5\n"
				"h_seconds_sum{route=\"/r/*\"} 7.25\n"
				"h_seconds_count{route=\"/r/*\"} 5\n");
	pt_free(&t);
}
END_TEST

START_TEST(buffer_grows)
{
	struct ptext t;

	pt_init(&t);
	ck_assert(pt_family(&t, "g", "gauge", "g"));
	for (int i = 0; i < 2000; i++)
		pt_sample(&t, "", (const char *const[]){"k", "a fairly long label value", NULL}, i);
	ck_assert_uint_eq(strlen(t.buf), t.len);
	ck_assert(strstr(t.buf, "g{k=\"a fairly long label value\"} 1999\n"));
	pt_free(&t);
}
END_TEST

UNITS_SUITE(promtext, 0, family_and_samples, label_values_are_escaped, names_are_checked, values,
	    histogram_is_cumulative, buffer_grows)
