/*
 * store/breakers: the circuit breakers of the http kind's upstream hosts (sql/schema/009_breakers.sql,
 * sql/functions/breakers.sql):
 * the rows of hosts that are not healthy, admission of a claimed task (run, probe, or deferred
 * without spending its attempt) and the report of what a host did. The worker's state machine
 * around them is worker/breakers.c's.
 */
#ifndef TASKQ_STORE_BREAKERS_H
#define TASKQ_STORE_BREAKERS_H

#include <stdbool.h>

#include "base/err.h"
#include "store/db.h"
#include "store/worker.h"

#define BREAKER_HOST_MAX 300

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

/* A host whose breaker is not closed or counts failures (a row of taskq.breakers). */
struct breaker_row {
	char host[BREAKER_HOST_MAX + 1];
	enum breaker_state state;
	int failures;
};
/* The rows of hosts that are not healthy (at most 1000); the caller frees *out. */
enum taskq_rc store_breakers_active(struct db *db, struct breaker_row **out, int *n,
				    struct taskq_err *err);

enum breaker_verdict { BREAKER_RUN, BREAKER_PROBE, BREAKER_DEFERRED, BREAKER_LOST };
struct breaker_admission {
	enum breaker_verdict verdict;
	enum breaker_state state;
	int failures;
	char message[320]; /* BREAKER_DEFERRED: the task's new message */
};
/* Asks taskq.breaker_admit whether h's task may call host now. The answer may be that it is
 * the probe, or that the task went back to the queue without spending its attempt (deferred,
 * fenced by h like store_fail), or that h no longer holds it. probe_s: how long a probe may
 * take before another task may probe instead. */
enum taskq_rc store_breaker_admit(struct db *db, const struct holder *h, const char *host,
				  double probe_s, struct breaker_admission *out,
				  struct taskq_err *err);

/* The defaults of a worker's flags (per-host rows of taskq.breaker_settings win). */
struct breaker_defaults {
	int failures; /* 0: no breakers */
	double cooldown_s, max_cooldown_s;
};
struct breaker_report {
	char transition[16]; /* "opened", "reopened", "closed" or "" */
	enum breaker_state state;
	int failures;
	double cooldown_s;
};
/* Records what host did for h's attempt: ok, or a failure with a short reason. */
enum taskq_rc store_breaker_report(struct db *db, const struct holder *h, const char *host, bool ok,
				   const char *reason, const struct breaker_defaults *d,
				   struct breaker_report *out, struct taskq_err *err);

#endif
