/*
 * Unit tests: the system's time zones — every zone against glibc's localtime_r (TZ set in
 * this single-threaded test program only), exact transitions, wall clock to instant in gaps
 * and folds, the civil calendar, one zone shared by threads. Hand-made zone files and POSIX
 * TZ footers are t_tz.c's.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "time/cron.h"
#include "time/tz.h"
#include "timecheck.h"
#include "units.h"

/* ---- against glibc ---------------------------------------------------------------------- */

static const char *const sweep_zones[] = {
	"Europe/Berlin",
	"America/New_York",
	"Australia/Lord_Howe",
	"Asia/Kolkata",
	"Europe/Dublin", /* negative DST in the rules: IST standard, GMT in winter */
	"America/Sao_Paulo",
	"Pacific/Chatham",
	"Pacific/Apia",
	"America/St_Johns",
	"Antarctica/Troll",
	"America/Santiago",
	"America/Nuuk",
	"Asia/Tehran",
	"Africa/Casablanca",
	"Pacific/Kiritimati",
	"Australia/Sydney",
	"Europe/London",
	"America/Los_Angeles",
	"Asia/Kathmandu",
	"Etc/GMT+5",
	"UTC",
	"Etc/UTC",
};

START_TEST(zones_match_glibc)
{
	const char *name = sweep_zones[_i];
	struct tz *z = zone(name);
	int seen;

	glibc_tz(name);
	/* 1850-2250 every ~5 days, 2020-2045 every ~3 hours */
	seen = sweep(z, name, iso("1850-01-01T00:00:00Z"), iso("2250-01-01T00:00:00Z"),
		     5 * 86400 + 3607);
	seen += sweep(z, name, iso("2020-01-01T00:00:00Z"), iso("2045-01-01T00:00:00Z"),
		      3 * 3600 + 1);
	if (strcmp(name, "UTC") && strcmp(name, "Etc/UTC") && strcmp(name, "Etc/GMT+5") &&
	    strcmp(name, "Asia/Kolkata") && strcmp(name, "Asia/Kathmandu"))
		ck_assert_msg(seen > 0, "%s: no transitions seen", name);
	glibc_tz(NULL);
	tz_free(z);
}
END_TEST

/* Every zone and link that tzdata.zi lists loads, and agrees with glibc every 29 days
 * 1900-2100 (and at the transitions seen): the names tzdata has are the names tz_load
 * accepts, and nothing in the files is read otherwise than glibc reads it. */
START_TEST(every_tzdata_zone_matches_glibc)
{
	char line[512], name[256], target[256], err[256];
	FILE *f = fopen("/usr/share/zoneinfo/tzdata.zi", "r");
	int zones = 0;

	if (!f)
		return; /* a tzdata without its source summary */
	while (fgets(line, sizeof line, f)) {
		struct tz *z;
		if (sscanf(line, "Z %255s", name) != 1 &&
		    sscanf(line, "L %255s %255s", target, name) != 2)
			continue;
		z = tz_load(name, err, sizeof err);
		ck_assert_msg(z != NULL, "%s", err);
		glibc_tz(name);
		sweep(z, name, iso("1900-01-01T00:00:00Z"), iso("2100-01-01T00:00:00Z"),
		      29 * 86400 + 3607);
		glibc_tz(NULL);
		tz_free(z);
		zones++;
	}
	fclose(f);
	ck_assert_int_gt(zones, 400);
}
END_TEST

/* ---- exact instants ------------------------------------------------------------------- */

static const struct {
	const char *zone, *at;
	int off;
} offsets[] = {
	{"Europe/Berlin", "2024-03-31T00:59:59Z", 3600},
	{"Europe/Berlin", "2024-03-31T01:00:00Z", 7200},
	{"Europe/Berlin", "2024-10-27T00:59:59Z", 7200},
	{"Europe/Berlin", "2024-10-27T01:00:00Z", 3600},
	{"Europe/Berlin", "2100-03-28T00:59:59Z", 3600},
	{"Europe/Berlin", "2100-03-28T01:00:00Z", 7200},
	{"Europe/Berlin", "2400-10-31T01:00:00Z", 3600},
	{"America/New_York", "2024-03-10T06:59:59Z", -18000},
	{"America/New_York", "2024-03-10T07:00:00Z", -14400},
	{"America/New_York", "2024-11-03T06:00:00Z", -18000},
	{"Australia/Lord_Howe", "2024-10-05T15:29:59Z", 37800},
	{"Australia/Lord_Howe", "2024-10-05T15:30:00Z", 39600},
	{"Australia/Lord_Howe", "2024-04-06T14:59:59Z", 39600},
	{"Australia/Lord_Howe", "2024-04-06T15:00:00Z", 37800},
	{"Europe/Dublin", "2024-01-15T12:00:00Z", 0},
	{"Europe/Dublin", "2024-07-15T12:00:00Z", 3600},
	{"Asia/Kolkata", "2124-07-15T12:00:00Z", 19800},
	{"Pacific/Apia", "2011-12-30T09:59:59Z", -36000},
	{"Pacific/Apia", "2011-12-30T10:00:00Z", 50400},
	{"UTC", "2024-07-15T12:00:00Z", 0},
};

