/* timecheck: helpers of the cron and tz unit suites (tests/unit/timecheck.c). */
#ifndef TASKQ_TIMECHECK_H
#define TASKQ_TIMECHECK_H

#include <stddef.h>
#include <stdint.h>

#include "time/cron.h"
#include "time/tz.h"

/* "2024-03-31T01:00:00Z" <-> Unix seconds; iso_str writes "none" for -1 */
int64_t iso(const char *s);
const char *iso_str(int64_t secs, char *buf, size_t size);
/* the zone called name, which must load; the caller frees it (tz_free) */
struct tz *zone(const char *name);
/* expr parsed, which must parse */
struct cron parse_ok(const char *expr);

/* glibc's zone: TZ set to spec (NULL: unset) and tzset; this test program is single-threaded
 * where it calls this */
void glibc_tz(const char *spec);
/* glibc's UTC offset at t in the zone glibc_tz set */
long glibc_off(int64_t t);
/* ours and glibc's wall clock and offset at t agree */
void same_as_glibc(const struct tz *z, const char *what, int64_t t);
/* Compares z with glibc from `from` to `to` every `step` seconds; where glibc's offset
 * changes between two samples, finds the transition by bisection and compares the
 * second before it and the second of it. Returns the transitions seen. */
int sweep(const struct tz *z, const char *what, int64_t from, int64_t to, int64_t step);

#endif
