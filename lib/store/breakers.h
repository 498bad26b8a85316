/*
 * store/breakers: the circuit breakers of the http kind's upstream hosts (sql/schema/009_breakers.sql,
 * sql/functions/breakers.sql):
 * the rows of hosts that are not healthy or are throttled, admission of a claimed task (run,
 * probe, or deferred without spending its attempt), the report of what a host did, and the
 * report of a host that asked to wait (its throttle). The worker's state machine around them
 * is worker/breakers.c's.
 */
#ifndef TASKQ_STORE_BREAKERS_H
#define TASKQ_STORE_BREAKERS_H

#include <stdbool.h>

#include "base/err.h"
#include "store/db.h"
#include "store/worker.h"
#include "model/task.h"

#define BREAKER_HOST_MAX 300

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

/* A host whose breaker is not closed, counts failures or is throttled (a row of
 * taskq.breakers). */
struct breaker_row {
	char host[BREAKER_HOST_MAX + 1];
	enum breaker_state state;
	int failures;
	double throttled_s; /* seconds its throttle had left when read; 0: none */
};
/* The rows of hosts that are not healthy or are throttled (at most 1000); the caller frees
 * *out. */
enum taskq_rc store_breakers_active(struct db *db, struct breaker_row **out, int *n,
				    struct taskq_err *err);

enum breaker_verdict { BREAKER_RUN, BREAKER_PROBE, BREAKER_DEFERRED, BREAKER_LOST };
struct breaker_admission {
	enum breaker_verdict verdict;
	enum breaker_state state;
	int failures;
	char message[320];  /* BREAKER_DEFERRED: the task's new message */
	double throttled_s; /* seconds the host's throttle has left; 0: none */
};
/* Asks taskq.breaker_admit whether h's task may call host now. The answer may be that it is
 * the probe, or that the task went back to the queue without spending its attempt (deferred,
 * fenced by h like store_fail), or that h no longer holds it. probe_s: how long a probe may
 * take before another task may probe instead. */
enum taskq_rc store_breaker_admit(struct db *db, const struct holder *h, const char *host,
				  double probe_s, struct breaker_admission *out,
				  struct taskq_err *err);

/* The defaults of a worker's flags (per-host rows of taskq.breaker_settings win), and the
 * longest a host that asks to wait is held (--http-retry-after-max). */
struct breaker_defaults {
	int failures; /* 0: no breakers */
	double cooldown_s, max_cooldown_s;
	double retry_after_max_s;
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

struct breaker_throttled {
	enum breaker_verdict verdict; /* BREAKER_DEFERRED, BREAKER_LOST, or BREAKER_RUN: no task
				       * was given, only the host waits */
	double throttled_s;           /* seconds the host's throttle has left */
	bool capped;                  /* it asked for longer than max_s */
	char message[320];            /* what the tasks it holds say */
};
/* Records with taskq.breaker_throttle that host asked to wait wait_s seconds (reason: "429
 * Retry-After: 3"), held for at most max_s; with h (may be NULL) that attempt's task goes back
 * to the queue until then without spending its attempt (fenced by h like store_fail). */
enum taskq_rc store_breaker_throttle(struct db *db, const struct holder *h, const char *host,
				     double wait_s, double max_s, const char *reason,
				     struct breaker_throttled *out, struct taskq_err *err);

/* The upstream hosts throttled now (taskq.upstream_throttles, at most 100, the longest held
 * first), or those one owner's queued tasks wait for (owner not NULL: only its tasks
 * counted); the caller frees *out with throttle_stats_free. */
enum taskq_rc store_upstream_throttles(struct db *db, const char *owner, struct throttle_stat **out,
				       int *n, struct taskq_err *err);

#endif
