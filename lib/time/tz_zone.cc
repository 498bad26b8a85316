/*
 * tz_zone: see tz_zone.h. A zone is a cctz::time_zone, a handle to cctz's immutable,
 * process-wide copy of the file. cctz is the zone engine inside Abseil's time library; its
 * own interface (absl/time/internal/cctz) is used rather than absl::TimeZone so that none of
 * Abseil's time formatting and arithmetic (and the C++ locale machinery and libm under it)
 * is linked in. Nothing here throws on purpose: an allocation failure ends the process
 * (noexcept), as xmalloc's does.
 */
#include "time/tz_zone.h"

#include <new>

#include <absl/time/internal/cctz/include/cctz/civil_time.h>
#include <absl/time/internal/cctz/include/cctz/time_zone.h>

namespace cctz = absl::time_internal::cctz;

struct tz_zone {
	cctz::time_zone zone;
};

static cctz::time_point<cctz::seconds> instant(int64_t utc)
{
	return cctz::time_point<cctz::seconds>(cctz::seconds(utc));
}

static int64_t unix_seconds(const cctz::time_point<cctz::seconds> &t)
{
	return t.time_since_epoch().count();
}

struct tz_zone *tz_zone_load(const char *path) noexcept
{
	cctz::time_zone zone;

	if (!cctz::load_time_zone(path, &zone))
		return nullptr;
	return new tz_zone{zone};
}

void tz_zone_free(struct tz_zone *z) noexcept
{
	delete z;
}

int tz_zone_offset(const struct tz_zone *z, int64_t utc) noexcept
{
	return z->zone.lookup(instant(utc)).offset;
}

int64_t tz_zone_from_local(const struct tz_zone *z, int64_t year, int mon, int mday, int hour,
			   int min, int sec) noexcept
{
	const cctz::time_zone::civil_lookup cl =
		z->zone.lookup(cctz::civil_second(year, mon, mday, hour, min, sec));

	switch (cl.kind) {
	case cctz::time_zone::civil_lookup::SKIPPED:
		return unix_seconds(cl.trans);
	case cctz::time_zone::civil_lookup::REPEATED: /* pre, the earlier: pre < trans <= post */
	case cctz::time_zone::civil_lookup::UNIQUE:
	default:
		return unix_seconds(cl.pre);
	}
}
