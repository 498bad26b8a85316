/* pool: claim loop, executors, heartbeat, rescue and shutdown of taskq-worker. */
#include "pool.h"
#include "queues.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "breakers.h"
#include "clock.h"
#include "completer.h"
#include "kinds.h"
#include "log.h"
#include "sdnotify.h"
#include "store.h"
#include "counters.h"
#include "xalloc.h"

#define MAX_QUEUES 32
#define RESCUE_EVERY_MAX_S 5.0
#define PRUNE_EVERY_S 60.0
#define PRUNE_BATCH 1000

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "dev"
#endif
#define PROGRESS_MIN_GAP_S 0.05

enum stop_reason { STOP_NONE, STOP_CANCEL, STOP_TIMEOUT, STOP_SHUTDOWN, STOP_LOST };

struct executor {
	struct pool *pool;
	pthread_t thread;
	struct db *db;
	int queue_idx; /* of the running task; guarded by pool->lock */
	char running_id[TASK_ID_LEN + 1]; /* guarded by pool->lock */
	int running_attempt;
	atomic_int cancel;                /* set by the heartbeat */
};

struct pool {
	struct pool_config cfg;
	char *queues_csv;
	char *queue[MAX_QUEUES];
	int queue_limit[MAX_QUEUES]; /* 0: no limit but the concurrency */
	int queue_running[MAX_QUEUES]; /* guarded by lock */
	int nqueues;
	char worker_id[128];
	char host[64];
	struct worker_info info;

	pthread_mutex_t lock;
	pthread_cond_t ready; /* tasks waiting in `pending` */
	struct task *pending; /* claimed, not yet picked up: a ring of cfg.concurrency */
	int head, count;
	int inflight; /* claimed and not yet recorded */
	int recording; /* of those: run, their outcome being recorded (claimed for in advance) */

	bool breakers_changed; /* NOTIFY taskq_breakers arrived (claimer thread only) */

	atomic_bool stopping; /* no more claims */
	atomic_bool register_kinds; /* (again) the kinds table changed */
	atomic_int poll_s, retention_h; /* SIGHUP may change them */
	atomic_bool aborting; /* grace over: running kinds must stop */
	int efd;              /* wakes the claimer */

	pthread_t claimer;
	struct db *cdb;
	struct completer *completer;
	struct executor *ex;
};

struct kind_ctx {
	struct pool *pool;
	struct executor *ex;
	const struct task *task;
	const struct kind *kind;
	struct holder holder; /* task id, worker id, attempt: fences every write */
	double retry_after_s; /* 0: the usual back-off */
	bool probe; /* admitted as its host's breaker probe */
	double deadline; /* monotonic seconds; 0: none */
	double last_progress;
	enum stop_reason stop;
};

