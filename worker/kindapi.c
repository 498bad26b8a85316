/*
 * kindapi: the implementation of worker/kinds/api.h, what a running kind may call: its task's
 * id, attempt and time left, progress (throttled, handed to worker/progress.c's flusher, which
 * tells of a cancel or a lost lease), streamed output (worker/output.c's flusher), stop checks,
 * interruptible sleeps, its parents' results, the circuit breakers, the upstream throttles,
 * signals, checkpoints and waits.
 * It works on the executor's kind_ctx and connection; it must not claim, record outcomes or
 * touch the ring of claimed tasks (worker/executor.c and worker/claimer.c do).
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "announce.h"
#include "breakers.h"
#include "base/clock.h"
#include "kinds/api.h"
#include "base/log.h"
#include "pool_impl.h"
#include "store/breakers.h"
#include "store/chains.h"
#include "store/signals.h"
#include "store/worker.h"

#define PROGRESS_MIN_GAP_S 0.05

_Static_assert(KIND_HOST_KEY_MAX == BREAKER_HOST_MAX, "a kind's host key is a breaker's host");

const char *kind_task_id(const struct kind_ctx *ctx)
{
	return ctx->task->id;
}

int kind_attempt(const struct kind_ctx *ctx)
{
	return ctx->task->attempts;
}

const struct kind *kind_of(const struct kind_ctx *ctx)
{
	return ctx->kind;
}

double kind_time_left(const struct kind_ctx *ctx)
{
	return ctx->deadline > 0 ? ctx->deadline - clock_mono_s() : 1e9;
}

void kind_retry_after(struct kind_ctx *ctx, double seconds)
{
	ctx->retry_after_s = seconds > 0 ? seconds : 0;
}

bool kind_should_stop(struct kind_ctx *ctx)
{
	if (ctx->stop != STOP_NONE)
		return true;
	if (atomic_load(&ctx->ex->lost))
		ctx->stop = STOP_LOST;
	else if (atomic_load(&ctx->ex->cancel))
		ctx->stop = STOP_CANCEL;
	else if (ctx->deadline > 0 && clock_mono_s() >= ctx->deadline)
		ctx->stop = STOP_TIMEOUT;
	else if (atomic_load(&ctx->pool->aborting))
		ctx->stop = STOP_SHUTDOWN;
	return ctx->stop != STOP_NONE;
}

bool kind_progress(struct kind_ctx *ctx, int pct, const char *msg)
{
	double now = clock_mono_s();

	if (kind_should_stop(ctx))
		return false;
	if (pct < 100 && now - ctx->last_progress < PROGRESS_MIN_GAP_S)
		return true;
	ctx->last_progress = now;
	/* written by the flusher with the other executors' progress; a cancel or a lost task
	 * it learns is seen at the next call */
	progress_post(ctx->pool->progress, (int)(ctx->ex - ctx->pool->ex), &ctx->holder, pct, msg);
	return !kind_should_stop(ctx);
}

void kind_output(struct kind_ctx *ctx, const char *text, size_t len)
{
	output_post(ctx->pool->output, (int)(ctx->ex - ctx->pool->ex), &ctx->holder, text, len);
}

bool kind_sleep_ms(struct kind_ctx *ctx, long ms)
{
	double end = clock_mono_s() + (double)ms / 1000.0;

	for (;;) {
		double left = end - clock_mono_s();
		long slice;
		struct timespec ts;

		if (kind_should_stop(ctx))
			return false;
		if (left <= 0)
			return true;
		slice = left > 0.05 ? 50 : (long)(left * 1000.0) + 1;
		ts.tv_sec = 0;
		ts.tv_nsec = slice * 1000000L;
		nanosleep(&ts, NULL);
	}
}

bool kind_breaker_admit(struct kind_ctx *ctx, const char *host, double probe_s, char *msg,
			size_t msgsize)
{
	switch (breakers_admit(ctx->ex->db, &ctx->holder, host, probe_s, msg, msgsize)) {
	case BREAKER_PROBE:
		ctx->probe = true;
		return true;
	case BREAKER_RUN:
		return true;
	case BREAKER_LOST:
		ctx->stop = STOP_LOST;
		return false;
	case BREAKER_DEFERRED:
		break;
	}
	return false;
}

void kind_breaker_report(struct kind_ctx *ctx, const char *host, bool ok, const char *reason)
{
	breakers_report(ctx->ex->db, &ctx->holder, host, ok, reason, ctx->probe);
}

enum kind_throttle kind_breaker_throttle(struct kind_ctx *ctx, const char *host, double wait_s,
					 const char *reason, bool hold_task, char *msg,
					 size_t msgsize)
{
	enum breaker_verdict v;

	if (!breakers_throttle(ctx->ex->db, &ctx->holder, hold_task, host, wait_s, reason, &v, msg,
			       msgsize))
		return KIND_THROTTLE_FAILED;
	if (!hold_task)
		return KIND_THROTTLE_HELD;
	if (v == BREAKER_DEFERRED)
		return KIND_THROTTLE_DEFERRED;
	ctx->stop = STOP_LOST;
	return KIND_THROTTLE_LOST;
}

bool kind_parents(struct kind_ctx *ctx, char **json, char *err, size_t errsize)
{
	struct taskq_err e;

	*json = NULL;
	if (!ctx->task->parents)
		return true;
	if (store_parents_json(ctx->ex->db, ctx->task->id, json, &e) == TASKQ_OK)
		return true;
	snprintf(err, errsize, "cannot read the parents' results: %s", e.msg);
	return false;
}

bool kind_breaker_key(const char *url, char *out, size_t size)
{
	return breakers_host_key(url, out, size);
}

const char *kind_signals(const struct kind_ctx *ctx)
{
	return ctx->task->signals;
}

const char *kind_last_checkpoint(const struct kind_ctx *ctx)
{
	return ctx->task->checkpoint;
}

bool kind_checkpoint(struct kind_ctx *ctx, const char *json, char *err, size_t errsize)
{
	struct taskq_err e;
	bool held = false;

	/* on the executor's connection, at once: it must outlive a crash the next instant. A
	 * stopping attempt (a cancel, a shutdown) may still store one: the write is fenced by
	 * the holder, so it lands only while the task is this attempt's */
	if (store_checkpoint(ctx->ex->db, &ctx->holder, json, &held, &e)) {
		snprintf(err, errsize, "checkpoint not stored: %s", e.msg);
		return false;
	}
	if (!held) {
		ctx->stop = STOP_LOST;
		snprintf(err, errsize,
			 "checkpoint not stored: the task is no longer this worker's");
		return false;
	}
	announce_id(ctx->task->id);
	return true;
}

void kind_wait(struct kind_ctx *ctx, const char *name, double timeout_s, bool on_timeout_run)
{
	snprintf(ctx->wait_signal, sizeof ctx->wait_signal, "%s", name);
	ctx->wait_timeout_s = timeout_s;
	ctx->wait_run = on_timeout_run;
}
