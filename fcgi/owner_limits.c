/* owner_limits: per-owner submit rate, and the early check of the cap on unfinished tasks
 * (see owner_limits.h). */
#include "owner_limits.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "auth.h"
#include "resp.h"
#include "store/limits.h"

#define SLOTS 1024 /* direct-mapped by owner name; a collision starts a fresh slot */
#define RECOUNT_S 1.0

struct slot {
	char owner[65];
	double tokens, refilled; /* the rate's bucket */
	long long cap;           /* the owner's cap on unfinished tasks as last read; -1: none */
	long long unfinished;    /* last count + tasks created since */
	double counted;          /* when cap and unfinished were last read; 0: never */
};

static struct {
	pthread_mutex_t lock;
	_Atomic double rate, burst; /* changed under lock (SIGHUP: limits_init again) */
	struct slot slot[SLOTS];
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

void limits_init(double rate, double burst)
{
	pthread_mutex_lock(&g.lock); /* the bucket arithmetic reads them under the lock */
	g.rate = rate;
	g.burst = burst < 1 ? 1 : burst;
	pthread_mutex_unlock(&g.lock);
}

/* Admins are limited by neither (nor capped in the database: they hold an admin token). */
static bool limited(const struct req *r)
{
	return auth_on() && !r->who.admin;
}

/* The owner's slot, claimed for it when another owner held it. Caller holds g.lock. */
static struct slot *slot_for(const char *owner, double now)
{
	unsigned h = 5381;
	struct slot *s;

	for (const char *p = owner; *p; p++)
		h = h * 33 + (unsigned char)*p;
	s = &g.slot[h % SLOTS];
	if (strcmp(s->owner, owner) != 0) {
		snprintf(s->owner, sizeof s->owner, "%s", owner);
		s->tokens = g.burst;
		s->refilled = now;
		s->cap = -1;
		s->unfinished = 0;
		s->counted = 0;
	}
	return s;
}

static void too_many(struct req *r, const char *code, const char *msg, double retry_s)
{
	char extra[48];

	snprintf(extra, sizeof extra, "Retry-After: %d\r\n", (int)ceil(retry_s < 1 ? 1 : retry_s));
	resp_error_status(r, 429, code, msg, extra);
}

bool limits_admit_n(struct req *r, long count)
{
	struct taskq_err err;
	double now = clock_mono_s();
	long long n = 0, cap = -1;
	bool recount;
	struct slot *s;
	char msg[160];

	if (!limited(r))
		return true;
	pthread_mutex_lock(&g.lock);
	s = slot_for(r->who.owner, now);
	if (g.rate > 0) {
		/* a batch larger than the burst needs a full bucket and leaves it in debt */
		double need = fmin((double)count, g.burst);
		s->tokens = fmin(g.burst, s->tokens + (now - s->refilled) * g.rate);
		s->refilled = now;
		if (s->tokens < need) {
			double wait = (need - s->tokens) / g.rate;
			pthread_mutex_unlock(&g.lock);
			too_many(r, "rate_limited", "this owner submits faster than its rate limit",
				 wait);
			return false;
		}
	}
	recount = now - s->counted >= RECOUNT_S;
	pthread_mutex_unlock(&g.lock);

	if (recount) {
		if (store_owner_room(r->db, r->who.owner, &cap, &n, &err)) {
			resp_error(r, err.rc, err.msg);
			return false;
		}
		pthread_mutex_lock(&g.lock);
		s = slot_for(r->who.owner, now);
		s->cap = cap;
		s->unfinished = n;
		s->counted = now;
		pthread_mutex_unlock(&g.lock);
	}
	pthread_mutex_lock(&g.lock);
	s = slot_for(r->who.owner, now);
	if (s->cap >= 0 && s->unfinished + count > s->cap) {
		/* the words of the database's refusal (taskq.over_cap_message) */
		snprintf(msg, sizeof msg,
			 "owner %s may have at most %lld unfinished (queued or running) tasks",
			 r->who.owner, s->cap);
		pthread_mutex_unlock(&g.lock);
		too_many(r, "too_many_unfinished", msg, 5);
		return false;
	}
	if (g.rate > 0)
		s->tokens -= (double)count;
	pthread_mutex_unlock(&g.lock);
	return true;
}

bool limits_admit(struct req *r)
{
	return limits_admit_n(r, 1);
}

void limits_created(const struct req *r, long count)
{
	if (!limited(r))
		return;
	pthread_mutex_lock(&g.lock);
	slot_for(r->who.owner, clock_mono_s())->unfinished += count;
	pthread_mutex_unlock(&g.lock);
}