static void poke(struct pool *p)
{
	uint64_t one = 1;
	if (write(p->efd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_warn("event=eventfd_write_failed errno=%d", errno);
}

/* ---- the API kinds use ------------------------------------------------------------------ */

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
	if (atomic_load(&ctx->ex->cancel))
		ctx->stop = STOP_CANCEL;
	else if (ctx->deadline > 0 && clock_mono_s() >= ctx->deadline)
		ctx->stop = STOP_TIMEOUT;
	else if (atomic_load(&ctx->pool->aborting))
		ctx->stop = STOP_SHUTDOWN;
	return ctx->stop != STOP_NONE;
}

bool kind_progress(struct kind_ctx *ctx, int pct, const char *msg)
{
	struct taskq_err err;
	double now = clock_mono_s();
	int cancel;

	if (kind_should_stop(ctx))
		return false;
	if (pct < 100 && now - ctx->last_progress < PROGRESS_MIN_GAP_S)
		return true;
	ctx->last_progress = now;
	if (store_progress(ctx->ex->db, &ctx->holder, pct, msg,
			   ctx->pool->cfg.lease_s, &cancel, &err) != TASKQ_OK) {
		/* progress is best effort; the lease and the fenced completion keep it safe */
		log_task(LOG_WARN, ctx->task->id, "event=progress_failed msg=\"%s\"", err.msg);
		return !kind_should_stop(ctx);
	}
	if (cancel < 0)
		ctx->stop = STOP_LOST;
	else if (cancel > 0)
		ctx->stop = STOP_CANCEL;
	return !kind_should_stop(ctx);
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

/* ---- executors ---------------------------------------------------------------------- */

/* The outcome of a failed attempt from the state store_fail moved the task to (-1: not ours). */
static enum wstats_outcome fail_outcome(int state)
{
	return state < 0 ? WS_LOST : state == TASK_QUEUED ? WS_RETRIED : WS_FAILED;
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
				 held ? "succeeded" : "result_dropped_not_holder", t->kind, t->attempts);
			counters_outcome(held ? WS_SUCCEEDED : WS_LOST);
		} else if (rc == TASKQ_INVAL) {
			/* PostgreSQL refused the result (too big, bad text): the attempt fails for good
			 * rather than looping until the lease runs out */
			snprintf(msg, sizeof msg, "result rejected by the database: %.200s", err->msg);
			rc = store_fail(ex->db, h, msg, false, 0, &state, err);
			log_task(LOG_WARN, t->id, "event=result_rejected kind=%s", t->kind);
			if (rc == TASKQ_OK)
				counters_outcome(state < 0 ? WS_LOST : WS_FAILED);
		}
		break;
	case KIND_FAIL:
	case KIND_FAIL_HARD:
		rc = store_fail(ex->db, h, errmsg, kr == KIND_FAIL, ctx->retry_after_s, &state, err);
		if (rc == TASKQ_OK) {
			log_task(LOG_INFO, t->id, "event=attempt_failed kind=%s attempt=%d next=%s error=\"%s\"",
				 t->kind, t->attempts, state < 0 ? "not_holder" : task_state_name(state), errmsg);
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
			rc = store_ack_cancel(ex->db, h, err);
			if (rc == TASKQ_OK) {
				log_task(LOG_INFO, t->id, "event=cancelled kind=%s", t->kind);
				counters_outcome(WS_CANCELLED);
			}
			break;
		case STOP_TIMEOUT:
			snprintf(msg, sizeof msg, "timed out after %d s",
				 t->timeout_s > 0 ? t->timeout_s : k->default_timeout_s);
			rc = store_fail(ex->db, h, msg, true, 0, &state, err);
			if (rc == TASKQ_OK) {
				log_task(LOG_INFO, t->id, "event=timed_out kind=%s attempt=%d", t->kind, t->attempts);
				counters_outcome(fail_outcome(state));
			}
			break;
		case STOP_SHUTDOWN:
			rc = store_release(ex->db, h, err);
			if (rc == TASKQ_OK) {
				log_task(LOG_INFO, t->id, "event=released kind=%s", t->kind);
				counters_outcome(WS_RELEASED);
			}
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
			log_task(LOG_ERROR, ctx->task->id,
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
	struct kind_ctx ctx = {.pool = ex->pool, .ex = ex, .task = t, .kind = k,
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
	poke(ex->pool);
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

static void *executor_main(void *arg)
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
		poke(p);
	}
	return NULL;
}

/* ---- the claimer ---------------------------------------------------------------------- */

static void mark_cancel(const char *id, void *ctx)
{
	struct pool *p = ctx;

	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->cfg.concurrency; i++)
		if (!strcmp(p->ex[i].running_id, id))
			atomic_store(&p->ex[i].cancel, 1);
	pthread_mutex_unlock(&p->lock);
}

/* Claims up to `free` tasks over the queues, round robin; returns how many it got. */
static int claim(struct pool *p, int nfree, int *rotor)
{
	int got = 0;

	for (int i = 0; i < p->nqueues && got < nfree; i++) {
		int qi = (*rotor + i) % p->nqueues, want = nfree - got;
		const char *q = p->queue[qi];
		struct task_list l = {0};
		struct taskq_err err;

		if (p->queue_limit[qi] > 0) {
			pthread_mutex_lock(&p->lock);
			if (p->queue_limit[qi] - p->queue_running[qi] < want)
				want = p->queue_limit[qi] - p->queue_running[qi];
			pthread_mutex_unlock(&p->lock);
			if (want <= 0)
				continue;
		}
		if (store_claim(p->cdb, p->worker_id, q, want, p->cfg.lease_s, &l, &err)) {
			log_warn("event=claim_failed queue=%s msg=\"%s\"", q, err.msg);
			break;
		}
		pthread_mutex_lock(&p->lock);
		for (size_t j = 0; j < l.n; j++) {
			int tail = (p->head + p->count) % p->cfg.concurrency;
			p->pending[tail] = l.v[j]; /* ownership moves to the ring */
			p->count++;
			p->inflight++;
			p->queue_running[qi]++;
			log_task(LOG_DEBUG, l.v[j].id, "event=claimed queue=%s", q);
		}
		if (l.n)
			pthread_cond_broadcast(&p->ready);
		pthread_mutex_unlock(&p->lock);
		got += (int)l.n;
		counters_claimed((int)l.n);
		free(l.v);
	}
	*rotor = (*rotor + 1) % p->nqueues;
	return got;
}

/* The (id, attempt) pairs the executors hold, as two PostgreSQL array literals; the caller
 * frees both. */
static void held_tasks(struct pool *p, char **ids, char **attempts)
{
	size_t n = 0, a = 0, cap = (size_t)p->cfg.concurrency * (TASK_ID_LEN + 1) + 3;

	*ids = xmalloc(cap);
	*attempts = xmalloc((size_t)p->cfg.concurrency * 12 + 3);
	(*ids)[n++] = '{';
	(*attempts)[a++] = '{';
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->cfg.concurrency; i++) {
		if (!p->ex[i].running_id[0])
			continue;
		if (n > 1) {
			(*ids)[n++] = ',';
			(*attempts)[a++] = ',';
		}
		memcpy(*ids + n, p->ex[i].running_id, TASK_ID_LEN);
		n += TASK_ID_LEN;
		a += (size_t)snprintf(*attempts + a, 12, "%d", p->ex[i].running_attempt);
	}
	pthread_mutex_unlock(&p->lock);
	(*ids)[n++] = '}';
	(*ids)[n] = '\0';
	(*attempts)[a++] = '}';
	(*attempts)[a] = '\0';
}

