/* owner_limits: per-owner submit rate and unfinished-task cap (see owner_limits.h). */
#include "owner_limits.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "auth.h"
#include "resp.h"
#include "store/auth.h"

#define SLOTS 1024 /* direct-mapped by owner name; a collision starts a fresh slot */
#define RECOUNT_S 1.0

struct slot {
	char owner[65];
	double tokens, refilled; /* the rate's bucket */
	long long unfinished;    /* last count + tasks created since */
	double counted;          /* when unfinished was last read from PostgreSQL; 0: never */
};

static struct {
	pthread_mutex_t lock;
	_Atomic double rate, burst; /* changed under lock (SIGHUP: limits_init again) */
	_Atomic long max_unfinished;
	struct slot slot[SLOTS];
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

void limits_init(double rate, double burst, long max_unfinished)
{
	pthread_mutex_lock(&g.lock); /* the bucket arithmetic reads them under the lock */
	g.rate = rate;
	g.burst = burst < 1 ? 1 : burst;
	g.max_unfinished = max_unfinished;
	pthread_mutex_unlock(&g.lock);
}

static bool limited(const struct req *r)
{
	return auth_on() && !r->who.admin && (g.rate > 0 || g.max_unfinished > 0);
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
	long long n = 0;
	bool recount;
	struct slot *s;

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
	recount = g.max_unfinished > 0 && now - s->counted >= RECOUNT_S;
	pthread_mutex_unlock(&g.lock);

	if (recount) {
		if (store_owner_unfinished(r->db, r->who.owner, &n, &err)) {
			resp_error(r, err.rc, err.msg);
			return false;
		}
		pthread_mutex_lock(&g.lock);
		s = slot_for(r->who.owner, now);
		s->unfinished = n;
		s->counted = now;
		pthread_mutex_unlock(&g.lock);
	}
	pthread_mutex_lock(&g.lock);
	s = slot_for(r->who.owner, now);
	if (g.max_unfinished > 0 && s->unfinished + count > g.max_unfinished) {
		pthread_mutex_unlock(&g.lock);
		too_many(r, "too_many_unfinished",
			 "this owner has as many queued and running tasks as it may have", 5);
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
