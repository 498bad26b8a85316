/*
 * tz_zone: Abseil's time-zone engine (cctz) behind a C interface, for lib/time/tz.c alone. It reads
 * and interprets TZif files; it knows nothing of zone names, TZDIR or messages (tz.c's).
 * A zone is immutable: any thread may use it.
 */
#ifndef TASKQ_TZ_ZONE_H
#define TASKQ_TZ_ZONE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
/* an exception here would cross C frames: none leaves, allocation failure aborts */
#define TZ_ZONE_NOEXCEPT noexcept
#else
#define TZ_ZONE_NOEXCEPT
#endif

struct tz_zone;

/* The zone in the TZif file at `path` (absolute); NULL when Abseil refuses the file
 * (unreadable, malformed, or with leap seconds). Abseil keeps what it read for the life of
 * the process, keyed by path: the handle is small, free it with tz_zone_free. (Abseil
 * 20220623 reads a file with no transition at all as its first time type for ever, even
 * with a DST footer; zic writes no such file.) */
struct tz_zone *tz_zone_load(const char *path) TZ_ZONE_NOEXCEPT;

void tz_zone_free(struct tz_zone *z) TZ_ZONE_NOEXCEPT;

/* The UTC offset (seconds east of Greenwich) in effect at instant utc. */
int tz_zone_offset(const struct tz_zone *z, int64_t utc) TZ_ZONE_NOEXCEPT;

/* The instant whose wall clock is the given one (fields in range): in a gap (spring
 * forward) the transition itself, in a fold (fall back) the earlier of the two. */
int64_t tz_zone_from_local(const struct tz_zone *z, int64_t year, int mon, int mday, int hour,
			   int min, int sec) TZ_ZONE_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