struct chores_due {
	double heartbeat, rescue, prune, breakers;
};

struct drained {
	int wakes;
	bool breakers;
};

static void on_notify(const char *channel, const char *payload, void *ctx)
{
	struct drained *d = ctx;

	(void)payload;
	if (!strcmp(channel, "taskq_breakers"))
		d->breakers = true;
	else
		d->wakes++;
}

/* Drains the claimer's notifications; returns how many were wake-ups (taskq_wake), and notes
 * a change of the breakers (taskq_breakers: re-read at the next round). */
static int drain(struct pool *p)
{
	struct drained d = {0, false};

	if (db_each_notify(p->cdb, on_notify, &d) < 0)
		return -1;
	if (d.breakers)
		p->breakers_changed = true;
	return d.wakes;
}

static void maintenance(struct pool *p, struct chores_due *next)
{
	struct taskq_err err;
	double now = clock_mono_s();
	int n;

	if (now >= next->heartbeat) {
		char *ids, *attempts, *stats = counters_json();
		held_tasks(p, &ids, &attempts);
		if (store_heartbeat(p->cdb, &p->info, p->cfg.lease_s, ids, attempts, stats, mark_cancel,
				    p, &err))
			log_warn("event=heartbeat_failed msg=\"%s\"", err.msg);
		free(ids);
		free(attempts);
		free(stats);
		next->heartbeat = now + p->cfg.lease_s / 3.0;
	}
	if (now >= next->rescue) {
		double every = p->cfg.lease_s / 2.0;
		if (store_rescue(p->cdb, &n, &err))
			log_warn("event=rescue_failed msg=\"%s\"", err.msg);
		else if (n > 0) {
			log_info("event=rescued count=%d", n);
			counters_rescued(n);
		}
		next->rescue = now + (every < RESCUE_EVERY_MAX_S ? every : RESCUE_EVERY_MAX_S);
	}
	if (now >= next->breakers || p->breakers_changed) {
		p->breakers_changed = false;
		if (breakers_refresh(p->cdb, &err))
			log_warn("event=breakers_refresh_failed msg=\"%s\"", err.msg);
		next->breakers = now + BREAKERS_REFRESH_S;
	}
	if (now >= next->prune) {
		int total = 0, rounds = 0;
		do {
			if (store_prune(p->cdb, atomic_load(&p->retention_h), PRUNE_BATCH, &n, &err)) {
				log_warn("event=prune_failed msg=\"%s\"", err.msg);
				break;
			}
			total += n;
		} while (n == PRUNE_BATCH && ++rounds < 20 && !atomic_load(&p->stopping));
		if (total > 0)
			log_info("event=pruned count=%d older_than_h=%d", total, atomic_load(&p->retention_h));
		next->prune = now + PRUNE_EVERY_S;
	}
}

