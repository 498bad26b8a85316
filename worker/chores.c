/*
 * chores: the timed upkeep the claimer thread runs between claims, on its connection:
 *  - the lease heartbeat: one statement renews the leases of every task the executors hold,
 *    keeps this worker's row of taskq.workers (registration, running count, its counters for
 *    /metrics) and says which held tasks were asked to cancel (their executors are told);
 *  - rescue of tasks whose lease expired (their worker died), re-read of the circuit
 *    breakers (every second and on NOTIFY taskq_breakers), pruning of old finished tasks;
 *  - registration of the kinds of the current table in taskq.kinds (at start and on reload).
 * It must not claim or run tasks; it only reads the executors' running ids under the lock.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breakers.h"
#include "clock.h"
#include "counters.h"
#include "kinds.h"
#include "log.h"
#include "pool_impl.h"
#include "store.h"
#include "xalloc.h"

#define RESCUE_EVERY_MAX_S 5.0
#define PRUNE_EVERY_S 60.0
#define PRUNE_BATCH 1000

static void mark_cancel(const char *id, void *ctx)
{
	struct pool *p = ctx;

	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->cfg.concurrency; i++)
		if (!strcmp(p->ex[i].running_id, id))
			atomic_store(&p->ex[i].cancel, 1);
	pthread_mutex_unlock(&p->lock);
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

void chores_run(struct pool *p, struct chores_due *next)
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

void chores_register_kinds(struct pool *p)
{
	struct kind_table *kt = kinds_acquire();
	struct taskq_err err;

	for (const struct kind *const *k = kinds_list(kt); *k; k++)
		if (store_register_kind(p->cdb, (*k)->name, &err))
			log_warn("event=register_kind_failed kind=%s msg=\"%s\"", (*k)->name, err.msg);
	kinds_release(kt);
}
