/*
 * Unit tests: cron expressions — parsing and its messages, and the next fire instants in
 * several zones (DST gaps and folds, 30-minute DST, no DST, UTC, 2100 past the zone
 * tables, leap days), Vixie day matching, the seconds field, @every. The properties over
 * many fires are t_cron_props.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "time/cron.h"
#include "time/tz.h"
#include "timecheck.h"
#include "units.h"

/* ---- next instants ------------------------------------------------------------------- */

static const struct {
	const char *expr, *zone, *after, *want[8];
} nexts[] = {
	/* Berlin, spring forward 2024-03-31 02:00 CET -> 03:00 CEST (01:00Z): the daily 02:30
	 * fires once, at the transition; fall back 2024-10-27 03:00 CEST -> 02:00 CET (01:00Z):
	 * once, at the first 02:30 */
	{"30 2 * * *",
	 "Europe/Berlin",
	 "2024-03-30T01:30:00Z",
	 {"2024-03-31T01:00:00Z", "2024-04-01T00:30:00Z", "2024-04-02T00:30:00Z"}},
	{"30 2 * * *",
	 "Europe/Berlin",
	 "2024-10-26T00:30:00Z",
	 {"2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z", "2024-10-29T01:30:00Z"}},
	/* hourly: the repeated hour fires once; the skipped hour fires at the transition */
	{"0 * * * *",
	 "Europe/Berlin",
	 "2024-10-26T23:00:00Z",
	 {"2024-10-27T00:00:00Z", "2024-10-27T02:00:00Z", "2024-10-27T03:00:00Z"}},
	{"0 * * * *",
	 "Europe/Berlin",
	 "2024-03-30T23:30:00Z",
	 {"2024-03-31T00:00:00Z", "2024-03-31T01:00:00Z", "2024-03-31T02:00:00Z"}},
	/* every 15 minutes across the gap and the fold: no duplicates */
	{"*/15 * * * *",
	 "Europe/Berlin",
	 "2024-03-31T00:30:00Z",
	 {"2024-03-31T00:45:00Z", "2024-03-31T01:00:00Z", "2024-03-31T01:15:00Z",
	  "2024-03-31T01:30:00Z"}},
	{"*/15 * * * *",
	 "Europe/Berlin",
	 "2024-10-27T00:30:00Z",
	 {"2024-10-27T00:45:00Z", "2024-10-27T02:00:00Z", "2024-10-27T02:15:00Z"}},
	/* after an instant in the second pass of the fold: nothing more until 03:00 CET */
	{"*/15 * * * *", "Europe/Berlin", "2024-10-27T01:10:00Z", {"2024-10-27T02:00:00Z"}},
	/* New York: 2024-03-10 02:00 EST -> 03:00 EDT (07:00Z), 2024-11-03 02:00 EDT -> 01:00
	 * EST (06:00Z) */
	{"30 2 * * *",
	 "America/New_York",
	 "2024-03-09T07:30:00Z",
	 {"2024-03-10T07:00:00Z", "2024-03-11T06:30:00Z"}},
	{"30 1 * * *",
	 "America/New_York",
	 "2024-11-02T05:30:00Z",
	 {"2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z"}},
	/* Lord Howe: DST is 30 minutes; 2024-10-06 02:00 -> 02:30 (+10:30 -> +11, 15:30Z),
	 * 2024-04-07 02:00 -> 01:30 (+11 -> +10:30, 15:00Z) */
	{"15 2 * * *",
	 "Australia/Lord_Howe",
	 "2024-10-04T15:45:00Z",
	 {"2024-10-05T15:30:00Z", "2024-10-06T15:15:00Z"}},
	{"*/10 * * * *",
	 "Australia/Lord_Howe",
	 "2024-10-05T15:20:00Z",
	 {"2024-10-05T15:30:00Z", "2024-10-05T15:40:00Z"}},
	{"45 1 * * *",
	 "Australia/Lord_Howe",
	 "2024-04-05T14:45:00Z",
	 {"2024-04-06T14:45:00Z", "2024-04-07T15:15:00Z"}},
	/* no DST */
	{"0 9 * * MON-FRI",
	 "Asia/Kolkata",
	 "2024-03-08T04:00:00Z",
	 {"2024-03-11T03:30:00Z", "2024-03-12T03:30:00Z"}},
	{"0 0 1 1 *",
	 "UTC",
	 "2024-06-01T00:00:00Z",
	 {"2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"}},
	{"0 0 1 1 *", "Etc/UTC", "2024-12-31T23:59:59Z", {"2025-01-01T00:00:00Z"}},
	/* 2100: past the transitions of the files, from the TZ string of their footer */
	{"30 2 * * *",
	 "Europe/Berlin",
	 "2100-03-27T01:30:00Z",
	 {"2100-03-28T01:00:00Z", "2100-03-29T00:30:00Z"}},
	{"30 2 * * *",
	 "Europe/Berlin",
	 "2100-10-30T00:30:00Z",
	 {"2100-10-31T00:30:00Z", "2100-11-01T01:30:00Z"}},
	{"30 2 * * *",
	 "America/New_York",
	 "2100-03-13T07:30:00Z",
	 {"2100-03-14T07:00:00Z", "2100-03-15T06:30:00Z"}},
	{"30 1 * * *",
	 "America/New_York",
	 "2100-11-06T05:30:00Z",
	 {"2100-11-07T05:30:00Z", "2100-11-08T06:30:00Z"}},
	/* leap days, and 2100 is not a leap year */
	{"0 0 29 2 *",
	 "UTC",
	 "2024-03-01T00:00:00Z",
	 {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
	{"0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", {"2104-02-29T00:00:00Z"}},
	{"0 12 29 FEB *", "Europe/Berlin", "2024-01-01T00:00:00Z", {"2024-02-29T11:00:00Z"}},
	/* Vixie: both day fields restricted -> either; one of them '*' -> both */
	{"0 0 13 * FRI",
	 "UTC",
	 "2024-09-01T00:00:00Z",
	 {"2024-09-06T00:00:00Z", "2024-09-13T00:00:00Z", "2024-09-20T00:00:00Z",
	  "2024-09-27T00:00:00Z", "2024-10-04T00:00:00Z", "2024-10-11T00:00:00Z",
	  "2024-10-13T00:00:00Z", "2024-10-18T00:00:00Z"}},
	{"0 0 * * FRI",
	 "UTC",
	 "2024-09-01T00:00:00Z",
	 {"2024-09-06T00:00:00Z", "2024-09-13T00:00:00Z"}},
	{"0 0 13 * *",
	 "UTC",
	 "2024-09-01T00:00:00Z",
	 {"2024-09-13T00:00:00Z", "2024-10-13T00:00:00Z"}},
	{"0 0 */2 * fri",
	 "UTC",
	 "2024-09-01T00:00:00Z",
	 {"2024-09-13T00:00:00Z", "2024-09-27T00:00:00Z", "2024-10-11T00:00:00Z"}},
	{"0 12 * * 7",
	 "UTC",
	 "2024-09-01T00:00:00Z",
	 {"2024-09-01T12:00:00Z", "2024-09-08T12:00:00Z"}},
	{"0 12 * * 5-7",
	 "UTC",
	 "2024-09-01T12:00:00Z",
	 {"2024-09-06T12:00:00Z", "2024-09-07T12:00:00Z", "2024-09-08T12:00:00Z"}},
	/* lists, ranges, steps, names */
	{"10-50/20 8,17 * * *",
	 "UTC",
	 "2024-05-05T08:10:00Z",
	 {"2024-05-05T08:30:00Z", "2024-05-05T08:50:00Z", "2024-05-05T17:10:00Z"}},
	{"0 0 1 jan-jun/2 *",
	 "UTC",
	 "2024-01-01T00:00:00Z",
	 {"2024-03-01T00:00:00Z", "2024-05-01T00:00:00Z", "2025-01-01T00:00:00Z"}},
	{"55/2 23 31 DEC *",
	 "UTC",
	 "2024-01-01T00:00:00Z",
	 {"2024-12-31T23:55:00Z", "2024-12-31T23:57:00Z", "2024-12-31T23:59:00Z",
	  "2025-12-31T23:55:00Z"}},
	/* six fields: seconds */
	{"*/5 * * * * *",
	 "UTC",
	 "2024-01-01T00:00:03Z",
	 {"2024-01-01T00:00:05Z", "2024-01-01T00:00:10Z", "2024-01-01T00:00:15Z"}},
	{"30 0 12 * * *",
	 "Asia/Kolkata",
	 "2024-01-01T00:00:00Z",
	 {"2024-01-01T06:30:30Z", "2024-01-02T06:30:30Z"}},
	{"* * * * * *",
	 "Europe/Berlin",
	 "2024-03-31T00:59:58Z",
	 {"2024-03-31T00:59:59Z", "2024-03-31T01:00:00Z", "2024-03-31T01:00:01Z"}},
	{"* * * * * *",
	 "Europe/Berlin",
	 "2024-10-27T00:59:58Z",
	 {"2024-10-27T00:59:59Z", "2024-10-27T02:00:00Z", "2024-10-27T02:00:01Z"}},
	{"59 59 23 31 12 *", "UTC", "2024-06-01T00:00:00Z", {"2024-12-31T23:59:59Z"}},
	/* aliases */
	{"@yearly", "Europe/Berlin", "2024-06-01T00:00:00Z", {"2024-12-31T23:00:00Z"}},
	{"@annually", "UTC", "2024-06-01T00:00:00Z", {"2025-01-01T00:00:00Z"}},
	{"@monthly",
	 "America/New_York",
	 "2024-01-15T00:00:00Z",
	 {"2024-02-01T05:00:00Z", "2024-03-01T05:00:00Z", "2024-04-01T04:00:00Z"}},
	{"@weekly", "UTC", "2024-09-02T00:00:00Z", {"2024-09-08T00:00:00Z"}},
	{"@daily", "Asia/Kolkata", "2024-09-02T00:00:00Z", {"2024-09-02T18:30:00Z"}},
	{"@MIDNIGHT", "UTC", "2024-09-02T00:00:00Z", {"2024-09-03T00:00:00Z"}},
	{"@hourly", "Australia/Lord_Howe", "2024-09-02T00:00:00Z", {"2024-09-02T00:30:00Z"}},
	/* @every: multiples of the interval since the epoch, whatever the zone */
	{"@every 90s",
	 "Europe/Berlin",
	 "2024-01-01T00:00:00Z",
	 {"2024-01-01T00:01:30Z", "2024-01-01T00:03:00Z"}},
	{"@every 1h30m",
	 "UTC",
	 "2024-01-01T00:10:00Z",
	 {"2024-01-01T01:30:00Z", "2024-01-01T03:00:00Z"}},
	{"@every 7s",
	 "Australia/Lord_Howe",
	 "1970-01-01T00:00:00Z",
	 {"1970-01-01T00:00:07Z", "1970-01-01T00:00:14Z"}},
	{"@every 5m",
	 "UTC",
	 "1969-12-31T23:59:59Z",
	 {"1970-01-01T00:00:00Z", "1970-01-01T00:05:00Z"}},
	{"@every 2h",
	 "Europe/Berlin",
	 "2024-10-27T00:30:00Z",
	 {"2024-10-27T02:00:00Z", "2024-10-27T04:00:00Z"}},
	/* the end of the range */
	{"0 0 1 1 *", "UTC", "9999-06-01T00:00:00Z", {"none"}},
	{"59 59 23 31 12 *", "UTC", "9999-12-31T23:59:58Z", {"9999-12-31T23:59:59Z", "none"}},
};

START_TEST(next_fire_instants)
{
	const char *zname = nexts[_i].zone, *expr = nexts[_i].expr;
	struct cron c = parse_ok(expr);
	struct tz *z = zone(zname);
	int64_t t = iso(nexts[_i].after);
	char got[32];

	for (int k = 0; k < 8 && nexts[_i].want[k]; k++) {
		t = cron_next(&c, z, t);
		iso_str(t, got, sizeof got);
		ck_assert_msg(!strcmp(got, nexts[_i].want[k]),
			      "\"%s\" in %s after %s, fire %d: %s, want %s", expr, zname,
			      nexts[_i].after, k + 1, got, nexts[_i].want[k]);
		if (t < 0)
			break;
	}
	tz_free(z);
}
END_TEST

/* ---- parsing ---------------------------------------------------------------------------- */

static const struct {
	const char *expr, *msg;
} bad[] = {
	{"61 * * * *", "cron: minute field: 61 is out of range 0-59"},
	{"* * * *", "cron: expected 5 or 6 fields, got 4"},
	{"* * * * * * *", "cron: expected 5 or 6 fields, got 7"},
	{"@often", "cron: unknown alias \"@often\""},
	{"0 0 30 2 *", "cron: the expression never fires (no selected month has the selected day "
		       "of month)"},
	{"0 0 31 4,6,9,11 *", "cron: the expression never fires (no selected month has the "
			      "selected day of month)"},
	{"", "cron: empty expression"},
	{" \t ", "cron: empty expression"},
	{"0 24 * * *", "cron: hour field: 24 is out of range 0-23"},
	{"0 0 0 * *", "cron: day-of-month field: 0 is out of range 1-31"},
	{"0 0 * 13 *", "cron: month field: 13 is out of range 1-12"},
	{"0 0 * * 8", "cron: day-of-week field: 8 is out of range 0-7"},
	{"60 * * * * *", "cron: second field: 60 is out of range 0-59"},
	{"99999999999 * * * *", "cron: minute field: 99999999999 is out of range 0-59"},
	{"*/0 * * * *", "cron: minute field: step 0 is out of range 1-59"},
	{"*/60 * * * *", "cron: minute field: step 60 is out of range 1-59"},
	{"0 0 * JANUARY *", "cron: month field: unknown name \"JANUARY\""},
	{"0 0 * * MON-XYZ", "cron: day-of-week field: unknown name \"XYZ\""},
	{"0 0 * MON *", "cron: month field: unknown name \"MON\""},
	{"JAN * * * *", "cron: minute field: bad value \"JAN\""},
	{"x * * * *", "cron: minute field: bad value \"x\""},
	{"1x * * * *", "cron: minute field: bad value \"1x\""},
	{"5-2 * * * *", "cron: minute field: backwards range \"5-2\""},
	{"0 0 * * FRI-MON", "cron: day-of-week field: backwards range \"FRI-MON\""},
	{"1,,2 * * * *", "cron: minute field: empty list item in \"1,,2\""},
	{"1, * * * *", "cron: minute field: empty list item in \"1,\""},
	{"1- * * * *", "cron: minute field: bad range \"1-\""},
	{"-5 * * * *", "cron: minute field: bad range \"-5\""},
	{"1-2-3 * * * *", "cron: minute field: bad range \"1-2-3\""},
	{"*/ * * * *", "cron: minute field: bad step in \"*/\""},
	{"*/a * * * *", "cron: minute field: bad step in \"*/a\""},
	{"1/2/3 * * * *", "cron: minute field: bad step in \"1/2/3\""},
	{"/5 * * * *", "cron: minute field: missing value in \"/5\""},
	{"? * * * *", "cron: minute field: unexpected character '?' in \"?\""},
	{"0 0 L * *", "cron: day-of-month field: bad value \"L\""},
	{"0 0 * * 5#3", "cron: day-of-week field: unexpected character '#' in \"5#3\""},
	{"\xc3\xa9 * * * *", "cron: minute field: unexpected byte 0xC3 in \"??\""},
	{"0 0 * * *\n", "cron: day-of-week field: unexpected byte 0x0A in \"*?\""},
	{"1234567890123456789012345678901234567890123 * * * *",
	 "cron: minute field: 1234567890123456789012345678901234567890... is out of range 0-59"},
	{"@every", "cron: @every needs a duration, e.g. 90s, 5m or 1h30m"},
	{"@every   ", "cron: @every needs a duration, e.g. 90s, 5m or 1h30m"},
	{"@every 0s", "cron: @every duration \"0s\" is shorter than 1s"},
	{"@every 0h0m0s", "cron: @every duration \"0h0m0s\" is shorter than 1s"},
	{"@every 5x", "cron: bad @every duration \"5x\" (e.g. 90s, 5m, 1h30m)"},
	{"@every 90", "cron: bad @every duration \"90\" (e.g. 90s, 5m, 1h30m)"},
	{"@every 1m1h", "cron: bad @every duration \"1m1h\" (e.g. 90s, 5m, 1h30m)"},
	{"@every 1h1h", "cron: bad @every duration \"1h1h\" (e.g. 90s, 5m, 1h30m)"},
	{"@every h", "cron: bad @every duration \"h\" (e.g. 90s, 5m, 1h30m)"},
	{"@every -5s", "cron: bad @every duration \"-5s\" (e.g. 90s, 5m, 1h30m)"},
	{"@every 8785h", "cron: @every duration \"8785h\" is longer than 8784h"},
	{"@every 99999999999999999999s", "cron: @every duration \"99999999999999999999s\" is "
					 "longer than 8784h"},
	{"@every 1h 2m", "cron: @every takes one duration, not \"1h 2m\""},
	{"@daily 5", "cron: unexpected \"5\" after @daily"},
	{"@", "cron: unknown alias \"@\""},
	{"@dailyx", "cron: unknown alias \"@dailyx\""},
};

START_TEST(parse_errors)
{
	struct cron c = {.every = 42};
	char err[256] = "";

	ck_assert_int_eq(cron_parse(bad[_i].expr, &c, err, sizeof err), -1);
	ck_assert_str_eq(err, bad[_i].msg);
	ck_assert_int_eq(c.every, 42); /* *out untouched on error */
	for (const char *p = err; *p; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f, "%s", err);
}
END_TEST

START_TEST(parse_limits)
{
	char expr[CRON_EXPR_MAX + 2], err[256];
	struct cron c;

	ck_assert_int_eq(cron_parse(NULL, &c, err, sizeof err), -1);
	ck_assert_str_eq(err, "cron: no expression");
	/* 256 bytes pass, 257 do not */
	memset(expr, ' ', sizeof expr);
	memcpy(expr, "* * * * *", 9);
	expr[CRON_EXPR_MAX] = '\0';
	ck_assert_int_eq(cron_parse(expr, &c, err, sizeof err), 0);
	expr[CRON_EXPR_MAX] = ' ';
	expr[CRON_EXPR_MAX + 1] = '\0';
	ck_assert_int_eq(cron_parse(expr, &c, err, sizeof err), -1);
	ck_assert_str_eq(err, "cron: expression longer than 256 bytes");
	/* a small message buffer is cut, never overrun */
	ck_assert_int_eq(cron_parse("61 * * * *", &c, err, 12), -1);
	ck_assert_str_eq(err, "cron: minut");
	ck_assert_int_eq(cron_parse("61 * * * *", &c, NULL, 0), -1);
}
END_TEST

/* equivalent spellings parse to the same masks */
static const char *const same[][2] = {
	{"0 0 * * MON-FRI", "0 0 * * 1-5"},
	{"0 0 * * mon,Wed,FRI", "0 0 * * 1,3,5"},
	{"0 0 * * 7", "0 0 * * 0"},
	{"0 0 * * SUN", "0 0 * * 7"},
	{"0 0 * * 0-7", "0 0 * * 0-6"},
	{"0 0 1 * 0-6/2", "0 0 1 * 0,2,4,6"},
	{"0 0 1 * */2", "0 0 1 * */2,6"},
	{"*/15 * * * *", "0,15,30,45 * * * *"},
	{"5/20 * * * *", "5,25,45 * * * *"},
	{"10-50/20 * * * *", "10,30,50 * * * *"},
	{"0 0 1 jan-dec *", "0 0 1 1-12 *"},
	{"0 0 1 */3 *", "0 0 1 1,4,7,10 *"},
	{"0 0 1 Jan,jUL *", "0 0 1 1,7 *"},
	{"00 05 * * *", "0 5 * * *"},
	{"0 * * * * *", "* * * * *"},
	{"  0\t0  *  *   *  ", "0 0 * * *"},
	{"@yearly", "0 0 1 1 *"},
	{"@annually", "0 0 1 1 *"},
	{"@monthly", "0 0 1 * *"},
	{"@weekly", "0 0 * * 0"},
	{"@daily", "0 0 * * *"},
	{"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},
	{" @Daily ", "0 0 * * *"},
	{"0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,"
	 "32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59 "
	 "* * * * *",
	 "* * * * * *"},
};

START_TEST(equivalent_spellings)
{
	struct cron a = parse_ok(same[_i][0]), b = parse_ok(same[_i][1]);

	ck_assert_msg(a.sec == b.sec && a.min == b.min && a.hour == b.hour && a.dom == b.dom &&
			      a.month == b.month && a.dow == b.dow && a.flags == b.flags &&
			      a.every == b.every,
		      "\"%s\" differs from \"%s\"", same[_i][0], same[_i][1]);
}
END_TEST

START_TEST(masks_and_flags)
{
	struct cron c = parse_ok("*/20 3-5 1,15 FEB-APR 1-5");

	ck_assert_uint_eq(c.sec, 1);
	ck_assert_uint_eq(c.min, (1ull << 0) | (1ull << 20) | (1ull << 40));
	ck_assert_uint_eq(c.hour, 0x38);
	ck_assert_uint_eq(c.dom, (1u << 1) | (1u << 15));
	ck_assert_uint_eq(c.month, 0x1c);
	ck_assert_uint_eq(c.dow, 0x3e);
	ck_assert_uint_eq(c.flags, 0);
	ck_assert_int_eq(c.every, 0);
	c = parse_ok("0 0 */2 * 1");
	ck_assert_uint_eq(c.flags, CRON_DOM_STAR);
	c = parse_ok("0 0 1 * *");
	ck_assert_uint_eq(c.flags, CRON_DOW_STAR);
	c = parse_ok("@every 1h30m15s");
	ck_assert_int_eq(c.every, 5415);
	c = parse_ok("@EVERY 8784h");
	ck_assert_int_eq(c.every, CRON_EVERY_MAX);
	c = parse_ok("@every 1s");
	ck_assert_int_eq(c.every, 1);
}
END_TEST

Suite *suite_cron(void)
{
	Suite *s = suite_create("cron");
	TCase *tc = tcase_create("cron");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, next_fire_instants, 0, (int)(sizeof nexts / sizeof nexts[0]));
	tcase_add_loop_test(tc, parse_errors, 0, (int)(sizeof bad / sizeof bad[0]));
	tcase_add_test(tc, parse_limits);
	tcase_add_loop_test(tc, equivalent_spellings, 0, (int)(sizeof same / sizeof same[0]));
	tcase_add_test(tc, masks_and_flags);
	suite_add_tcase(s, tc);
	return s;
}
