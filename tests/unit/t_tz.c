/*
 * Unit tests: time zones — the system's zones and POSIX TZ footers against glibc's
 * localtime_r (TZ set in this single-threaded test program only), exact transitions, wall
 * clock to instant in gaps and folds, slim, version 1 and hand-made files (written to a
 * scratch $TZDIR: tz_load is the only way in), refused names and files, the civil
 * calendar, one zone shared by threads.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "time/cron.h"
#include "time/tz.h"
#include "units.h"

static int64_t iso(const char *s)
{
	struct cron_time t = {0};

	require(sscanf(s, "%d-%d-%dT%d:%d:%dZ", &t.year, &t.mon, &t.mday, &t.hour, &t.min,
		       &t.sec) == 6,
		"bad ISO time %s", s);
	return tz_timegm(&t);
}

static struct tz *zone(const char *name)
{
	char err[256];
	struct tz *z = tz_load(name, err, sizeof err);

	ck_assert_msg(z != NULL, "%s", err);
	return z;
}

/* ---- against glibc ---------------------------------------------------------------------- */

static void glibc_tz(const char *spec)
{
	if (spec)
		setenv("TZ", spec, 1);
	else
		unsetenv("TZ");
	tzset();
}

static long glibc_off(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	require(localtime_r(&tt, &tm) != NULL, "localtime_r(%lld)", (long long)t);
	return tm.tm_gmtoff;
}

/* ours and glibc's wall clock and offset at t agree */
static void same_as_glibc(const struct tz *z, const char *what, int64_t t)
{
	time_t tt = (time_t)t;
	struct cron_time w;
	struct tm tm;
	int off;

	tz_to_local(z, t, &w, &off);
	require(localtime_r(&tt, &tm) != NULL, "localtime_r(%lld)", (long long)t);
	require(off == tm.tm_gmtoff && w.year == tm.tm_year + 1900 && w.mon == tm.tm_mon + 1 &&
			w.mday == tm.tm_mday && w.hour == tm.tm_hour && w.min == tm.tm_min &&
			w.sec == tm.tm_sec && w.wday == tm.tm_wday,
		"%s at %lld: %04d-%02d-%02d %02d:%02d:%02d %+d, glibc %04d-%02d-%02d "
		"%02d:%02d:%02d %+ld",
		what, (long long)t, w.year, w.mon, w.mday, w.hour, w.min, w.sec, off,
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		tm.tm_gmtoff);
}

/* Compares z with glibc from `from` to `to` every `step` seconds; where glibc's offset
 * changes between two samples, finds the transition by bisection and compares the
 * second before it and the second of it. Returns the transitions seen. */
static int sweep(const struct tz *z, const char *what, int64_t from, int64_t to, int64_t step)
{
	int64_t prev = from;
	long prev_off = glibc_off(from);
	int seen = 0;

	same_as_glibc(z, what, from);
	for (int64_t t = from + step; t <= to; t += step) {
		long off = glibc_off(t);
		same_as_glibc(z, what, t);
		if (off != prev_off) {
			int64_t lo = prev, hi = t;
			while (hi - lo > 1) {
				int64_t mid = lo + (hi - lo) / 2;
				if (glibc_off(mid) == prev_off)
					lo = mid;
				else
					hi = mid;
			}
			same_as_glibc(z, what, hi - 1);
			same_as_glibc(z, what, hi);
			seen++;
		}
		prev = t;
		prev_off = off;
	}
	return seen;
}

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

/* ---- TZif files ------------------------------------------------------------------------ */

struct tzif {
	char version; /* '\0' (1), '2', '3' */
	size_t ntrans, ntypes, nleap;
	const int64_t *trans;
	const unsigned char *idx;
	const int32_t *offs;
	const char *footer; /* version 2+ */
	int32_t v1_off;     /* version 2+: the 32-bit block is one type of this offset alone */
	const char *abbr;   /* every type's abbreviation; NULL: "ABC" */
};

static size_t put(unsigned char *b, size_t n, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--)
		b[n++] = i < 8 ? (unsigned char)(v >> (8 * i)) : 0;
	return n;
}

static size_t header(unsigned char *b, size_t n, char version, size_t ntrans, size_t ntypes,
		     size_t nleap, size_t nchars)
{
	memcpy(b + n, "TZif", 4);
	b[n + 4] = (unsigned char)version;
	memset(b + n + 5, 0, 15);
	n += 20;
	n = put(b, n, 0, 4); /* isut */
	n = put(b, n, 0, 4); /* isstd */
	n = put(b, n, nleap, 4);
	n = put(b, n, ntrans, 4);
	n = put(b, n, ntypes, 4);
	return put(b, n, nchars, 4);
}

