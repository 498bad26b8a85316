/*
 * Unit tests: cron properties over many fires — a year of fires in several zones, every
 * second across a DST change, against a minute by minute (second by second) search where
 * the zone has no DST, and the wall-clock walk's bounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "time/cron.h"
#include "time/tz.h"
#include "timecheck.h"
#include "units.h"

/* ---- properties ----------------------------------------------------------------------- */

/* does the wall clock w match c (calendar fields only)? */
static int wall_matches(const struct cron *c, const struct cron_time *w)
{
	int dom = c->dom >> w->mday & 1, dow = c->dow >> w->wday & 1;
	int day = (c->flags & (CRON_DOM_STAR | CRON_DOW_STAR)) ? dom && dow : dom || dow;

	return (c->sec >> w->sec & 1) && (c->min >> w->min & 1) && (c->hour >> w->hour & 1) &&
	       (c->month >> w->mon & 1) && day;
}

/* A year of fires in each zone: strictly increasing; each at a matching wall clock or
 * (a matching time in a gap) at a transition; the daily job on every local day once. */
START_TEST(a_year_of_fires)
{
	static const char *const zones[] = {
		"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata",
		"UTC",           "Pacific/Chatham",  "America/Santiago"};
	static const char *const exprs[] = {"30 2 * * *", "0 * * * *", "*/15 * * * *",
					    "45 1,2 * * *", "0 0 * * SUN"};
	struct cron_time w;
	char a[32], b[32];

	for (size_t zi = 0; zi < sizeof zones / sizeof zones[0]; zi++) {
		struct tz *z = zone(zones[zi]);
		for (size_t ei = 0; ei < sizeof exprs / sizeof exprs[0]; ei++) {
			struct cron c = parse_ok(exprs[ei]);
			int64_t t = iso("2024-01-01T00:00:00Z"), end = iso("2025-01-01T00:00:00Z");
			int64_t prev = t, days = 0, day, prev_day = -1;

			while ((t = cron_next(&c, z, t)) < end) {
				require(t > prev, "%s %s: %s after %s", zones[zi], exprs[ei],
					iso_str(t, a, sizeof a), iso_str(prev, b, sizeof b));
				tz_to_local(z, t, &w, NULL);
				require(wall_matches(&c, &w) ||
						tz_offset_at(z, t - 1) != tz_offset_at(z, t),
					"%s %s: %s does not match", zones[zi], exprs[ei],
					iso_str(t, a, sizeof a));
				day = tz_days_from_civil(w.year, w.mon, w.mday);
				if (ei == 0) { /* the daily job: one fire per local day */
					require(prev_day < 0 || day == prev_day + 1,
						"%s: daily fire %s", zones[zi],
						iso_str(t, a, sizeof a));
					days++;
				}
				prev = t;
				prev_day = day;
			}
			if (ei == 0)
				ck_assert_msg(days >= 365 && days <= 367, "%s: %lld days",
					      zones[zi], (long long)days);
		}
		tz_free(z);
	}
}
END_TEST

/* 100,000 successive fires of the every-second schedule: each one second after the last,
 * but for the repeated hour of the fall back (which fires no second time) */
START_TEST(every_second_100k)
{
	struct cron c = parse_ok("* * * * * *");
	struct tz *z = zone("Europe/Berlin");
	int64_t t = iso("2024-10-26T12:00:00Z"), next;
	int jumps = 0;

	for (int i = 0; i < 100000; i++) {
		next = cron_next(&c, z, t);
		if (next != t + 1) {
			ck_assert_int_eq(next, iso("2024-10-27T02:00:00Z"));
			ck_assert_int_eq(t, iso("2024-10-27T00:59:59Z"));
			jumps++;
		}
		t = next;
	}
	ck_assert_int_eq(jumps, 1);
	t = iso("2024-03-30T12:00:00Z"); /* spring: no jump at all */
	for (int i = 0; i < 100000; i++) {
		next = cron_next(&c, z, t);
		require(next == t + 1, "after %lld: %lld", (long long)t, (long long)next);
		t = next;
	}
	tz_free(z);
}
END_TEST

/* a tiny deterministic generator (the same cases on every run) */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* a random field: '*', a value, a list, a range or a step within lo..hi */
static void rnd_field(uint32_t *s, int lo, int hi, char *out, size_t size)
{
	int a = lo + (int)(rnd(s) % (uint32_t)(hi - lo + 1));
	int b = lo + (int)(rnd(s) % (uint32_t)(hi - lo + 1));

	if (a > b) {
		int x = a;
		a = b;
		b = x;
	}
	switch (rnd(s) % 6) {
	case 0:
		snprintf(out, size, "*");
		break;
	case 1:
		snprintf(out, size, "*/%d", 1 + (int)(rnd(s) % 7));
		break;
	case 2:
		snprintf(out, size, "%d-%d/%d", a, b, 1 + (int)(rnd(s) % 3));
		break;
	case 3:
		snprintf(out, size, "%d", a);
		break;
	case 4:
		snprintf(out, size, "%d,%d", a, b);
		break;
	default:
		snprintf(out, size, "%d-%d", a, b);
		break;
	}
}

