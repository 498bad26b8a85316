/*
 * executor: the executor threads. Each takes the next claimed task from the pool's ring, runs
 * its kind (worker/kinds/, through the kinds table) with a kind_ctx, and records the outcome
 * once with fenced verbs on its own connection, riding out a database outage while the lease
 * lasts; a success goes to the completer's group commit, and the executor to its next task
 * without waiting for that commit. It must not claim (the claimer
 * does) nor touch the heartbeat's chores; what a kind may call is worker/kindapi.c's.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "announce.h"
#include "base/clock.h"
#include "completer.h"
#include "counters.h"
#include "kinds.h"
#include "base/log.h"
#include "pool_impl.h"
#include "store/signals.h"
#include "store/worker.h"
#include "model/task.h"

/* The outcome of a failed attempt from the state store_fail moved the task to (-1: not ours). */
static enum wstats_outcome fail_outcome(int state)
{
	return state < 0 ? WS_LOST : state == TASK_QUEUED ? WS_RETRIED : WS_FAILED;
}

/* A stopped attempt the store has taken back (rc TASKQ_OK): logged and counted. Returns rc. */
static enum taskq_rc stopped(enum taskq_rc rc, const struct task *t, const char *event,
			     enum wstats_outcome o)
{
	if (rc == TASKQ_OK) {
		log_task(LOG_INFO, t->id, "event=%s kind=%s", event, t->kind);
		counters_outcome(o);
	}
	return rc;
}

/* Records what became of one attempt that did not succeed, once. */
static enum taskq_rc record_once(struct kind_ctx *ctx, const struct kind *k, enum kind_result kr,
				 const char *errmsg, struct taskq_err *err)
{
	struct executor *ex = ctx->ex;
	const struct task *t = ctx->task;
	const struct holder *h = &ctx->holder;
	enum taskq_rc rc = TASKQ_OK;
	char msg[320];
	int state = -1;

	switch (kr) {
	case KIND_OK: /* the completer's (run_task) */
		break;
	case KIND_FAIL:
	case KIND_FAIL_HARD:
		rc = store_fail(ex->db, h, errmsg, kr == KIND_FAIL, ctx->retry_after_s, &state,
				err);
		if (rc == TASKQ_OK) {
			log_task(LOG_INFO, t->id,
				 "event=attempt_failed kind=%s attempt=%d next=%s error=\"%s\"",
				 t->kind, t->attempts,
				 state < 0 ? "not_holder" : task_state_name(state), errmsg);
			counters_outcome(fail_outcome(state));
		}
		break;
	case KIND_WAIT:
		rc = store_wait(ex->db, h, ctx->wait_signal, ctx->wait_timeout_s, ctx->wait_run,
				&state, err);
		if (rc == TASKQ_OK)
			log_task(LOG_INFO, t->id, "event=waiting kind=%s signal=%s next=%s",
				 t->kind, ctx->wait_signal,
				 state < 0 ? "not_holder" : task_state_name(state));
		break;
	case KIND_DEFERRED:
		/* recorded by taskq.breaker_admit already; a backlog is deferred again at every
		 * probe time, so this is a debug line (the breaker's transitions are logged) */
		log_task(LOG_DEBUG, t->id, "event=deferred kind=%s msg=\"%s\"", t->kind, errmsg);
		break;
	case KIND_STOPPED:
		switch (ctx->stop) {
		case STOP_CANCEL:
			rc = stopped(store_ack_cancel(ex->db, h, err), t, "cancelled",
				     WS_CANCELLED);
			break;
		case STOP_TIMEOUT:
			snprintf(msg, sizeof msg, "timed out after %d s",
				 t->timeout_s > 0 ? t->timeout_s : k->default_timeout_s);
			rc = store_fail(ex->db, h, msg, true, 0, &state, err);
			if (rc == TASKQ_OK) {
				log_task(LOG_INFO, t->id, "event=timed_out kind=%s attempt=%d",
					 t->kind, t->attempts);
				counters_outcome(fail_outcome(state));
			}
			break;
		case STOP_SHUTDOWN:
			rc = stopped(store_release(ex->db, h, err), t, "released", WS_RELEASED);
			break;
		case STOP_LOST:
		case STOP_NONE:
			log_task(LOG_WARN, t->id, "event=lost_lease kind=%s", t->kind);
			counters_outcome(WS_LOST);
			break;
		}
		break;
	}
	if (rc == TASKQ_OK && kr != KIND_OK)
		announce_id(t->id);
	return rc;
}

/* Records the outcome, riding out a database outage: the verbs are fenced by worker id, so
 * repeating one is safe. Gives up when the lease must have expired (the task is rescued and
 * runs again) or when the pool is shutting down past its grace period. */