static size_t block(unsigned char *b, size_t n, int timesize, const struct tzif *z)
{
	for (size_t i = 0; i < z->ntrans; i++)
		n = put(b, n, (uint64_t)z->trans[i], timesize);
	for (size_t i = 0; i < z->ntrans; i++)
		b[n++] = z->idx[i];
	for (size_t i = 0; i < z->ntypes; i++) {
		n = put(b, n, (uint32_t)z->offs[i], 4);
		b[n++] = 0;
		b[n++] = 0;
	}
	memcpy(b + n, z->abbr ? z->abbr : "ABC", strlen(z->abbr ? z->abbr : "ABC") + 1);
	n += strlen(z->abbr ? z->abbr : "ABC") + 1;
	for (size_t i = 0; i < z->nleap; i++)
		n = put(b, n, 0, timesize + 4);
	return n;
}

/* a TZif file of z in b; its length */
static size_t build(unsigned char *b, const struct tzif *z)
{
	struct tzif v1 = {.ntypes = 1, .offs = &z->v1_off};
	size_t n, nchars = strlen(z->abbr ? z->abbr : "ABC") + 1;

	if (z->version == '\0') {
		n = header(b, 0, z->version, z->ntrans, z->ntypes, z->nleap, nchars);
		return block(b, n, 4, z);
	}
	n = header(b, 0, z->version, 0, 1, 0, 4);
	n = block(b, n, 4, &v1);
	n = header(b, n, z->version, z->ntrans, z->ntypes, z->nleap, nchars);
	n = block(b, n, 8, z);
	return (size_t)(n + (size_t)snprintf((char *)b + n, 256, "\n%s\n", z->footer));
}

static const int64_t berlin96[] = {828234000, 846378000}; /* 1996-03-31, 1996-10-27 01:00Z */
static const unsigned char cet_cest[] = {1, 0};
static const int32_t cet_offs[] = {3600, 7200};
static const char eu_rule[] = "CET-1CEST,M3.5.0,M10.5.0/3";

/* A scratch TZDIR: zone files written there are read by tz_load as the system's are.
 * Abseil keeps every file it read by path: each file gets a name of its own. */
static char scratch_dir[32];
static char *scratch_old;

static void scratch_open(void)
{
	snprintf(scratch_dir, sizeof scratch_dir, "/tmp/t_tz.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(scratch_dir));
	scratch_old = getenv("TZDIR") ? strdup(getenv("TZDIR")) : NULL;
	setenv("TZDIR", scratch_dir, 1);
}

static void scratch_close(void)
{
	ck_assert_int_eq(rmdir(scratch_dir), 0);
	if (scratch_old)
		setenv("TZDIR", scratch_old, 1);
	else
		unsetenv("TZDIR");
	free(scratch_old);
}

/* writes data to the scratch TZDIR as `name`, loads it and removes the file */
static struct tz *scratch_zone(const char *name, const void *data, size_t len, char *err,
			       size_t errsize)
{
	char path[512];
	struct tz *z;
	FILE *f;

	const char *slash = strchr(name, '/');

	if (slash) { /* one directory level, e.g. Test/V1 */
		snprintf(path, sizeof path, "%s/%.*s", scratch_dir, (int)(slash - name), name);
		ck_assert_int_eq(mkdir(path, 0755), 0);
	}
	snprintf(path, sizeof path, "%s/%s", scratch_dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "wb"));
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	z = tz_load(name, err, errsize);
	ck_assert_int_eq(unlink(path), 0);
	if (slash) {
		snprintf(path, sizeof path, "%s/%.*s", scratch_dir, (int)(slash - name), name);
		ck_assert_int_eq(rmdir(path), 0);
	}
	return z;
}

/* The POSIX TZ string `spec` as a zone: a slim file whose one transition, in 1900, is to
 * the standard time of spec (its offset and name as glibc reads them), and whose footer is
 * spec, as zic writes one (RFC 8536: the footer agrees with the last transition). */