START_TEST(offsets_at_transitions)
{
	struct tz *z = zone(offsets[_i].zone);

	ck_assert_int_eq(tz_offset_at(z, iso(offsets[_i].at)), offsets[_i].off);
	tz_free(z);
}
END_TEST

/* wall clock -> instant: gaps give the transition, folds the earlier instant */
static const struct {
	const char *zone;
	struct cron_time wall;
	const char *want;
} locals[] = {
	{"Europe/Berlin", {2024, 3, 31, 1, 59, 59, 0}, "2024-03-31T00:59:59Z"},
	{"Europe/Berlin", {2024, 3, 31, 2, 0, 0, 0}, "2024-03-31T01:00:00Z"},
	{"Europe/Berlin", {2024, 3, 31, 2, 30, 0, 0}, "2024-03-31T01:00:00Z"},
	{"Europe/Berlin", {2024, 3, 31, 2, 59, 59, 0}, "2024-03-31T01:00:00Z"},
	{"Europe/Berlin", {2024, 3, 31, 3, 0, 0, 0}, "2024-03-31T01:00:00Z"},
	{"Europe/Berlin", {2024, 3, 31, 3, 0, 1, 0}, "2024-03-31T01:00:01Z"},
	{"Europe/Berlin", {2024, 10, 27, 1, 59, 59, 0}, "2024-10-26T23:59:59Z"},
	{"Europe/Berlin", {2024, 10, 27, 2, 0, 0, 0}, "2024-10-27T00:00:00Z"},
	{"Europe/Berlin", {2024, 10, 27, 2, 30, 0, 0}, "2024-10-27T00:30:00Z"},
	{"Europe/Berlin", {2024, 10, 27, 2, 59, 59, 0}, "2024-10-27T00:59:59Z"},
	{"Europe/Berlin", {2024, 10, 27, 3, 0, 0, 0}, "2024-10-27T02:00:00Z"},
	{"Europe/Berlin", {2100, 3, 28, 2, 30, 0, 0}, "2100-03-28T01:00:00Z"},
	{"Europe/Berlin", {2100, 10, 31, 2, 30, 0, 0}, "2100-10-31T00:30:00Z"},
	{"America/New_York", {2024, 3, 10, 2, 30, 0, 0}, "2024-03-10T07:00:00Z"},
	{"America/New_York", {2024, 11, 3, 1, 30, 0, 0}, "2024-11-03T05:30:00Z"},
	{"Australia/Lord_Howe", {2024, 10, 6, 2, 15, 0, 0}, "2024-10-05T15:30:00Z"},
	{"Australia/Lord_Howe", {2024, 4, 7, 1, 45, 0, 0}, "2024-04-06T14:45:00Z"},
	{"Australia/Lord_Howe", {2024, 4, 7, 2, 0, 0, 0}, "2024-04-06T15:30:00Z"},
	{"Pacific/Apia", {2011, 12, 30, 12, 0, 0, 0}, "2011-12-30T10:00:00Z"},
	{"Asia/Kolkata", {2024, 1, 1, 5, 30, 0, 0}, "2024-01-01T00:00:00Z"},
	{"UTC", {2024, 2, 29, 23, 59, 59, 0}, "2024-02-29T23:59:59Z"},
	/* fields out of range carry */
	{"UTC", {2024, 2, 29, 23, 59, 60, 0}, "2024-03-01T00:00:00Z"},
	{"UTC", {2024, 13, 1, 0, 0, 0, 0}, "2025-01-01T00:00:00Z"},
	{"UTC", {2024, 0, 1, 0, 0, 0, 0}, "2023-12-01T00:00:00Z"},
	{"UTC", {2023, 2, 29, 0, 0, 0, 0}, "2023-03-01T00:00:00Z"},
};

START_TEST(local_to_instant)
{
	struct tz *z = zone(locals[_i].zone);

	ck_assert_int_eq(tz_from_local(z, &locals[_i].wall), iso(locals[_i].want));
	tz_free(z);
}
END_TEST

/* instant -> wall clock -> instant gives the instant back, or (the second pass of a fold)
 * an earlier instant with the same wall clock */
