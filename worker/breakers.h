/*
 * breakers: the worker's side of the circuit breakers and throttles that guard the http
 * kind's upstream hosts. Their state and every transition live in PostgreSQL
 * (sql/functions/breakers.sql), shared by all workers; this keeps a copy of the rows of hosts
 * that are not healthy or are throttled (the claimer re-reads it every BREAKERS_REFRESH_S and
 * when NOTIFY taskq_breakers says one changed), so that a task for a healthy host costs no
 * round trip:
 *  - before calling a host, an executor asks PostgreSQL only when the copy shows the host's
 *    breaker open or half-open, or the host throttled (PostgreSQL then lets it run, makes it
 *    the probe, or puts the task back in the queue without spending its attempt);
 *  - after the call, a failure is always reported (PostgreSQL counts it and decides whether
 *    the breaker opens); a success only when the copy shows failures to forget, or when the
 *    attempt was the probe;
 *  - a host that asked to wait (breakers_throttle) is held in this worker's copy at once, and
 *    for every worker once PostgreSQL has it.
 */
#ifndef TASKQ_BREAKERS_H
#define TASKQ_BREAKERS_H

#include <stdbool.h>
#include <stddef.h>

#include "store/worker.h"
#include "store/breakers.h"

#define BREAKERS_REFRESH_S 1.0

/* Once, before threads start, and on SIGHUP: the defaults of the worker's flags (failures 0:
 * breakers off unless a row of taskq.breaker_settings turns one on), and the longest a host
 * that asks to wait is held (--http-retry-after-max). */
void breakers_configure(int failures, double cooldown_s, double max_cooldown_s,
			double retry_after_max_s);
void breakers_cleanup(void);

/* The key of the breaker that guards url: its host in lower case, with ":port" when the
 * port is not the scheme's default ("api.example.com", "127.0.0.1:8443", "[::1]:81").
 * false for a URL curl cannot parse or one without a host. */
bool breakers_host_key(const char *url, char *out, size_t size);

/* The claimer: re-reads the rows of hosts that are not healthy or are throttled into the
 * copy. */
enum taskq_rc breakers_refresh(struct db *db, struct taskq_err *err);

/* The copy. breakers_lookup: true, with the row's state and failures, when the copy has a
 * row for host (a host without one is closed, counts no failures and is not throttled). */
bool breakers_lookup(const char *host, enum breaker_state *state, int *failures);
/* Whether the copy shows host throttled now. */
bool breakers_throttled(const char *host);
/* Replaces the whole copy (rows are copied; their throttled_s count from now). A throttle the
 * old copy had that has not ended stays, even when the rows lack it: this worker may have
 * learnt of it after PostgreSQL was read. */
void breakers_cache_set(const struct breaker_row *rows, int n);
/* Sets one host's breaker in the copy (its throttle stays); a row with nothing to say (closed,
 * no failure, no throttle) leaves it. */
void breakers_cache_put(const char *host, enum breaker_state state, int failures);
/* Sets how many seconds host's throttle has left (0: none), as PostgreSQL just said. */
void breakers_cache_throttle(const char *host, double seconds_left);

/* Executors. Whether h's task may call host now: BREAKER_RUN or BREAKER_PROBE (go ahead;
 * a probe has probe_s seconds before another task may probe instead), BREAKER_DEFERRED (the
 * task is back in the queue, its attempt not counted; msg says why) or BREAKER_LOST (h no
 * longer holds it). When PostgreSQL cannot be asked the task runs. */
enum breaker_verdict breakers_admit(struct db *db, const struct holder *h, const char *host,
				    double probe_s, char *msg, size_t msgsize);
/* Records what host did for h's attempt: ok (it answered), or a failure with a short reason
 * ("HTTP 503", "timed out"); probe: the attempt was admitted as the probe. Logs the
 * transitions it causes. */
void breakers_report(struct db *db, const struct holder *h, const char *host, bool ok,
		     const char *reason, bool probe);

/* After the call: host asked to wait wait_s seconds (reason: "429 Retry-After: 3"). Every
 * worker holds its tasks until then, for at most --http-retry-after-max (this worker's
 * executors at once). hold_task: h's task goes back to the queue until then too, its attempt
 * not counted (*verdict BREAKER_DEFERRED, or BREAKER_LOST when h no longer holds it); else
 * *verdict is BREAKER_RUN (the attempt's outcome stands). msg: what the held tasks say.
 * false when PostgreSQL could not be told (then nothing was recorded but this worker's copy). */
bool breakers_throttle(struct db *db, const struct holder *h, bool hold_task, const char *host,
		       double wait_s, const char *reason, enum breaker_verdict *verdict, char *msg,
		       size_t msgsize);

/* Pure decisions, for the unit tests: must an attempt ask before calling a host in this
 * state (or throttled), and must a success be reported. */
bool breakers_must_ask(bool known, enum breaker_state state, bool throttled);
bool breakers_must_report_success(bool known, enum breaker_state state, int failures, bool probe);

#endif
