/*
 * executor: the executor threads. Each takes the next claimed task from the pool's ring, runs
 * its kind (worker/kinds/, through the kinds table) with a kind_ctx, and records the outcome
 * once with fenced verbs on its own connection (successes through the completer's group
 * commit), riding out a database outage while the lease lasts. It must not claim (the claimer
 * does) nor touch the heartbeat's chores; what a kind may call is worker/kindapi.c's.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "completer.h"
#include "counters.h"
#include "kinds.h"
#include "base/log.h"
#include "pool_impl.h"
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

/* Records what became of one attempt, once. */
static enum taskq_rc record_once(struct kind_ctx *ctx, const struct kind *k, enum kind_result kr,
				 json_object *result, const char *errmsg, struct taskq_err *err)
{
	struct executor *ex = ctx->ex;
	const struct task *t = ctx->task;
	const struct holder *h = &ctx->holder;
	enum taskq_rc rc = TASKQ_OK;
	char msg[320];
	int state = -1;
	bool held = false;

	switch (kr) {
	case KIND_OK:
		rc = completer_complete(ctx->pool->completer, h, result, &held, err);
		if (rc == TASKQ_OK) {
			log_task(held ? LOG_INFO : LOG_WARN, t->id, "event=%s kind=%s attempt=%d",
				 held ? "succeeded" : "result_dropped_not_holder", t->kind,
				 t->attempts);
			counters_outcome(held ? WS_SUCCEEDED : WS_LOST);
		} else if (rc == TASKQ_INVAL) {
			/* PostgreSQL refused the result (too big, bad text): the attempt fails for good
			 * rather than looping until the lease runs out */
			snprintf(msg, sizeof msg, "result rejected by the database: %.200s",
				 err->msg);
			rc = store_fail(ex->db, h, msg, false, 0, &state, err);
			log_task(LOG_WARN, t->id, "event=result_rejected kind=%s", t->kind);
			if (rc == TASKQ_OK)
				counters_outcome(state < 0 ? WS_LOST : WS_FAILED);
		}
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
	return rc;
}

/* Records the outcome, riding out a database outage: the verbs are fenced by worker id, so
 * repeating one is safe. Gives up when the lease must have expired (the task is rescued and
 * runs again) or when the pool is shutting down past its grace period. */
static void record(struct kind_ctx *ctx, const struct kind *k, enum kind_result kr,
		   json_object *result, const char *errmsg)
{
	double give_up = clock_mono_s() + ctx->pool->cfg.lease_s, pause = 0.05;
	struct taskq_err err = {0};

	while (record_once(ctx, k, kr, result, errmsg, &err) == TASKQ_DB_DOWN) {
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

static void run_task(struct executor *ex, const struct task *t)
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
		record(&ctx, NULL, KIND_FAIL, NULL, errmsg);
		kinds_release(kt);
		return;
	}
	timeout = t->timeout_s > 0 ? t->timeout_s : k->default_timeout_s;
	if (timeout > 0)
		ctx.deadline = clock_mono_s() + timeout;
	payload = json_tokener_parse(t->payload ? t->payload : "{}");
	log_task(LOG_DEBUG, t->id, "event=started kind=%s attempt=%d", t->kind, t->attempts);
	/* work that finished is recorded as finished, even if a cancel arrived meanwhile */
	t0 = clock_mono_s();
	kr = k->run(&ctx, payload, &result, errmsg, sizeof errmsg);
	counters_run(k->name, clock_mono_s() - t0);
	/* while the outcome is being recorded (a round trip, shared by the successes of other
	 * executors), the claimer may already claim this executor's next task: the two round
	 * trips overlap instead of following each other */
	pthread_mutex_lock(&ex->pool->lock);
	ex->pool->recording++;
	pthread_mutex_unlock(&ex->pool->lock);
	claimer_poke(ex->pool);
	record(&ctx, k, kr, result, errmsg);
	pthread_mutex_lock(&ex->pool->lock);
	ex->pool->recording--;
	pthread_mutex_unlock(&ex->pool->lock);
	json_object_put(result);
	json_object_put(payload);
	kinds_release(kt);
}

static int queue_index(const struct pool *p, const char *queue)
{
	for (int i = 0; i < p->nqueues; i++)
		if (queue && !strcmp(p->queue[i], queue))
			return i;
	return -1;
}

void *executor_main(void *arg)
{
	struct executor *ex = arg;
	struct pool *p = ex->pool;

	for (;;) {
		struct task t;

		pthread_mutex_lock(&p->lock);
		while (p->count == 0 && !atomic_load(&p->stopping))
			pthread_cond_wait(&p->ready, &p->lock);
		if (p->count == 0) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		t = p->pending[p->head];
		p->head = (p->head + 1) % p->cfg.concurrency;
		p->count--;
		memcpy(ex->running_id, t.id, sizeof ex->running_id);
		ex->running_attempt = t.attempts;
		ex->queue_idx = queue_index(p, t.queue);
		atomic_store(&ex->cancel, t.cancel_requested);
		pthread_mutex_unlock(&p->lock);

		run_task(ex, &t);
		task_cleanup(&t);

		pthread_mutex_lock(&p->lock);
		ex->running_id[0] = '\0';
		p->inflight--;
		if (ex->queue_idx >= 0)
			p->queue_running[ex->queue_idx]--;
		pthread_mutex_unlock(&p->lock);
		claimer_poke(p);
	}
	return NULL;
}
