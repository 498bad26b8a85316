/*
 * pool: the lifecycle of the worker's engine (the rooms are listed in worker/pool_impl.h):
 * start (this worker's identity as registered in taskq.workers, connections, the completer,
 * the executor and claimer threads), reload, and the graceful stop: no more claims, claimed
 * but unstarted tasks handed back at once, running ones given the grace period, then told to
 * stop and released, the worker's row removed. It must not claim, run or record tasks itself.
 */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "completer.h"
#include "counters.h"
#include "store/db.h"
#include "base/log.h"
#include "announce.h"
#include "pool_impl.h"
#include "queues.h"
#include "store/live.h"
#include "store/worker.h"
#include "base/xalloc.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "dev"
#endif

/* What a progress flush learnt about an executor's task: told to the executor if it still
 * runs that attempt. */
static void progress_verdict(int slot, const char *id, int attempt, int verdict, void *ctx)
{
	struct pool *p = ctx;
	struct executor *ex = &p->ex[slot];

	pthread_mutex_lock(&p->lock);
	if (!strcmp(ex->running_id, id) && ex->running_attempt == attempt)
		atomic_store(verdict < 0 ? &ex->lost : &ex->cancel, 1);
	pthread_mutex_unlock(&p->lock);
}

/* A success of queue qi is recorded: its place under the queue's limit is free. */
static void success_recorded(void *ctx, int qi)
{
	struct pool *p = ctx;

	if (qi < 0)
		return;
	pthread_mutex_lock(&p->lock);
	p->queue_running[qi]--;
	pthread_mutex_unlock(&p->lock);
	if (p->queue_limit[qi] > 0)
		claimer_poke(p);
}

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
			at += (size_t)snprintf(p->queues_csv + at, len + 1 - at, "%s%s",
					       i ? "," : "", p->queue[i]);
	}
	gethostname(host, sizeof host - 1);
	snprintf(p->host, sizeof p->host, "%s", host);
	snprintf(p->worker_id, sizeof p->worker_id, "%s:%d:%lx", host, (int)getpid(),
		 (long)time(NULL));
	p->info = (struct worker_info){.id = p->worker_id,
				       .host = p->host,
				       .version = PACKAGE_VERSION,
				       .queues = cfg->queues,
				       .pid = (int)getpid(),
				       .concurrency = cfg->concurrency};
	counters_init();
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->ready, NULL);
	p->ring_cap = cfg->concurrency + cfg->claim_ahead;
	p->pending = xcalloc((size_t)p->ring_cap, sizeof *p->pending);
	p->pending_at = xcalloc((size_t)p->ring_cap, sizeof *p->pending_at);
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	announce_start(cfg->db);
	p->cdb = store_open_listener(cfg->db, "taskq-worker");
	db_session(p->cdb, DB_GENERIC_PLANS | DB_ANNOUNCE_LATER);
	p->completer = completer_start(cfg->db, p->worker_id, cfg->lease_s, success_recorded, p);
	p->ex = xcalloc((size_t)cfg->concurrency, sizeof *p->ex);
	p->progress = progress_start(cfg->db, p->worker_id, cfg->concurrency, cfg->lease_s,
				     progress_verdict, p);
	p->output = output_start(cfg->db, p->worker_id, cfg->concurrency, cfg->output_max);
	for (int i = 0; i < cfg->concurrency; i++) {
		p->ex[i].pool = p;
		p->ex[i].db = store_open(cfg->db, "taskq-worker");
		db_session(p->ex[i].db, DB_GENERIC_PLANS | DB_ANNOUNCE_LATER);
		if (pthread_create(&p->ex[i].thread, NULL, executor_main, &p->ex[i]) != 0)
			return NULL;
	}
	if (p->efd < 0 || p->nqueues == 0 ||
	    pthread_create(&p->claimer, NULL, claimer_main, p) != 0)
		return NULL;
	log_info("event=started worker=%s queues=%s concurrency=%d claim_ahead=%d lease_s=%d "
		 "retention_h=%d",
		 p->worker_id, cfg->queues, cfg->concurrency, cfg->claim_ahead, cfg->lease_s,
		 cfg->retention_h);
	return p;
}

int pool_queue_index(const struct pool *p, const char *queue)
{
	for (int i = 0; i < p->nqueues; i++)
		if (queue && !strcmp(p->queue[i], queue))
			return i;
	return -1;
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
	claimer_poke(p);
	pthread_join(p->claimer, NULL);

	/* claimed but not started: hand back at once */
	pthread_mutex_lock(&p->lock);
	while (p->count > 0) {
		struct task *t = &p->pending[p->head];
		struct holder h = {t->id, p->worker_id, t->attempts};
		if (store_release(p->cdb, &h, &err))
			log_task(LOG_WARN, t->id, "event=release_failed msg=\"%s\"", err.msg);
		else {
			announce_id(t->id);
			log_task(LOG_INFO, t->id, "event=released kind=%s", t->kind);
			counters_outcome(WS_RELEASED);
		}
		task_cleanup(t);
		p->head = (p->head + 1) % p->ring_cap;
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
	progress_stop(p->progress);
	output_stop(p->output);
	completer_stop(p->completer);
	if (store_worker_exit(p->cdb, p->worker_id, &err))
		log_warn("event=worker_exit_failed msg=\"%s\"", err.msg);
	db_free(p->cdb);
	announce_stop();
	close(p->efd);
	for (int i = 0; i < p->nqueues; i++)
		free(p->queue[i]);
	free(p->queues_csv);
	free(p->pending);
	free(p->pending_at);
	free(p->ex);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->ready);
	free(p);
}
