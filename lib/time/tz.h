/*
 * tz: time zones of the system's tzdata, by name, without the C library's TZ/tzset, whose
 * global state is not safe in a threaded process whose libraries call getenv.
 *
 * tz_load("Europe/Berlin") reads $TZDIR/Europe/Berlin (TZDIR from the environment, else
 * /usr/share/zoneinfo) with Abseil's time zones (cctz, lib/time/tz_zone.cc): TZif files of any
 * version, with the POSIX TZ string of their footer for instants after the last
 * transition, so "slim" files and dates past 2037 work. "UTC" and "Etc/UTC" need no file.
 * This module owns the name rules, the messages and the civil calendar; it parses no
 * zone data itself.
 *
 * A loaded zone is immutable: share it between threads freely; tz_free() it once. Abseil
 * keeps each file it read for the life of the process: a tzdata update is seen after a
 * restart.
 */
#ifndef TASKQ_TZ_H
#define TASKQ_TZ_H

#include <stddef.h>
#include <stdint.h>

struct cron_time; /* wallclock.h */
struct tz;

/* the longest zone name tz_load accepts */
#define TZ_NAME_MAX 64
/* the largest TZif file tz_load reads */
#define TZ_FILE_MAX (256 * 1024)

/* Loads zone `name` (characters A-Z a-z 0-9 _ + - /, no "..", no leading '/'). NULL with
 * a one-line message in err when the name is refused, the file is missing or malformed.
 * POSIX TZ strings ("EST5EDT,M3.2.0,M11.1.0") are not zone names: only the files of the
 * zone database are (EST5EDT is one). */
struct tz *tz_load(const char *name, char *err, size_t errsize);

void tz_free(struct tz *tz);

const char *tz_name(const struct tz *tz);

/* The UTC offset (seconds east of Greenwich) in effect at instant utc. tz NULL: UTC. */
int tz_offset_at(const struct tz *tz, int64_t utc);

/* UTC instant -> local wall clock (wday set) and its UTC offset (utcoff_s may be NULL). */
void tz_to_local(const struct tz *tz, int64_t utc, struct cron_time *wall, int *utcoff_s);

/* Wall clock -> instant. In a gap (spring forward) the instant of the transition itself,
 * the first instant after the gap; in a fold (fall back) the earlier of the two instants.
 * Fields out of range are carried (minute 60 is the next hour, day 32 the next month). */
int64_t tz_from_local(const struct tz *tz, const struct cron_time *wall);

/* Civil calendar arithmetic (proleptic Gregorian, any year). */
int64_t tz_days_from_civil(int64_t year, int mon, int mday);
void tz_civil_from_days(int64_t days, int *year, int *mon, int *mday);
int tz_days_in_month(int year, int mon);
int tz_weekday(int64_t days); /* 0 = Sunday; days since 1970-01-01 */
/* wall clock read as UTC <-> seconds (timegm/gmtime_r without the C library's limits) */
int64_t tz_timegm(const struct cron_time *t);
void tz_gmtime(int64_t secs, struct cron_time *t);

#endif