START_TEST(round_trips)
{
	static const char *const zones[] = {"Europe/Berlin",       "America/New_York",
					    "Australia/Lord_Howe", "Pacific/Chatham",
					    "America/Santiago",    "Antarctica/Troll"};
	struct cron_time w, w2;
	int folds = 0;

	for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
		struct tz *z = zone(zones[i]);
		for (int64_t t = iso("2015-01-01T00:00:00Z"), end = t + 20 * 31556952; t < end;
		     t += 1801) {
			int64_t back;
			tz_to_local(z, t, &w, NULL);
			back = tz_from_local(z, &w);
			if (back == t)
				continue;
			tz_to_local(z, back, &w2, NULL);
			require(back < t && back >= t - 2 * 3600 && w2.year == w.year &&
					w2.mon == w.mon && w2.mday == w.mday && w2.hour == w.hour &&
					w2.min == w.min && w2.sec == w.sec,
				"%s: %lld -> %lld", zones[i], (long long)t, (long long)back);
			folds++;
		}
		tz_free(z);
	}
	ck_assert_int_gt(folds, 0);
}
END_TEST

/* ---- the calendar --------------------------------------------------------------------- */

START_TEST(civil_calendar)
{
	struct cron_time w;
	struct tm tm;
	int y, m, d;

	ck_assert_int_eq(tz_days_from_civil(1970, 1, 1), 0);
	ck_assert_int_eq(tz_days_from_civil(2000, 3, 1), 11017);
	ck_assert_int_eq(tz_days_from_civil(1, 1, 1), -719162);
	ck_assert_int_eq(tz_weekday(0), 4);
	ck_assert_int_eq(tz_weekday(-1), 3);
	ck_assert_int_eq(tz_weekday(tz_days_from_civil(2024, 9, 1)), 0);
	ck_assert_int_eq(tz_days_in_month(2024, 2), 29);
	ck_assert_int_eq(tz_days_in_month(2100, 2), 28);
	ck_assert_int_eq(tz_days_in_month(2000, 2), 29);
	ck_assert_int_eq(tz_days_in_month(2023, 4), 30);
	ck_assert_int_eq(tz_days_in_month(2023, 13), 0);
	for (int64_t days = -800000; days < 3000000; days += 97) {
		tz_civil_from_days(days, &y, &m, &d);
		require(tz_days_from_civil(y, m, d) == days, "day %lld", (long long)days);
	}
	/* against gmtime_r */
	for (int64_t t = -62135596800LL; t < 253402300800LL; t += 86400LL * 37 + 3671) {
		time_t tt = (time_t)t;
		require(gmtime_r(&tt, &tm) != NULL, "gmtime_r(%lld)", (long long)t);
		tz_gmtime(t, &w);
		require(w.year == tm.tm_year + 1900 && w.mon == tm.tm_mon + 1 &&
				w.mday == tm.tm_mday && w.hour == tm.tm_hour &&
				w.min == tm.tm_min && w.sec == tm.tm_sec && w.wday == tm.tm_wday &&
				tz_timegm(&w) == t,
			"gmtime %lld", (long long)t);
	}
	/* huge instants are clamped, not overflowed */
	tz_to_local(NULL, INT64_MAX, &w, &y);
	ck_assert_int_eq(y, 0);
	tz_to_local(NULL, INT64_MIN, &w, &y);
	w = (struct cron_time){.year = 2147483647, .mon = 2147483647, .mday = 2147483647};
	(void)tz_from_local(NULL, &w);
}
END_TEST

/* ---- threads -------------------------------------------------------------------------- */

struct job {
	const struct tz *z;
	int64_t from, to, sum;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	struct cron_time w;

	for (int64_t t = j->from; t < j->to; t += 86400 + 61) {
		int off;
		tz_to_local(j->z, t, &w, &off);
		j->sum += off + tz_from_local(j->z, &w) - t;
	}
	return NULL;
}

START_TEST(shared_between_threads)
{
	struct tz *z = zone("Europe/Berlin");
	struct job jobs[4];
	struct job alone = {z, iso("2000-01-01T00:00:00Z"), iso("2100-01-01T00:00:00Z"), 0};
	pthread_t th[4];

	worker(&alone);
	for (int i = 0; i < 4; i++) {
		jobs[i] = alone;
		jobs[i].sum = 0;
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker, &jobs[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_int_eq(jobs[i].sum, alone.sum);
	}
	tz_free(z);
}
END_TEST

Suite *suite_tz_zones(void)
{
	Suite *s = suite_create("tz_zones");
	TCase *tc = tcase_create("tz_zones");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, zones_match_glibc, 0,
			    (int)(sizeof sweep_zones / sizeof sweep_zones[0]));
	tcase_add_test(tc, every_tzdata_zone_matches_glibc);
	tcase_add_loop_test(tc, offsets_at_transitions, 0,
			    (int)(sizeof offsets / sizeof offsets[0]));
	tcase_add_loop_test(tc, local_to_instant, 0, (int)(sizeof locals / sizeof locals[0]));
	tcase_add_test(tc, round_trips);
	tcase_add_test(tc, civil_calendar);
	tcase_add_test(tc, shared_between_threads);
	suite_add_tcase(s, tc);
	return s;
}
