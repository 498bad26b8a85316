/*
 * tz: see tz.h. Zone names and their files, the messages, the clamping of instants, and the
 * civil calendar (Howard Hinnant's days_from_civil / civil_from_days); what a zone's data
 * says about an instant or a wall clock is Abseil's (lib/time/tz_zone.cc), which reads the files.
 */
#include "time/tz.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/xalloc.h"
#include "time/tz_zone.h"
#include "time/wallclock.h"

/* instants beyond this (about 2.2 million years) are clamped: every sum stays in range */
#define TZ_CLAMP ((int64_t)1 << 46)

struct tz {
	char name[TZ_NAME_MAX + 1];
	struct tz_zone *zone; /* NULL: UTC */
};

/* ---- civil calendar ------------------------------------------------------------------ */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t tz_days_from_civil(int64_t year, int mon, int mday)
{
	int64_t y, era, yoe, doy, doe, m;

	y = year + floor_div((int64_t)mon - 1, 12);
	m = (int64_t)mon - 1 - floor_div((int64_t)mon - 1, 12) * 12 + 1;
	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 + ((int64_t)mday - 1);
}

void tz_civil_from_days(int64_t days, int *year, int *mon, int *mday)
{
	int64_t z = days + 719468, era, doe, yoe, y, doy, mp, m;

	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	m = mp < 10 ? mp + 3 : mp - 9;
	*mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	*mon = (int)m;
	*year = (int)(y + (m <= 2));
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int tz_days_in_month(int year, int mon)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (mon < 1 || mon > 12)
		return 0;
	return dim[mon - 1] + (mon == 2 && is_leap(year));
}

int tz_weekday(int64_t days)
{
	return (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
}

int64_t tz_timegm(const struct cron_time *t)
{
	return tz_days_from_civil(t->year, t->mon, t->mday) * 86400 + (int64_t)t->hour * 3600 +
	       (int64_t)t->min * 60 + t->sec;
}

void tz_gmtime(int64_t secs, struct cron_time *t)
{
	int64_t days = floor_div(secs, 86400), rem = secs - days * 86400;

	tz_civil_from_days(days, &t->year, &t->mon, &t->mday);
	t->hour = (int)(rem / 3600);
	t->min = (int)(rem / 60 % 60);
	t->sec = (int)(rem % 60);
	t->wday = tz_weekday(days);
}

/* ---- lookups -------------------------------------------------------------------------- */

static int64_t clamp(int64_t t)
{
	return t < -TZ_CLAMP ? -TZ_CLAMP : t > TZ_CLAMP ? TZ_CLAMP : t;
}

int tz_offset_at(const struct tz *tz, int64_t utc)
{
	if (!tz || !tz->zone)
		return 0;
	return tz_zone_offset(tz->zone, clamp(utc));
}

void tz_to_local(const struct tz *tz, int64_t utc, struct cron_time *wall, int *utcoff_s)
{
	int off;

	utc = clamp(utc);
	off = tz_offset_at(tz, utc);
	tz_gmtime(utc + off, wall);
	if (utcoff_s)
		*utcoff_s = off;
}

/* Fields out of range are carried by tz_timegm, then read back in range for Abseil. */
int64_t tz_from_local(const struct tz *tz, const struct cron_time *wall)
{
	int64_t local = clamp(tz_timegm(wall));
	struct cron_time n;

	if (!tz || !tz->zone)
		return local;
	tz_gmtime(local, &n);
	return tz_zone_from_local(tz->zone, n.year, n.mon, n.mday, n.hour, n.min, n.sec);
}

/* ---- loading -------------------------------------------------------------------------- */

void tz_free(struct tz *tz)
{
	if (!tz)
		return;
	tz_zone_free(tz->zone);
	free(tz);
}

const char *tz_name(const struct tz *tz)
{
	return tz ? tz->name : "UTC";
}

static struct tz *tz_new(const char *name, struct tz_zone *zone)
{
	struct tz *tz = xcalloc(1, sizeof *tz);

	snprintf(tz->name, sizeof tz->name, "%s", name);
	tz->zone = zone;
	return tz;
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > TZ_NAME_MAX || name[0] == '/' || strstr(name, ".."))
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") ==
	       n;
}

/* 0 when path is a regular file of at most TZ_FILE_MAX bytes; else -1 with errno */
static int zone_file(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	errno = !S_ISREG(st.st_mode) ? EISDIR : st.st_size > TZ_FILE_MAX ? EFBIG : 0;
	return errno ? -1 : 0;
}

struct tz *tz_load(const char *name, char *err, size_t errsize)
{
	const char *dir = getenv("TZDIR");
	char path[4096], cwd[2048];
	struct tz_zone *zone;
	int n;

	if (!name_ok(name)) {
		char shown[TZ_NAME_MAX + 1];
		snprintf(err, errsize, "tz: bad time zone name \"%s\"%s",
			 err_snippet(shown, sizeof shown, name, TZ_NAME_MAX),
			 strlen(name) > TZ_NAME_MAX ? " (too long)" : "");
		return NULL;
	}
	if (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC"))
		return tz_new(name, NULL);
	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	/* an absolute path: Abseil would read a relative one under TZDIR again */
	if (dir[0] != '/')
		n = getcwd(cwd, sizeof cwd)
			    ? snprintf(path, sizeof path, "%s/%s/%s", cwd, dir, name)
			    : -1;
	else
		n = snprintf(path, sizeof path, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof path) {
		snprintf(err, errsize, "tz: \"%s\": path too long", name);
		return NULL;
	}
	/* only the files of the database reach Abseil, which keeps every name it was asked
	 * for: its table stays as small as the directory */
	if (zone_file(path) < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR)
			snprintf(err, errsize, "tz: unknown time zone \"%s\"", name);
		else
			snprintf(err, errsize, "tz: \"%s\": %s", name, strerrordesc_np(errno));
		return NULL;
	}
	if (!(zone = tz_zone_load(path))) {
		/* tzdata's right/ zones count leap seconds, which Abseil refuses */
		snprintf(err, errsize, "tz: \"%s\": %s", name,
			 !strncmp(name, "right/", 6)
				 ? "leap-second zones (right/) are not supported"
				 : "not a TZif file, or a malformed one");
		return NULL;
	}
	return tz_new(name, zone);
}
