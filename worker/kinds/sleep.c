/*
 * sleep: {"steps":N,"step_ms":M,"fail_at"?:K} sleeps N steps of M ms, writing progress and
 * "step i/N" after each; with fail_at it fails the attempt at step K. For demos and tests.
 */
#include <stdio.h>

#include "api.h"

#define SLEEP_MAX_STEPS 10000
#define SLEEP_MAX_STEP_MS 60000

/* Reads an optional integer field in [lo, hi]; false (with err) when present but wrong. */
static bool opt_int(json_object *payload, const char *key, long lo, long hi, long *out, char *err,
		    size_t errsize)
{
	json_object *v;

	if (!json_object_object_get_ex(payload, key, &v) || !v)
		return true;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < lo ||
	    json_object_get_int64(v) > hi) {
		snprintf(err, errsize, "sleep: %s must be an integer in %ld..%ld", key, lo, hi);
		return false;
	}
	*out = (long)json_object_get_int64(v);
	return true;
}

static enum kind_result sleep_run(struct kind_ctx *ctx, json_object *payload, json_object **result,
				  char *err, size_t errsize)
{
	long steps = 10, step_ms = 100, fail_at = 0;
	char msg[64];

	if (!opt_int(payload, "steps", 1, SLEEP_MAX_STEPS, &steps, err, errsize) ||
	    !opt_int(payload, "step_ms", 0, SLEEP_MAX_STEP_MS, &step_ms, err, errsize) ||
	    !opt_int(payload, "fail_at", 1, SLEEP_MAX_STEPS, &fail_at, err, errsize))
		return KIND_FAIL_HARD;

	for (long i = 1; i <= steps; i++) {
		if (!kind_sleep_ms(ctx, step_ms))
			return KIND_STOPPED;
		if (i == fail_at) {
			snprintf(err, errsize, "failed at step %ld", i);
			return KIND_FAIL;
		}
		snprintf(msg, sizeof msg, "step %ld/%ld", i, steps);
		if (!kind_progress(ctx, (int)(i * 100 / steps), msg))
			return KIND_STOPPED;
	}
	*result = json_object_new_object();
	json_object_object_add(*result, "steps", json_object_new_int64(steps));
	return KIND_OK;
}

const struct kind kind_sleep = {"sleep", 0, sleep_run, NULL};
