/* console: the field tables of the console's records (see console.h). */
#include "model/console.h"

#define F(rec, type, member) FIELD(struct rec, type, member)
static const struct field fleet_fields[] = {
	F(fleet_row, FIELD_STR, id),         F(fleet_row, FIELD_STR, host),
	F(fleet_row, FIELD_INT, pid),        F(fleet_row, FIELD_STR, version),
	F(fleet_row, FIELD_STR, queues),     F(fleet_row, FIELD_INT, concurrency),
	F(fleet_row, FIELD_INT, running),    F(fleet_row, FIELD_TIME, started_at),
	F(fleet_row, FIELD_TIME, last_seen), F(fleet_row, FIELD_DOUBLE, last_seen_s),
	F(fleet_row, FIELD_BOOL, stale),     F(fleet_row, FIELD_DOUBLE, finished_per_min),
};
const struct record_type fleet_record = RECORD_TYPE(fleet_fields);

static const struct field series_fields[] = {
	F(series_point, FIELD_TIME, at),          F(series_point, FIELD_LL, started),
	F(series_point, FIELD_LL, succeeded),     F(series_point, FIELD_LL, failed),
	F(series_point, FIELD_LL, cancelled),     F(series_point, FIELD_JSON, queued),
	F(series_point, FIELD_JSON, wait_p50_ms), F(series_point, FIELD_JSON, wait_p95_ms),
	F(series_point, FIELD_JSON, run_p50_ms),  F(series_point, FIELD_JSON, run_p95_ms),
};
const struct record_type series_record = RECORD_TYPE(series_fields);

static const struct field breaker_fields[] = {
	F(breaker_info, FIELD_STR, host),       F(breaker_info, FIELD_STR, state),
	F(breaker_info, FIELD_INT, failures),   F(breaker_info, FIELD_STR, last_error),
	F(breaker_info, FIELD_TIME, opened_at), F(breaker_info, FIELD_TIME, retry_at),
	F(breaker_info, FIELD_LL, trips),       F(breaker_info, FIELD_LL, probes),
	F(breaker_info, FIELD_LL, deferred),    F(breaker_info, FIELD_DOUBLE, throttled_s),
	F(breaker_info, FIELD_LL, waiting),     F(breaker_info, FIELD_TIME, updated_at),
};
const struct record_type breaker_record = RECORD_TYPE(breaker_fields);

static const struct field bulk_fields[] = {
	FIELD_CHARS_OF(struct bulk_outcome, id),
	FIELD_CHARS_OF(struct bulk_outcome, outcome),
};
const struct record_type bulk_record = RECORD_TYPE(bulk_fields);
#undef F