static void record(struct kind_ctx *ctx, const struct kind *k, enum kind_result kr,
		   const char *errmsg)
{
	double give_up = clock_mono_s() + ctx->pool->cfg.lease_s, pause = 0.05;
	struct taskq_err err = {0};

	while (record_once(ctx, k, kr, errmsg, &err) == TASKQ_DB_DOWN) {
		struct timespec ts;

		if (clock_mono_s() + pause > give_up || atomic_load(&ctx->pool->aborting)) {
			log_task(
				LOG_ERROR, ctx->task->id,
				"event=record_failed msg=\"%s\" note=\"the lease expires and the task runs again\"",
				err.msg);
			return;
		}
		ts.tv_sec = (time_t)pause;
		ts.tv_nsec = (long)((pause - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
		pause = pause * 2 > 2 ? 2 : pause * 2;
	}
	if (err.rc != TASKQ_OK && err.rc != TASKQ_DB_DOWN)
		log_task(LOG_ERROR, ctx->task->id, "event=record_failed msg=\"%s\"", err.msg);
}

/* Runs t and records its outcome; true when a success went to the completer, which frees
 * the task's place under its queue's limit once it is recorded. */
static bool run_task(struct executor *ex, const struct task *t)
{
	struct kind_table *kt = kinds_acquire(); /* a reload frees no kind that runs */
	const struct kind *k = kinds_lookup(kt, t->kind);
	struct kind_ctx ctx = {.pool = ex->pool,
			       .ex = ex,
			       .task = t,
			       .kind = k,
			       .holder = {t->id, ex->pool->worker_id, t->attempts}};
	json_object *payload = NULL, *result = NULL;
	enum kind_result kr;
	char errmsg[2200] = ""; /* a command kind puts up to 2 KiB of stderr here */
	double t0;
	int timeout;

	if (!k) {
		snprintf(errmsg, sizeof errmsg, "this worker does not run kind '%s'", t->kind);
		record(&ctx, NULL, KIND_FAIL, errmsg);
		kinds_release(kt);
		return false;
	}
	timeout = t->timeout_s > 0 ? t->timeout_s : k->default_timeout_s;
	if (timeout > 0)
		ctx.deadline = clock_mono_s() + timeout;
	payload = json_tokener_parse(t->payload ? t->payload : "{}");
	log_task(LOG_DEBUG, t->id, "event=started kind=%s attempt=%d", t->kind, t->attempts);
	/* work that finished is recorded as finished, even if a cancel arrived meanwhile */
	t0 = clock_mono_s();
	kr = k->run(&ctx, payload, &result, errmsg, sizeof errmsg);
	t0 = clock_mono_s() - t0;
	if (kr == KIND_WAIT && !ctx.wait_signal[0]) {
		snprintf(errmsg, sizeof errmsg, "kind %s asked to wait without a signal", k->name);
		kr = KIND_FAIL_HARD;
	}
	/* its last output and progress land before its outcome */
	output_settle(ex->pool->output, (int)(ex - ex->pool->ex));
	progress_settle(ex->pool->progress, (int)(ex - ex->pool->ex));
	counters_run(k->name, t0);
	pthread_mutex_lock(&ex->pool->lock);
	pool_note_done(ex->pool);
	pthread_mutex_unlock(&ex->pool->lock);
	if (kr == KIND_OK) {
		/* recorded by the group commit while this executor takes its next task */
		completer_complete(ex->pool->completer, &ctx.holder, t->kind, result,
				   ex->queue_idx);
		result = NULL;
	} else {
		/* while the outcome is being recorded (a round trip), the claimer may already
		 * claim this executor's next task: the two round trips overlap */
		pthread_mutex_lock(&ex->pool->lock);
		ex->pool->recording++;
		pthread_mutex_unlock(&ex->pool->lock);
		claimer_poke(ex->pool);
		record(&ctx, k, kr, errmsg);
		pthread_mutex_lock(&ex->pool->lock);
		ex->pool->recording--;
		pthread_mutex_unlock(&ex->pool->lock);
	}
	json_object_put(result);
	json_object_put(payload);
	kinds_release(kt);
	return kr == KIND_OK;
}

void *executor_main(void *arg)
{
	struct executor *ex = arg;
	struct pool *p = ex->pool;

	for (;;) {
		struct task t;
		bool poke, handed;

		pthread_mutex_lock(&p->lock);
		while (p->count == 0 && !atomic_load(&p->stopping))
			pthread_cond_wait(&p->ready, &p->lock);
		if (p->count == 0) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		t = p->pending[p->head];
		p->head = (p->head + 1) % p->ring_cap;
		p->count--;
		memcpy(ex->running_id, t.id, sizeof ex->running_id);
		ex->running_attempt = t.attempts;
		ex->queue_idx = pool_queue_index(p, t.queue);
		atomic_store(&ex->cancel, t.cancel_requested);
		atomic_store(&ex->lost, 0);
		poke = claimer_want(p) > 0; /* the local queue ran low */
		pthread_mutex_unlock(&p->lock);
		if (poke)
			claimer_poke(p);

		handed = run_task(ex, &t);
		task_cleanup(&t);

		pthread_mutex_lock(&p->lock);
		ex->running_id[0] = '\0';
		p->inflight--;
		if (ex->queue_idx >= 0 && !handed)
			p->queue_running[ex->queue_idx]--;
		poke = claimer_want(p) > 0;
		pthread_mutex_unlock(&p->lock);
		if (poke)
			claimer_poke(p);
	}
	return NULL;
}
