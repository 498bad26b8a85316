/*
 * chores: the timed upkeep the claimer thread runs between claims, on its connection:
 *  - the lease heartbeat: one statement renews the leases of every task the executors run or
 *    the local queue holds, keeps this worker's row of taskq.workers (registration, running count, its counters for
 *    /metrics) and says which held tasks were asked to cancel (their executors are told);
 *  - the sweep of waits for a signal past their deadline (every half second);
 *  - rescue of tasks whose lease expired (their worker died) and the cancel of tasks past
 *    their start deadline (start_by_s), re-read of the circuit
 *    breakers (every second and on NOTIFY taskq_breakers), pruning of old finished tasks
 *    and of the counters (/metrics series) of queues that are gone, the queues' start
 *    rates and priority aging (about once a second: taskq.measure_rates, taskq.age), and the
 *    per-minute rollup of each queue that the console's charts draw (each whole minute,
 *    looked for every 20 s, unless --rollup-days 0);
 *  - registration of the kinds of the current table in taskq.kinds (at start and on reload).
 * It must not claim or run tasks; it only reads the executors' running ids under the lock.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breakers.h"
#include "base/clock.h"
#include "counters.h"
#include "kinds.h"
#include "base/log.h"
#include "pool_impl.h"
#include "store/signals.h"
#include "store/console.h"
#include "store/tasks.h"
#include "store/worker.h"
#include "base/xalloc.h"

#define RESCUE_EVERY_MAX_S 5.0
#define PRUNE_EVERY_S 60.0
#define PRUNE_BATCH 1000
#define WAITS_EVERY_S 0.5 /* waits past their deadline end within a second */
#define ROLLUP_EVERY_S 20.0
#define AGE_EVERY_S 1.0

static void mark_cancel(const char *id, void *ctx)
{
	struct pool *p = ctx;

	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->cfg.concurrency; i++)
		if (!strcmp(p->ex[i].running_id, id))
			atomic_store(&p->ex[i].cancel, 1);
	for (int i = 0; i < p->count; i++) {
		struct task *t = &p->pending[(p->head + i) % p->ring_cap];
		if (!strcmp(t->id, id))
			t->cancel_requested = true; /* its executor starts it cancelled */
	}
	pthread_mutex_unlock(&p->lock);
}

static void held_add(char (*idbuf)[TASK_ID_LEN + 1], const char **ids, int *attempts, int *n,
		     const char *id, int attempt)
{
	memcpy(idbuf[*n], id, TASK_ID_LEN + 1);
	ids[*n] = idbuf[*n];
	attempts[(*n)++] = attempt;
}

/* The (id, attempt) pairs the executors run and the local queue holds: copies of the ids into
 * idbuf, ids[i] pointing at them (both with room for concurrency + ring_cap); returns how
 * many. */
static int held_tasks(struct pool *p, char (*idbuf)[TASK_ID_LEN + 1], const char **ids,
		      int *attempts)
{
	int n = 0;

	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->cfg.concurrency; i++)
		if (p->ex[i].running_id[0])
			held_add(idbuf, ids, attempts, &n, p->ex[i].running_id,
				 p->ex[i].running_attempt);
	for (int i = 0; i < p->count; i++) {
		const struct task *t = &p->pending[(p->head + i) % p->ring_cap];
		held_add(idbuf, ids, attempts, &n, t->id, t->attempts);
	}
	pthread_mutex_unlock(&p->lock);
	return n;
}

void chores_run(struct pool *p, struct chores_due *next)
{
	struct taskq_err err;
	double now = clock_mono_s();
	int n;

	if (now >= next->heartbeat) {
		size_t c = (size_t)p->cfg.concurrency + (size_t)p->ring_cap + 1;
		char(*idbuf)[TASK_ID_LEN + 1] = xcalloc(c, sizeof *idbuf);
		const char **ids = xcalloc(c, sizeof *ids);
		int *attempts = xcalloc(c, sizeof *attempts);
		int nheld = held_tasks(p, idbuf, ids, attempts);
		char *stats = counters_json();

		if (store_heartbeat(p->cdb, &p->info, p->cfg.lease_s, ids, attempts, nheld, stats,
				    mark_cancel, p, &err))
			log_warn("event=heartbeat_failed msg=\"%s\"", err.msg);
		free(idbuf);
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
		if (store_expire(p->cdb, &n, &err))
			log_warn("event=expire_failed msg=\"%s\"", err.msg);
		else if (n > 0)
			log_info("event=expired count=%d", n);
		next->rescue = now + (every < RESCUE_EVERY_MAX_S ? every : RESCUE_EVERY_MAX_S);
	}
	if (now >= next->age) {
		if (store_age(p->cdb, &n, &err))
			log_warn("event=age_failed msg=\"%s\"", err.msg);
		else if (n > 0)
			log_debug("event=aged count=%d", n);
		next->age = now + AGE_EVERY_S;
	}
	if (now >= next->breakers || p->breakers_changed) {
		p->breakers_changed = false;
		if (breakers_refresh(p->cdb, &err))
			log_warn("event=breakers_refresh_failed msg=\"%s\"", err.msg);
		next->breakers = now + BREAKERS_REFRESH_S;
	}
	if (now >= next->waits) {
		if (store_wait_timeouts(p->cdb, &n, &err))
			log_warn("event=wait_timeouts_failed msg=\"%s\"", err.msg);
		else if (n > 0)
			log_info("event=wait_timed_out count=%d", n);
		next->waits = now + WAITS_EVERY_S;
	}
	if (now >= next->prune) {
		int total = 0, rounds = 0;
		do {
			if (store_prune(p->cdb, atomic_load(&p->retention_h), PRUNE_BATCH, &n,
					&err)) {
				log_warn("event=prune_failed msg=\"%s\"", err.msg);
				break;
			}
			total += n;
		} while (n == PRUNE_BATCH && ++rounds < 20 && !atomic_load(&p->stopping));
		if (total > 0)
			log_info("event=pruned count=%d older_than_h=%d", total,
				 atomic_load(&p->retention_h));
		if (store_prune_series(p->cdb, &n, &err))
			log_warn("event=prune_series_failed msg=\"%s\"", err.msg);
		else if (n > 0)
			log_info("event=queue_series_pruned queues=%d", n);
		next->prune = now + PRUNE_EVERY_S;
	}
	if (p->cfg.rollup_days > 0 && now >= next->rollup) {
		if (store_rollup(p->cdb, p->cfg.rollup_days, &n, &err))
			log_warn("event=rollup_failed msg=\"%s\"", err.msg);
		next->rollup = now + ROLLUP_EVERY_S;
	}
}

void chores_register_kinds(struct pool *p)
{
	struct kind_table *kt = kinds_acquire();
	struct taskq_err err;

	for (const struct kind *const *k = kinds_list(kt); *k; k++)
		if (store_register_kind(p->cdb, (*k)->name, &err))
			log_warn("event=register_kind_failed kind=%s msg=\"%s\"", (*k)->name,
				 err.msg);
	kinds_release(kt);
}