/* The first instant after `after` whose wall clock in z (a zone without DST) matches c,
 * found second by second but for the days, hours and minutes that cannot match; -1 if
 * none within 400 days. */
static int64_t linear_next(const struct cron *c, const struct tz *z, int64_t after)
{
	struct cron_time w;
	int64_t t = after + 1;

	while (t < after + 400 * 86400) {
		int dom, dow;

		tz_to_local(z, t, &w, NULL);
		dom = c->dom >> w.mday & 1;
		dow = c->dow >> w.wday & 1;
		if (!(c->month >> w.mon & 1) ||
		    !((c->flags & (CRON_DOM_STAR | CRON_DOW_STAR)) ? dom && dow : dom || dow))
			t += 86400 - (w.hour * 3600 + w.min * 60 + w.sec);
		else if (!(c->hour >> w.hour & 1))
			t += 3600 - (w.min * 60 + w.sec);
		else if (!(c->min >> w.min & 1))
			t += 60 - w.sec;
		else if (!(c->sec >> w.sec & 1))
			t++;
		else
			return t;
	}
	return -1;
}

/* cron_next against that search, in zones without DST, on random 5- and 6-field
 * expressions (the same ones on every run) */
START_TEST(against_a_linear_search)
{
	static const char *const zones[] = {"UTC", "Asia/Kolkata", "Asia/Kathmandu"};
	char f[6][24], expr[160], err[256], a[32], b[32], d[32];
	uint32_t seed = 2463534242u;
	struct cron c;
	int checked = 0;

	for (int n = 0; n < 3000; n++) {
		struct tz *z = zone(zones[n % 3]);
		int six = n % 4 == 0;
		int64_t after = iso("2023-06-15T00:00:00Z") + (int64_t)(rnd(&seed) % 400000000u);
		int64_t got, want;

		rnd_field(&seed, 0, 59, f[0], sizeof f[0]);
		rnd_field(&seed, 0, 59, f[1], sizeof f[1]);
		rnd_field(&seed, 0, 23, f[2], sizeof f[2]);
		rnd_field(&seed, 1, 31, f[3], sizeof f[3]);
		rnd_field(&seed, 1, 12, f[4], sizeof f[4]);
		rnd_field(&seed, 0, 7, f[5], sizeof f[5]);
		snprintf(expr, sizeof expr, "%s%s%s %s %s %s %s", six ? f[0] : "", six ? " " : "",
			 f[1], f[2], f[3], f[4], f[5]);
		if (cron_parse(expr, &c, err, sizeof err) < 0) {
			require(strstr(err, "never fires"), "%s: %s", expr, err);
			tz_free(z);
			continue;
		}
		got = cron_next(&c, z, after);
		want = linear_next(&c, z, after);
		if (want == -1)
			require(got == -1 || got >= after + 400 * 86400,
				"\"%s\" in %s after %s: %s", expr, zones[n % 3],
				iso_str(after, a, sizeof a), iso_str(got, b, sizeof b));
		else
			require(got == want, "\"%s\" in %s after %s: %s, want %s", expr,
				zones[n % 3], iso_str(after, a, sizeof a),
				iso_str(got, b, sizeof b), iso_str(want, d, sizeof d));
		checked++;
		tz_free(z);
	}
	ck_assert_int_gt(checked, 2000);
}
END_TEST

START_TEST(next_wall_clock)
{
	struct cron c = parse_ok("0 0 29 2 *");
	struct cron_time t = {.year = 2097, .mon = 1, .mday = 1};

	ck_assert_int_eq(cron_next_wall(&c, &t, 2105), 0);
	ck_assert_int_eq(t.year, 2104);
	ck_assert_int_eq(t.mon, 2);
	ck_assert_int_eq(t.mday, 29);
	t = (struct cron_time){.year = 2097, .mon = 1, .mday = 1};
	ck_assert_int_eq(cron_next_wall(&c, &t, 2103), -1);
	c = parse_ok("@every 5m");
	ck_assert_int_eq(cron_next_wall(&c, &t, 2103), -1);
	/* out of range input is refused, not walked */
	c = parse_ok("* * * * *");
	t = (struct cron_time){.year = 2024, .mon = 13, .mday = 1};
	ck_assert_int_eq(cron_next_wall(&c, &t, 2030), -1);
	ck_assert_int_eq(cron_next(&c, NULL, CRON_TIME_MIN - 1), -1);
	ck_assert_int_eq(cron_next(&c, NULL, CRON_TIME_MAX), -1);
	ck_assert_int_eq(cron_next(&c, NULL, INT64_MAX), -1);
	ck_assert_int_eq(cron_next(&c, NULL, INT64_MIN), -1);
	ck_assert_int_eq(cron_next(&c, NULL, 0), 60); /* NULL zone: UTC */
}
END_TEST

Suite *suite_cron_props(void)
{
	Suite *s = suite_create("cron_props");
	TCase *tc = tcase_create("cron_props");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, a_year_of_fires);
	tcase_add_test(tc, every_second_100k);
	tcase_add_test(tc, against_a_linear_search);
	tcase_add_test(tc, next_wall_clock);
	suite_add_tcase(s, tc);
	return s;
}
