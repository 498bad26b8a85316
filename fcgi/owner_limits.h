/*
 * owner_limits: per-owner limits on submits, kept in this process's memory (no extra database
 * round trip per submit): a token bucket for the submit rate, a request rate that only
 * taskq-fcgi's clients have (several taskq-fcgi processes each apply it: the fleet-wide rate
 * is at most N times it); and an early check of the owner's cap on unfinished (queued +
 * running) tasks, whose cap and count it reads from PostgreSQL at most once a second per
 * owner (taskq.owner_room) and counts up locally in between, so that a flood past the cap is
 * refused without a statement. The cap itself is held by the database on every insert, this
 * process's included (sql/functions/owners.sql): a submit that passes here on a stale count
 * is refused there, with the same answer. Admins and auth-off stacks are not limited.
 */
#ifndef TASKQ_OWNER_LIMITS_H
#define TASKQ_OWNER_LIMITS_H

#include <stdbool.h>

#include "req.h"

/* rate: submits per second per owner (0: unlimited), burst: bucket size. At start, and again
 * on SIGHUP with new values (buckets and counts carry on). */
void limits_init(double rate, double burst);
/* May r's owner submit one more task now? false: it answered 429 (or 503). */
bool limits_admit(struct req *r);
/* The same for count tasks at once (a batch). */
bool limits_admit_n(struct req *r, long count);
/* count tasks of r's owner were created. */
void limits_created(const struct req *r, long count);

#endif
