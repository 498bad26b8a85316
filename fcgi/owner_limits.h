/*
 * owner_limits: per-owner limits on submits, kept in this process's memory (no extra database
 * round trip per submit): a token bucket for the submit rate, and a cap on the owner's
 * unfinished (queued + running) tasks, counted in PostgreSQL at most once a second per owner
 * and counted up locally in between. Admins and auth-off stacks are not limited. Several
 * taskq-fcgi processes each apply the rate: the fleet-wide rate is at most N times it.
 */
#ifndef TASKQ_OWNER_LIMITS_H
#define TASKQ_OWNER_LIMITS_H

#include <stdbool.h>

#include "req.h"

/* rate: submits per second per owner (0: unlimited), burst: bucket size; max_unfinished:
 * queued + running per owner (0: unlimited). */
/* At start, and again on SIGHUP with new values (buckets and counts carry on). */
void limits_init(double rate, double burst, long max_unfinished);
/* May r's owner submit one more task now? false: it answered 429 (or 503). */
bool limits_admit(struct req *r);
/* The same for count tasks at once (a batch). */
bool limits_admit_n(struct req *r, long count);
/* count tasks of r's owner were created. */
void limits_created(const struct req *r, long count);

#endif