static struct tz *posix_zone(const char *name, const char *spec, char *err, size_t errsize)
{
	static unsigned char buf[4096];
	static const int64_t y1900[] = {-2208988800LL};
	static const unsigned char idx0[] = {0};
	char abbr[16];
	int32_t std_off;
	struct tzif z = {'2', 1, 1, 0, y1900, idx0, &std_off, spec, 0, abbr};

	glibc_tz(spec);
	std_off = (int32_t)-timezone;
	snprintf(abbr, sizeof abbr, "%s", tzname[0]);
	glibc_tz(NULL);
	return scratch_zone(name, buf, build(buf, &z), err, errsize);
}

static const char *const posix_specs[] = {
	"CET-1CEST,M3.5.0,M10.5.0/3",
	"<+0330>-3:30",
	"XST5XDT,M3.2.0,M11.1.0",
	"IST-1GMT0,M10.5.0,M3.5.0/1",
	"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
	"AAA3BBB,J60/2,J300/2",
	"AAA3BBB,59,299",
	"AAA-3BBB-4:30:15,J2/0:30,J365/20",
	"NZST-12NZDT,M9.5.0,M4.1.0/3",
	"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
	"<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
	"<-04>4<-03>,M9.1.6/24,M4.1.6/24",
	"XST5XDT,M3.5.6/50,M10.1.1/-30",
	"XST+5",
	"<+14>-14",
	"<-12>12",
};

START_TEST(posix_strings_match_glibc)
{
	const char *spec = posix_specs[_i];
	char err[256], name[16];
	struct tz *z;

	scratch_open();
	snprintf(name, sizeof name, "P%d", _i);
	z = posix_zone(name, spec, err, sizeof err);
	scratch_close();
	ck_assert_msg(z != NULL, "%s: %s", spec, err);
	glibc_tz(spec);
	sweep(z, spec, iso("1970-01-01T00:00:00Z"), iso("2110-01-01T00:00:00Z"), 3 * 86400 + 3607);
	glibc_tz(NULL);
	tz_free(z);
}
END_TEST

/* footers Abseil refuses (tz.c says no more than that). Not here: "" (an empty footer,
 * no rule, is valid in a file), "CET-1CEST,M3.5.0" (no end of DST) and "CET-0001" (four
 * digits of hour), which Abseil 20220623 accepts; zic never writes either. */
static const char *const bad_specs[] = {
	"C",
	"CET",
	"CET-25",
	"CET-1:60",
	"CET-1x",
	"CET-1CEST",
	"CET-1CEST,M13.1.0,M10.5.0",
	"CET-1CEST,M3.6.0,M10.5.0",
	"CET-1CEST,M3.5.7,M10.5.0",
	"CET-1CEST,J0,J365",
	"CET-1CEST,1,366",
	"CET-1CEST,M3.5.0/168,M10.5.0",
	"CET-1CEST,M3.5.0,M10.5.0/3x",
	"<>1",
	"<A1",
	"CET-1 ",
};

START_TEST(bad_posix_strings)
{
	char err[256] = "";

	scratch_open();
	ck_assert_msg(posix_zone("Bad", bad_specs[_i], err, sizeof err) == NULL, "accepted %s",
		      bad_specs[_i]);
	scratch_close();
	ck_assert_str_eq(err, "tz: \"Bad\": not a TZif file, or a malformed one");
}
END_TEST

/* rules whose changes cross New Year in UTC (where glibc looks at one year only), DST all
 * year (the v3 extension), 24:00 and negative times */
