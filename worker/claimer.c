/*
 * claimer: the claimer thread. On its own connection (which LISTENs for wake-ups and breaker
 * changes) it claims ready tasks over the worker's queues, round robin and within each
 * queue's limit, in batches into the local queue (the pool's ring) that the executors take
 * from: the free executors' share plus, for short tasks, what the executors will finish while
 * the next claim is on its way (claimer_want); it sleeps until a wake-up, a low local queue
 * (claimer_poke), the next due task or the next chore. It must not run tasks or record outcomes (worker/executor.c),
 * and its timed upkeep is worker/chores.c's.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "announce.h"
#include "counters.h"
#include "store/db.h"
#include "base/log.h"
#include "pool_impl.h"
#include "base/sdnotify.h"
#include "store/worker.h"

/* How far ahead the local queue reaches, in seconds of the executors' work: two claims'
 * round trips on a busy cluster. */
#define AHEAD_S 0.02
/* The time constant of the executors' finishing rate: tasks that finished this long ago
 * count for 1/e as much as those finishing now. */
#define RATE_TAU_S 0.1
/* A task that waited this long in the local queue (the estimate said short tasks, and long
 * ones came) is handed back, for any worker with a free executor to start. */
#define RING_TTL_S 2.0

/* The executors' finishing rate (tasks a second) as of now, decayed since the last finish. */
static double done_rate(const struct pool *p, double now)
{
	return p->done_rate * exp(-(now - p->done_at) / RATE_TAU_S);
}

void pool_note_done(struct pool *p)
{
	double now = clock_mono_s();

	p->done_rate = done_rate(p, now) + 1.0 / RATE_TAU_S;
	p->done_at = now;
}

/* Tasks beyond the free executors worth holding: what the executors have been finishing in
 * AHEAD_S, judged by the tasks that finished in the last few tenths of a second. Executors
 * busy with long tasks finish none: then nothing is claimed ahead, however short the tasks
 * before them were. */
static int claim_ahead(const struct pool *p)
{
	double ahead = done_rate(p, clock_mono_s()) * AHEAD_S;

	return ahead >= p->cfg.claim_ahead ? p->cfg.claim_ahead : (int)ahead;
}

int claimer_want(const struct pool *p)
{
	int cap = p->cfg.concurrency + claim_ahead(p);
	/* in the ring or running a kind; those recording a failure are about to be free */
	int held = p->inflight - p->recording, running = held - p->count;
	int room = cap - held;

	if (room <= 0)
		return 0;
	if (p->count == 0 && running < p->cfg.concurrency)
		return room; /* an executor is idle */
	return room * 2 >= cap ? room : 0;
}

void claimer_poke(struct pool *p)
{
	uint64_t one = 1;
	if (write(p->efd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_warn("event=eventfd_write_failed errno=%d", errno);
}

/* Claims up to nfree tasks over the queues, round robin; returns how many it got. */
static int claim(struct pool *p, int nfree, int *rotor)
{
	int got = 0;

	for (int i = 0; i < p->nqueues && got < nfree; i++) {
		int qi = (*rotor + i) % p->nqueues, want = nfree - got;
		const char *q = p->queue[qi];
		struct task_list l = {0};
		struct taskq_err err;
		double now;

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
		for (size_t j = 0; j < l.n; j++)
			announce_id(l.v[j].id);
		now = clock_mono_s();
		pthread_mutex_lock(&p->lock);
		for (size_t j = 0; j < l.n; j++) {
			int tail = (p->head + p->count) % p->ring_cap;
			p->pending[tail] = l.v[j]; /* ownership moves to the ring */
			p->pending_at[tail] = now;
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

/* Hands back the tasks that waited in the local queue longer than RING_TTL_S; returns the
 * seconds until the next one will have, or -1 when the local queue is empty. */
static double hand_back_stale(struct pool *p)
{
	for (;;) {
		struct taskq_err err;
		struct task t;
		struct holder h;
		double age;
		int qi;

		pthread_mutex_lock(&p->lock);
		if (p->count == 0) {
			pthread_mutex_unlock(&p->lock);
			return -1;
		}
		age = clock_mono_s() - p->pending_at[p->head];
		if (age < RING_TTL_S) {
			pthread_mutex_unlock(&p->lock);
			return RING_TTL_S - age;
		}
		t = p->pending[p->head];
		p->head = (p->head + 1) % p->ring_cap;
		p->count--;
		p->inflight--;
		if ((qi = pool_queue_index(p, t.queue)) >= 0)
			p->queue_running[qi]--;
		/* the executors were busy all that time: tasks are not short now, claim none
		 * ahead (else this one would come straight back) */
		p->done_rate = 0;
		pthread_mutex_unlock(&p->lock);
		h = (struct holder){t.id, p->worker_id, t.attempts};
		if (store_release(p->cdb, &h, &err)) {
			log_task(LOG_WARN, t.id, "event=release_failed msg=\"%s\"", err.msg);
		} else {
			announce_id(t.id);
			log_task(LOG_INFO, t.id, "event=handed_back kind=%s waited_s=%.1f", t.kind,
				 age);
		}
		task_cleanup(&t);
	}
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
	struct chores_due next = {0};
	double backoff = 0.1;
	int rotor = 0;
	while (!atomic_load(&p->stopping)) {
		struct taskq_err err;
		struct pollfd fds[2];
		double wait_s = sdnotify_watchdog(atomic_load(&p->poll_s)),
		       due; /* a round: alive */
		int nfree, got = 0;
		double stale_in;

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
		stale_in = hand_back_stale(p);
		if (stale_in >= 0 && stale_in < wait_s)
			wait_s = stale_in;

		pthread_mutex_lock(&p->lock);
		nfree = claimer_want(p);
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
			/* the next heartbeat, re-read of the breakers or sweep of the waits,
			 * whichever comes first */
			double now = clock_mono_s(), until = next.heartbeat - now;
			if (next.breakers - now < until)
				until = next.breakers - now;
			if (next.waits - now < until)
				until = next.waits - now;
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
