/* timecheck.c: what the cron and tz suites share (declared in timecheck.h): ISO instants
 * both ways, loading a zone or parsing an expression that must work, and glibc's localtime_r
 * as the reference a zone is compared with. No test of its own. */
#include "timecheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "units.h"

/* "2024-03-31T01:00:00Z" <-> Unix seconds */
int64_t iso(const char *s)
{
	struct cron_time t = {0};

	require(sscanf(s, "%d-%d-%dT%d:%d:%dZ", &t.year, &t.mon, &t.mday, &t.hour, &t.min,
		       &t.sec) == 6,
		"bad ISO time %s", s);
	return tz_timegm(&t);
}

const char *iso_str(int64_t secs, char *buf, size_t size)
{
	struct cron_time t;

	if (secs == -1) {
		snprintf(buf, size, "none");
		return buf;
	}
	tz_gmtime(secs, &t);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", t.year, t.mon, t.mday, t.hour, t.min,
		 t.sec);
	return buf;
}

struct tz *zone(const char *name)
{
	char err[256];
	struct tz *z = tz_load(name, err, sizeof err);

	ck_assert_msg(z != NULL, "%s", err);
	return z;
}

struct cron parse_ok(const char *expr)
{
	struct cron c;
	char err[256] = "";

	ck_assert_msg(cron_parse(expr, &c, err, sizeof err) == 0, "%s: %s", expr, err);
	return c;
}

void glibc_tz(const char *spec)
{
	if (spec)
		setenv("TZ", spec, 1);
	else
		unsetenv("TZ");
	tzset();
}

long glibc_off(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	require(localtime_r(&tt, &tm) != NULL, "localtime_r(%lld)", (long long)t);
	return tm.tm_gmtoff;
}

/* ours and glibc's wall clock and offset at t agree */
void same_as_glibc(const struct tz *z, const char *what, int64_t t)
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
int sweep(const struct tz *z, const char *what, int64_t from, int64_t to, int64_t step)
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