START_TEST(rule_edges)
{
	static const struct {
		const char *spec, *at;
		int off;
	} cases[] = {
		/* 2033's DST starts 2033-01-01 00:30 at +3, 2032-12-31 21:30Z */
		{"AAA-3BBB-4:30:15,J1/0:30,J365/23:59:59", "2032-12-31T21:29:59Z", 10800},
		{"AAA-3BBB-4:30:15,J1/0:30,J365/23:59:59", "2032-12-31T21:30:00Z", 16215},
		{"AAA-3BBB-4:30:15,J1/0:30,J365/23:59:59", "2032-12-31T23:59:59Z", 16215},
		{"AAA-3BBB-4:30:15,J1/0:30,J365/23:59:59", "2033-12-31T19:29:43Z", 16215},
		{"AAA-3BBB-4:30:15,J1/0:30,J365/23:59:59", "2033-12-31T19:29:44Z", 10800},
		{"XST5XDT4,0/0,J365/25", "2024-01-01T00:00:00Z", -14400},
		{"XST5XDT4,0/0,J365/25", "2024-07-01T00:00:00Z", -14400},
		{"XST5XDT4,0/0,J365/25", "2024-12-31T23:59:59Z", -14400},
		{"XST5XDT4,0/0,J365/25", "2025-01-01T04:00:00Z", -14400},
		{"<-04>4<-03>,M9.1.6/24,M4.1.6/24", "2024-09-08T03:59:59Z", -14400},
		{"<-04>4<-03>,M9.1.6/24,M4.1.6/24", "2024-09-08T04:00:00Z", -10800},
		{"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", "2024-10-27T00:59:59Z", -7200},
		{"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", "2024-10-27T01:00:00Z", -10800},
		{"AAA3BBB,J60,J61", "2024-03-01T04:59:59Z", -10800},
		{"AAA3BBB,J60,J61", "2024-03-01T05:00:00Z", -7200},
		{"AAA3BBB,59,60", "2024-02-29T05:00:00Z", -7200},
		{"AAA3BBB,59,60", "2023-03-01T05:00:00Z", -7200},
	};
	char err[256], name[16];

	scratch_open();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct tz *z;
		snprintf(name, sizeof name, "E%zu", i);
		z = posix_zone(name, cases[i].spec, err, sizeof err);
		ck_assert_msg(z != NULL, "%s: %s", cases[i].spec, err);
		ck_assert_msg(tz_offset_at(z, iso(cases[i].at)) == cases[i].off, "%s at %s: %d",
			      cases[i].spec, cases[i].at, tz_offset_at(z, iso(cases[i].at)));
		tz_free(z);
	}
	scratch_close();
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

/* ---- files ---------------------------------------------------------------------------- */

/* slim files: one transition or two, the rest from the footer; the same as Berlin's fat
 * file from 1996 on. (No transition at all with a DST footer, valid in RFC 8536, Abseil
 * 20220623 reads as time type 0 for ever; zic writes no such file and tzdata has none:
 * every_tzdata_zone_matches_glibc would see one.) */
START_TEST(slim_files)
{
	static unsigned char buf[4096];
	static const int64_t y1900[] = {-2208988800LL};
	static const unsigned char idx0[] = {0};
	const struct tzif slim1 = {'2', 1, 1, 0, y1900, idx0, cet_offs, eu_rule, 0, NULL};
	const struct tzif slim2 = {'2', 2, 2, 0, berlin96, cet_cest, cet_offs, eu_rule, 0, NULL};
	const struct tzif *files[] = {&slim1, &slim2};
	struct tz *fat = zone("Europe/Berlin");
	char err[256];

	for (size_t f = 0; f < 2; f++) {
		size_t len = build(buf, files[f]);
		struct tz *z;
		scratch_open(); /* a directory each: the same name twice */
		z = scratch_zone("Slim/Berlin", buf, len, err, sizeof err);
		scratch_close();
		ck_assert_msg(z != NULL, "%s", err);
		ck_assert_str_eq(tz_name(z), "Slim/Berlin");
		for (int64_t t = iso("1996-03-31T01:00:00Z"), end = iso("2200-01-01T00:00:00Z");
		     t < end; t += 86400 + 599)
			require(tz_offset_at(z, t) == tz_offset_at(fat, t), "%s at %lld",
				tz_name(z), (long long)t);
		ck_assert_int_eq(tz_offset_at(z, iso("2024-03-31T00:59:59Z")), 3600);
		ck_assert_int_eq(tz_offset_at(z, iso("2024-03-31T01:00:00Z")), 7200);
		tz_free(z);
	}
	tz_free(fat);
}
END_TEST

/* version 1 (32-bit data, no footer), version 3, the 64-bit block preferred, through
 * tz_load and $TZDIR */