static void register_kinds(struct pool *p)
{
	struct kind_table *kt = kinds_acquire();
	struct taskq_err err;

	for (const struct kind *const *k = kinds_list(kt); *k; k++)
		if (store_register_kind(p->cdb, (*k)->name, &err))
			log_warn("event=register_kind_failed kind=%s msg=\"%s\"", (*k)->name, err.msg);
	kinds_release(kt);
}

static void *claimer_main(void *arg)
{
	struct pool *p = arg;
	struct chores_due next = {0, 0, 0, 0};
	double backoff = 0.1;
	int rotor = 0;
	while (!atomic_load(&p->stopping)) {
		struct taskq_err err;
		struct pollfd fds[2];
		double wait_s = sdnotify_watchdog(atomic_load(&p->poll_s)), due; /* a round: alive */
		int nfree, got = 0;

		if (db_ensure(p->cdb, &err) != TASKQ_OK) {
			log_warn("event=db_unavailable msg=\"%s\" retry_in=%.1fs", err.msg, backoff);
			wait_s = backoff;
			backoff = backoff * 2 > 5 ? 5 : backoff * 2;
			goto wait;
		}
		backoff = 0.1;
		if (atomic_exchange(&p->register_kinds, false))
			register_kinds(p);
		maintenance(p, &next);

		pthread_mutex_lock(&p->lock);
		nfree = p->cfg.concurrency - p->inflight + p->recording;
		pthread_mutex_unlock(&p->lock);
		if (nfree > 0) {
			drain(p);
			got = claim(p, nfree, &rotor);
			if (got == nfree)
				continue; /* a full batch: more may be ready */
			if (drain(p) > 0 || p->breakers_changed)
				continue; /* submitted while we claimed */
			if (store_next_due(p->cdb, p->queues_csv, &due, &err) == TASKQ_OK && due >= 0 &&
			    due < wait_s)
				wait_s = due;
		}
		{
			/* the next heartbeat or re-read of the breakers, whichever comes first */
			double now = clock_mono_s(), until = next.heartbeat - now;
			if (next.breakers - now < until)
				until = next.breakers - now;
			if (until < wait_s)
				wait_s = until > 0 ? until : 0;
		}
	wait:
		fds[0].fd = p->efd;
		fds[0].events = POLLIN;
		fds[1].fd = db_socket(p->cdb);
		fds[1].events = POLLIN;
		if (poll(fds, fds[1].fd >= 0 ? 2 : 1, (int)(wait_s * 1000) + 1) > 0) {
			uint64_t n;
			if ((fds[0].revents & POLLIN) && read(p->efd, &n, sizeof n) < 0)
				log_debug("event=eventfd_read errno=%d", errno);
			if (fds[1].fd >= 0 && fds[1].revents)
				drain(p);
		}
	}
	return NULL;
}

/* ---- start and stop ------------------------------------------------------------------- */

struct pool *pool_start(const struct pool_config *cfg)
{
	struct pool *p = xcalloc(1, sizeof *p);
	char host[64] = "host";

