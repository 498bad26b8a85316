/*
 * claimer: the claimer thread. On its own connection (which LISTENs for wake-ups and breaker
 * changes) it claims ready tasks over the worker's queues in batches of up to the free
 * executors, round robin and within each queue's limit, and hands them to the executors
 * through the pool's ring; it sleeps until a wake-up, a free executor (claimer_poke), the next
 * due task or the next chore. It must not run tasks or record outcomes (worker/executor.c),
 * and its timed upkeep is worker/chores.c's.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "counters.h"
#include "store/db.h"
#include "base/log.h"
#include "pool_impl.h"
#include "base/sdnotify.h"
#include "store/worker.h"

void claimer_poke(struct pool *p)
{
	uint64_t one = 1;
	if (write(p->efd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_warn("event=eventfd_write_failed errno=%d", errno);
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

void *claimer_main(void *arg)
{
	struct pool *p = arg;
	struct chores_due next = {0, 0, 0, 0};
	double backoff = 0.1;
	int rotor = 0;
	while (!atomic_load(&p->stopping)) {
		struct taskq_err err;
		struct pollfd fds[2];
		double wait_s = sdnotify_watchdog(atomic_load(&p->poll_s)),
		       due; /* a round: alive */
		int nfree, got = 0;

		if (db_ensure(p->cdb, &err) != TASKQ_OK) {
			log_warn("event=db_unavailable msg=\"%s\" retry_in=%.1fs", err.msg,
				 backoff);
			wait_s = backoff;
			backoff = backoff * 2 > 5 ? 5 : backoff * 2;
			goto wait;
		}
		backoff = 0.1;
		if (atomic_exchange(&p->register_kinds, false))
			chores_register_kinds(p);
		chores_run(p, &next);

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
			if (store_next_due(p->cdb, p->queues_csv, &due, &err) == TASKQ_OK &&
			    due >= 0 && due < wait_s)
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