START_TEST(file_versions)
{
	static unsigned char buf[4096];
	static const int64_t early[] = {-5000000000LL, 828234000, 846378000}; /* 1811, 1996 */
	static const unsigned char early_idx[] = {0, 1, 0};
	static const int32_t early_offs[] = {3600, 7200, 1800};
	const struct tzif v1 = {'\0', 2, 2, 0, berlin96, cet_cest, cet_offs, NULL, 0, NULL};
	static const int64_t y1900[] = {-2208988800LL};
	static const unsigned char idx0[] = {0};
	static const int32_t minus3 = -10800;
	const struct tzif v3 = {
		'3', 1, 1, 0, y1900, idx0, &minus3, "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", 0, "-03"};
	const struct tzif v2 = {'2', 3, 3, 0, early, early_idx, early_offs, "", 5 * 3600, NULL};
	char err[256];
	struct tz *z, *p;

	scratch_open();

	/* version 1: the table, then its last type for ever */
	z = scratch_zone("Test/V1", buf, build(buf, &v1), err, sizeof err);
	ck_assert_msg(z != NULL, "%s", err);
	ck_assert_int_eq(tz_offset_at(z, iso("1990-07-01T00:00:00Z")), 3600);
	ck_assert_int_eq(tz_offset_at(z, iso("1996-07-01T00:00:00Z")), 7200);
	ck_assert_int_eq(tz_offset_at(z, iso("2024-07-01T00:00:00Z")), 3600);
	tz_free(z);

	/* version 3: a footer with negative transition times, the same as its POSIX string in
	 * a version 2 file */
	z = scratch_zone("Test/V3", buf, build(buf, &v3), err, sizeof err);
	ck_assert_msg(z != NULL, "%s", err);
	ck_assert_ptr_nonnull(p = posix_zone("V3rule", v3.footer, err, sizeof err));
	for (int64_t t = iso("2000-01-01T00:00:00Z"), end = iso("2100-01-01T00:00:00Z"); t < end;
	     t += 3607 * 7)
		require(tz_offset_at(z, t) == tz_offset_at(p, t), "at %lld", (long long)t);
	ck_assert_int_eq(tz_offset_at(z, iso("2024-03-31T00:59:59Z")), -10800);
	ck_assert_int_eq(tz_offset_at(z, iso("2024-03-31T01:00:00Z")), -7200);
	tz_free(z);
	tz_free(p);

	/* version 2: the 64-bit data (1811 is beyond 32 bits), not the 32-bit block's +5h;
	 * an empty footer: the last type after the last transition */
	z = scratch_zone("Test/V2", buf, build(buf, &v2), err, sizeof err);
	ck_assert_msg(z != NULL, "%s", err);
	ck_assert_int_eq(tz_offset_at(z, iso("1800-01-01T00:00:00Z")), 3600);
	ck_assert_int_eq(tz_offset_at(z, iso("1900-01-01T00:00:00Z")), 3600);
	ck_assert_int_eq(tz_offset_at(z, iso("1996-07-01T00:00:00Z")), 7200);
	ck_assert_int_eq(tz_offset_at(z, iso("2300-07-01T00:00:00Z")), 3600);
	tz_free(z);

	/* UTC needs no file, even where TZDIR has none */
	z = zone("UTC");
	ck_assert_int_eq(tz_offset_at(z, 0), 0);
	tz_free(z);
	ck_assert_ptr_null(tz_load("Europe/Berlin", err, sizeof err));
	ck_assert_str_eq(err, "tz: unknown time zone \"Europe/Berlin\"");

	scratch_close();
}
END_TEST

static const struct {
	const char *name, *msg;
} bad_names[] = {
	{"", "tz: bad time zone name \"\""},
	{"../etc/passwd", "tz: bad time zone name \"../etc/passwd\""},
	{"Europe/../../etc/passwd", "tz: bad time zone name \"Europe/../../etc/passwd\""},
	{"/etc/localtime", "tz: bad time zone name \"/etc/localtime\""},
	{"Europe/Ber lin", "tz: bad time zone name \"Europe/Ber lin\""},
	{"zone1970.tab", "tz: bad time zone name \"zone1970.tab\""},
	{"Europe/Berlin\n", "tz: bad time zone name \"Europe/Berlin?\""},
	{"Europe/Berlin;rm", "tz: bad time zone name \"Europe/Berlin;rm\""},
	{"A234567890123456789012345678901234567890123456789012345678901234X",
	 "tz: bad time zone name "
	 "\"A234567890123456789012345678901234567890123456789012345678901234\" (too long)"},
	{"Mars/Olympus_Mons", "tz: unknown time zone \"Mars/Olympus_Mons\""},
	{"Europe", "tz: unknown time zone \"Europe\""},
	{"Europe/Berlin/x", "tz: unknown time zone \"Europe/Berlin/x\""},
	{"right/UTC", "tz: \"right/UTC\": leap-second zones (right/) are not supported"},
};