	p->cfg = *cfg;
	atomic_init(&p->poll_s, cfg->poll_s);
	atomic_init(&p->retention_h, cfg->retention_h);
	atomic_init(&p->register_kinds, true);
	p->nqueues = queues_parse(cfg->queues, p->queue, p->queue_limit, MAX_QUEUES);
	if (p->nqueues <= 0) {
		free(p);
		return NULL;
	}
	{
		/* the names alone, for the next-due query */
		size_t len = 0, at = 0;
		for (int i = 0; i < p->nqueues; i++)
			len += strlen(p->queue[i]) + 1;
		p->queues_csv = xcalloc(len + 1, 1);
		for (int i = 0; i < p->nqueues; i++)
			at += (size_t)snprintf(p->queues_csv + at, len + 1 - at, "%s%s", i ? "," : "",
					       p->queue[i]);
	}
	gethostname(host, sizeof host - 1);
	snprintf(p->host, sizeof p->host, "%s", host);
	snprintf(p->worker_id, sizeof p->worker_id, "%s:%d:%lx", host, (int)getpid(), (long)time(NULL));
	p->info = (struct worker_info){.id = p->worker_id,
				       .host = p->host,
				       .version = PACKAGE_VERSION,
				       .queues = cfg->queues,
				       .pid = (int)getpid(),
				       .concurrency = cfg->concurrency};
	counters_init();
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->ready, NULL);
	p->pending = xcalloc((size_t)cfg->concurrency, sizeof *p->pending);
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->cdb = store_open_listener(cfg->db, "taskq-worker");
	db_prefer_generic_plans(p->cdb);
	p->completer = completer_start(cfg->db, p->worker_id);
	if (!p->completer)
		return NULL;
	p->ex = xcalloc((size_t)cfg->concurrency, sizeof *p->ex);
	for (int i = 0; i < cfg->concurrency; i++) {
		p->ex[i].pool = p;
		p->ex[i].db = store_open(cfg->db, "taskq-worker");
		db_prefer_generic_plans(p->ex[i].db);
		if (pthread_create(&p->ex[i].thread, NULL, executor_main, &p->ex[i]) != 0)
			return NULL;
	}
	if (p->efd < 0 || p->nqueues == 0 || pthread_create(&p->claimer, NULL, claimer_main, p) != 0)
		return NULL;
	log_info("event=started worker=%s queues=%s concurrency=%d lease_s=%d retention_h=%d",
		 p->worker_id, cfg->queues, cfg->concurrency, cfg->lease_s, cfg->retention_h);
	return p;
}

const char *pool_worker_id(const struct pool *p)
{
	return p->worker_id;
}

void pool_reload(struct pool *p, const struct pool_config *cfg)
{
	atomic_store(&p->poll_s, cfg->poll_s);
	atomic_store(&p->retention_h, cfg->retention_h);
	p->cfg.grace_s = cfg->grace_s; /* read by pool_stop, in this same (main) thread */
	atomic_store(&p->register_kinds, true);
}

void pool_stop(struct pool *p)
{
	double deadline = clock_mono_s() + p->cfg.grace_s;
	struct taskq_err err;
	int left;

	atomic_store(&p->stopping, true);
	poke(p);
	pthread_join(p->claimer, NULL);

	/* claimed but not started: hand back at once */
	pthread_mutex_lock(&p->lock);
	while (p->count > 0) {
		struct task *t = &p->pending[p->head];
		struct holder h = {t->id, p->worker_id, t->attempts};
		if (store_release(p->cdb, &h, &err))
			log_task(LOG_WARN, t->id, "event=release_failed msg=\"%s\"", err.msg);
		else {
			log_task(LOG_INFO, t->id, "event=released kind=%s", t->kind);
			counters_outcome(WS_RELEASED);
		}
		task_cleanup(t);
		p->head = (p->head + 1) % p->cfg.concurrency;
		p->count--;
		p->inflight--;
	}
	pthread_cond_broadcast(&p->ready);
	left = p->inflight;
	pthread_mutex_unlock(&p->lock);
	log_info("event=draining running=%d grace_s=%d", left, p->cfg.grace_s);

	while (left > 0 && clock_mono_s() < deadline) {
		struct timespec ts = {0, 20000000L};
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&p->lock);
		left = p->inflight;
		pthread_mutex_unlock(&p->lock);
	}
	if (left > 0)
		log_info("event=grace_over releasing=%d", left);
	atomic_store(&p->aborting, true);
	for (int i = 0; i < p->cfg.concurrency; i++) {
		pthread_join(p->ex[i].thread, NULL);
		db_free(p->ex[i].db);
	}
	completer_stop(p->completer);
	if (store_worker_exit(p->cdb, p->worker_id, &err))
		log_warn("event=worker_exit_failed msg=\"%s\"", err.msg);
	db_free(p->cdb);
	close(p->efd);
	for (int i = 0; i < p->nqueues; i++)
		free(p->queue[i]);
	free(p->queues_csv);
	free(p->pending);
	free(p->ex);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->ready);
	free(p);
}
