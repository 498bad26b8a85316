/*
 * cron: cron expressions for recurring schedules — parsing and the next fire instant.
 *
 *   5 fields   min hour dom month dow          (Vixie cron semantics)
 *   6 fields   sec min hour dom month dow      (a leading seconds field)
 *   aliases    @yearly @annually @monthly @weekly @daily @midnight @hourly
 *   @every D   a fixed interval (D like 1s, 90s, 5m, 2h, 1h30m): the fire instants are the
 *              multiples of D since the Unix epoch, the same on every host, in every zone
 *
 * Items: `*`, `N`, `N-M`, each with an optional step `/S` (every 15 minutes: `*` then `/15`;
 * `10-50/20`); `N/S` means `N-max/S`.
 * Names JAN-DEC and SUN-SAT (any case) in the month and day-of-week fields; day of week
 * 0 and 7 are both Sunday. When both day of month and day of week are restricted (the
 * field does not start with `*`), a day matches if EITHER matches; otherwise both must.
 *
 * cron_next() walks the wall-clock times that match, after the wall clock of `after` in
 * the schedule's zone, maps each to an instant with tz_from_local() (a time in a
 * spring-forward gap fires at the transition, a time in a fall-back fold at the earlier
 * instant) and returns the first instant after `after`: across a DST change a daily run
 * happens exactly once, and the repeated hour does not fire twice.
 *
 * A parsed struct cron is plain data: copy it, share it between threads.
 */
#ifndef TASKQ_CRON_H
#define TASKQ_CRON_H

#include <stddef.h>
#include <stdint.h>

#include "time/wallclock.h"

struct tz;

/* the longest expression cron_parse accepts, in bytes */
#define CRON_EXPR_MAX 256
/* how far cron_next looks (years of wall clock after `after`) before it gives up */
#define CRON_SEARCH_YEARS 28
/* the longest @every interval: 8784h (366 days) */
#define CRON_EVERY_MAX ((int64_t)366 * 86400)
/* the instants cron_next works with: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z */
#define CRON_TIME_MIN ((int64_t)-62135596800)
#define CRON_TIME_MAX ((int64_t)253402300799)

struct cron {
	uint64_t sec, min; /* bit n: second / minute n */
	uint32_t hour;     /* bits 0-23 */
	uint32_t dom;      /* bits 1-31 */
	uint16_t month;    /* bits 1-12 */
	uint8_t dow;       /* bits 0-6, Sunday = 0 */
	uint8_t flags;     /* CRON_DOM_STAR, CRON_DOW_STAR */
	int64_t every;     /* > 0: an @every interval in seconds; the masks are unused */
};

#define CRON_DOM_STAR 0x01 /* the day-of-month field started with '*' */
#define CRON_DOW_STAR 0x02 /* the day-of-week field started with '*' */

/* Parses expr into *out. 0 on success; -1 with a one-line ASCII message in err (e.g.
 * `cron: minute field: 61 is out of range 0-59`). Refuses expressions that never fire. */
int cron_parse(const char *expr, struct cron *out, char *err, size_t errsize);

/* The first fire instant strictly after `after` (Unix seconds) in zone tz (NULL: UTC);
 * -1 when there is none within CRON_SEARCH_YEARS or outside CRON_TIME_MIN..MAX. */
int64_t cron_next(const struct cron *c, const struct tz *tz, int64_t after);

/* The first wall-clock time strictly after *t that matches c (calendar only, no zone;
 * @every is not calendar-based and gives -1), written back to *t; -1 when there is none
 * up to the end of year `last_year` (wday is not set). */
int cron_next_wall(const struct cron *c, struct cron_time *t, int last_year);

#endif