START_TEST(refused_names)
{
	char err[256] = "", *old;

	if (!strcmp(bad_names[_i].name, "right/UTC") &&
	    access("/usr/share/zoneinfo/right/UTC", R_OK) != 0)
		return; /* tzdata without the right/ zones */
	old = getenv("TZDIR") ? strdup(getenv("TZDIR")) : NULL;
	unsetenv("TZDIR");
	ck_assert_ptr_null(tz_load(bad_names[_i].name, err, sizeof err));
	if (old)
		setenv("TZDIR", old, 1);
	free(old);
	ck_assert_str_eq(err, bad_names[_i].msg);
}
END_TEST

/* malformed files are refused with a message, never read beyond their end */
START_TEST(malformed_files)
{
	static unsigned char buf[4096];
	static const int64_t down[] = {846378000, 828234000};
	static const unsigned char bad_idx[] = {1, 2};
	static const int32_t huge[] = {3600, 26 * 3600};
	const struct tzif good = {'2', 2, 2, 0, berlin96, cet_cest, cet_offs, eu_rule, 0, NULL};
	struct tzif z;
	char err[256], name[32], want[128];
	size_t len;
	struct {
		const char *what;
		struct tzif z;
	} bad[7];
	int nbad = 0;

	scratch_open();
	len = build(buf, &good);
	/* every truncation */
	for (size_t cut = 0; cut < len; cut++) {
		struct tz *t;
		snprintf(name, sizeof name, "T%zu", cut);
		t = scratch_zone(name, buf, cut, err, sizeof err);
		snprintf(want, sizeof want, "tz: \"%s\": not a TZif file, or a malformed one",
			 name);
		require(t == NULL, "accepted %zu of %zu bytes", cut, len);
		ck_assert_str_eq(err, want);
	}
	buf[0] = 'X';
	ck_assert_ptr_null(scratch_zone("X", buf, len, err, sizeof err));
	ck_assert_str_eq(err, "tz: \"X\": not a TZif file, or a malformed one");

	z = good;
	z.trans = down;
	bad[nbad].what = "transitions out of order";
	bad[nbad++].z = z;
	z = good;
	z.idx = bad_idx;
	bad[nbad].what = "a type that is not there";
	bad[nbad++].z = z;
	z = good;
	z.offs = huge;
	bad[nbad].what = "an offset of 26 hours";
	bad[nbad++].z = z;
	z = good;
	z.nleap = 1;
	bad[nbad].what = "a leap second";
	bad[nbad++].z = z;
	z = good;
	z.ntypes = 0;
	z.ntrans = 0;
	bad[nbad].what = "no types";
	bad[nbad++].z = z;
	z = good;
	z.footer = "CET-1CEST";
	bad[nbad].what = "a footer without its rule";
	bad[nbad++].z = z;
	for (int i = 0; i < nbad; i++) {
		snprintf(name, sizeof name, "B%d", i);
		len = build(buf, &bad[i].z);
		ck_assert_msg(scratch_zone(name, buf, len, err, sizeof err) == NULL, "accepted %s",
			      bad[i].what);
		snprintf(want, sizeof want, "tz: \"%s\": not a TZif file, or a malformed one",
			 name);
		ck_assert_str_eq(err, want);
	}
	scratch_close();
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

Suite *suite_tz(void)
{
	Suite *s = suite_create("tz");
	TCase *tc = tcase_create("tz");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, zones_match_glibc, 0,
			    (int)(sizeof sweep_zones / sizeof sweep_zones[0]));
	tcase_add_test(tc, every_tzdata_zone_matches_glibc);
	tcase_add_loop_test(tc, posix_strings_match_glibc, 0,
			    (int)(sizeof posix_specs / sizeof posix_specs[0]));
	tcase_add_test(tc, rule_edges);
	tcase_add_loop_test(tc, bad_posix_strings, 0,
			    (int)(sizeof bad_specs / sizeof bad_specs[0]));
	tcase_add_loop_test(tc, offsets_at_transitions, 0,
			    (int)(sizeof offsets / sizeof offsets[0]));
	tcase_add_loop_test(tc, local_to_instant, 0, (int)(sizeof locals / sizeof locals[0]));
	tcase_add_test(tc, round_trips);
	tcase_add_test(tc, slim_files);
	tcase_add_test(tc, file_versions);
	tcase_add_loop_test(tc, refused_names, 0, (int)(sizeof bad_names / sizeof bad_names[0]));
	tcase_add_test(tc, malformed_files);
	tcase_add_test(tc, civil_calendar);
	tcase_add_test(tc, shared_between_threads);
	suite_add_tcase(s, tc);
	return s;
}
