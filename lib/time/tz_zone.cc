/*
 * tz_zone: see tz_zone.h. A zone is an absl::TimeZone, a handle to cctz's immutable,
 * process-wide copy of the file. Nothing here throws on purpose: an allocation failure
 * ends the process (noexcept), as xmalloc's does.
 */
#include "time/tz_zone.h"

#include <new>

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

struct tz_zone {
	absl::TimeZone zone;
};

struct tz_zone *tz_zone_load(const char *path) noexcept
{
	absl::TimeZone zone;

	if (!absl::LoadTimeZone(path, &zone))
		return nullptr;
	return new tz_zone{zone};
}

void tz_zone_free(struct tz_zone *z) noexcept
{
	delete z;
}

int tz_zone_offset(const struct tz_zone *z, int64_t utc) noexcept
{
	return z->zone.At(absl::FromUnixSeconds(utc)).offset;
}

int64_t tz_zone_from_local(const struct tz_zone *z, int64_t year, int mon, int mday, int hour,
			   int min, int sec) noexcept
{
	const absl::TimeZone::TimeInfo ti =
		z->zone.At(absl::CivilSecond(year, mon, mday, hour, min, sec));

	switch (ti.kind) {
	case absl::TimeZone::TimeInfo::SKIPPED:
		return absl::ToUnixSeconds(ti.trans);
	case absl::TimeZone::TimeInfo::REPEATED: /* pre, the earlier: pre < trans <= post */
	case absl::TimeZone::TimeInfo::UNIQUE:
	default:
		return absl::ToUnixSeconds(ti.pre);
	}
}
