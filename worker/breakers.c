/* breakers: the worker's copy of the circuit breakers and throttles, admission and reports
 * (breakers.h). */
#include "breakers.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"

/* A row of the copy: the host's breaker, and when its throttle ends as this worker knows it
 * (monotonic seconds; 0: none). */
struct cache_row {
	char host[BREAKER_HOST_MAX + 1];
	enum breaker_state state;
	int failures;
	double until;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_row *g_rows; /* guarded by g_lock */
static int g_nrows, g_caprows;
static struct breaker_defaults g_defaults = {5, 30, 600, 600};

void breakers_configure(int failures, double cooldown_s, double max_cooldown_s,
			double retry_after_max_s)
{
	pthread_mutex_lock(&g_lock); /* at start, and again on SIGHUP */
	g_defaults =
		(struct breaker_defaults){failures, cooldown_s, max_cooldown_s, retry_after_max_s};
	pthread_mutex_unlock(&g_lock);
}

void breakers_cleanup(void)
{
	pthread_mutex_lock(&g_lock);
	free(g_rows);
	g_rows = NULL;
	g_nrows = g_caprows = 0;
	pthread_mutex_unlock(&g_lock);
}

bool breakers_host_key(const char *url, char *out, size_t size)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	bool ok = false;
	int n;

	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0])
		goto out;
	if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT) != CURLUE_OK)
		port = NULL;
	n = snprintf(out, size, "%s%s%s", host, port ? ":" : "", port ? port : "");
	ok = n > 0 && (size_t)n < size;
	for (char *c = out; ok && *c; c++)
		*c = (char)tolower((unsigned char)*c);
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ok;
}

/* ---- the copy ---------------------------------------------------------------------------- */

/* (g_lock held) */
static int find(const char *host)
{
	for (int i = 0; i < g_nrows; i++)
		if (!strcmp(g_rows[i].host, host))
			return i;
	return -1;
}

/* A row for host, new (closed, no failure, no throttle) if it had none (g_lock held). */
static int find_or_add(const char *host)
{
	int i = find(host);

	if (i >= 0)
		return i;
	if (g_nrows == g_caprows) {
		g_caprows = g_caprows ? 2 * g_caprows : 16;
		g_rows = xrealloc(g_rows, (size_t)g_caprows * sizeof *g_rows);
	}
	i = g_nrows++;
	memset(&g_rows[i], 0, sizeof g_rows[i]);
	snprintf(g_rows[i].host, sizeof g_rows[i].host, "%s", host);
	g_rows[i].state = BREAKER_CLOSED;
	return i;
}

/* Drops row i when it has nothing to say: closed, no failure, no throttle (g_lock held). */
static void forget_if_healthy(int i, double now)
{
	if (g_rows[i].state == BREAKER_CLOSED && g_rows[i].failures == 0 && g_rows[i].until <= now)
		g_rows[i] = g_rows[--g_nrows];
}

static double until_of(double seconds_left, double now)
{
	return seconds_left > 0 ? now + seconds_left : 0;
}

void breakers_cache_set(const struct breaker_row *rows, int n)
{
	double now = clock_mono_s();
	struct cache_row *old;
	int nold, i;

	pthread_mutex_lock(&g_lock);
	old = g_rows;
	nold = g_nrows;
	g_caprows = n > 16 ? n : 16;
	g_rows = xcalloc((size_t)g_caprows, sizeof *g_rows);
	for (i = 0; i < n; i++) { /* one row per host: the primary key */
		snprintf(g_rows[i].host, sizeof g_rows[i].host, "%s", rows[i].host);
		g_rows[i].state = rows[i].state;
		g_rows[i].failures = rows[i].failures;
		g_rows[i].until = until_of(rows[i].throttled_s, now);
	}
	g_nrows = n;
	/* a throttle this worker learnt of may be newer than what the re-read saw (its commit
	 * came after the read began): it stays until it ends, or PostgreSQL says otherwise when
	 * a task asks (breakers_admit) */
	for (i = 0; i < nold; i++) {
		if (old[i].until > now) {
			int k = find_or_add(old[i].host);
			if (g_rows[k].until < old[i].until)
				g_rows[k].until = old[i].until;
		}
	}
	pthread_mutex_unlock(&g_lock);
	free(old);
}

void breakers_cache_put(const char *host, enum breaker_state state, int failures)
{
	int i;

	pthread_mutex_lock(&g_lock);
	i = find_or_add(host);
	g_rows[i].state = state;
	g_rows[i].failures = failures;
	forget_if_healthy(i, clock_mono_s());
	pthread_mutex_unlock(&g_lock);
}

/* Sets host's throttle in the copy to seconds_left from now; at_least: only when that is
 * later than what the copy has. */
static void throttle_in_copy(const char *host, double seconds_left, bool at_least)
{
	double now = clock_mono_s(), until = until_of(seconds_left, now);
	int i;

	pthread_mutex_lock(&g_lock);
	i = find_or_add(host);
	if (!at_least || g_rows[i].until < until)
		g_rows[i].until = until;
	forget_if_healthy(i, now);
	pthread_mutex_unlock(&g_lock);
}

void breakers_cache_throttle(const char *host, double seconds_left)
{
	throttle_in_copy(host, seconds_left, false);
}

bool breakers_lookup(const char *host, enum breaker_state *state, int *failures)
{
	int i;

	pthread_mutex_lock(&g_lock);
	i = find(host);
	if (i >= 0) {
		*state = g_rows[i].state;
		*failures = g_rows[i].failures;
	}
	pthread_mutex_unlock(&g_lock);
	return i >= 0;
}

bool breakers_throttled(const char *host)
{
	bool t;
	int i;

	pthread_mutex_lock(&g_lock);
	i = find(host);
	t = i >= 0 && g_rows[i].until > clock_mono_s();
	pthread_mutex_unlock(&g_lock);
	return t;
}

enum taskq_rc breakers_refresh(struct db *db, struct taskq_err *err)
{
	struct breaker_row *rows;
	int n;
	enum taskq_rc rc = store_breakers_active(db, &rows, &n, err);

	if (rc)
		return rc;
	breakers_cache_set(rows, n);
	free(rows);
	return TASKQ_OK;
}

/* ---- decisions ----------------------------------------------------------------------------- */

bool breakers_must_ask(bool known, enum breaker_state state, bool throttled)
{
	return throttled || (known && state != BREAKER_CLOSED);
}

bool breakers_must_report_success(bool known, enum breaker_state state, int failures, bool probe)
{
	return probe || (known && (state != BREAKER_CLOSED || failures > 0));
}

/* ---- executors ------------------------------------------------------------------------------ */

/* What this worker's cache says of host's breaker; known false: nothing (closed, no failure,
 * no throttle, assumed). */
struct cached {
	bool known, throttled;
	enum breaker_state state;
	int failures;
};

static struct cached cache_of(const char *host)
{
	struct cached c = {.state = BREAKER_CLOSED};
	int i;

	pthread_mutex_lock(&g_lock);
	i = find(host);
	if (i >= 0) {
		c.known = true;
		c.state = g_rows[i].state;
		c.failures = g_rows[i].failures;
		c.throttled = g_rows[i].until > clock_mono_s();
	}
	pthread_mutex_unlock(&g_lock);
	return c;
}

enum breaker_verdict breakers_admit(struct db *db, const struct holder *h, const char *host,
				    double probe_s, char *msg, size_t msgsize)
{
	struct breaker_admission a;
	struct taskq_err err;
	char hv[BREAKER_HOST_MAX + 1];
	struct cached c = cache_of(host);

	msg[0] = '\0';
	if (!breakers_must_ask(c.known, c.state, c.throttled))
		return BREAKER_RUN;
	if (store_breaker_admit(db, h, host, probe_s, &a, &err) != TASKQ_OK) {
		log_task(LOG_WARN, h->id, "event=breaker_admit_failed host=\"%s\" msg=\"%s\"",
			 log_value(hv, sizeof hv, host), err.msg);
		return BREAKER_RUN;
	}
	breakers_cache_throttle(host, a.throttled_s);
	breakers_cache_put(host, a.state, a.failures);
	if (a.verdict == BREAKER_PROBE)
		log_task(LOG_INFO, h->id,
			 "event=breaker_half_open host=\"%s\" failures=%d probe_s=%.0f",
			 log_value(hv, sizeof hv, host), a.failures, probe_s);
	if (a.verdict == BREAKER_DEFERRED)
		snprintf(msg, msgsize, "%s", a.message);
	return a.verdict;
}

static void log_transition(const struct holder *h, const char *host, const struct breaker_report *r,
			   const char *reason)
{
	char hv[BREAKER_HOST_MAX + 1], rv[160];

	log_value(hv, sizeof hv, host);
	log_value(rv, sizeof rv, reason ? reason : "");
	if (!strcmp(r->transition, "opened"))
		log_task(
			LOG_WARN, h->id,
			"event=breaker_opened host=\"%s\" failures=%d cooldown_s=%.1f reason=\"%s\"",
			hv, r->failures, r->cooldown_s, rv);
	else if (!strcmp(r->transition, "reopened"))
		log_task(
			LOG_WARN, h->id,
			"event=breaker_reopened host=\"%s\" failures=%d cooldown_s=%.1f reason=\"%s\"",
			hv, r->failures, r->cooldown_s, rv);
	else if (!strcmp(r->transition, "closed"))
		log_task(LOG_INFO, h->id, "event=breaker_closed host=\"%s\"", hv);
}

void breakers_report(struct db *db, const struct holder *h, const char *host, bool ok,
		     const char *reason, bool probe)
{
	struct breaker_report r;
	struct taskq_err err;
	char hv[BREAKER_HOST_MAX + 1];
	struct cached c = cache_of(host);
	struct breaker_defaults defaults;

	/* failures always go to PostgreSQL, which counts them (even with the flag's default
	 * off, a row of taskq.breaker_settings may turn this host's breaker on) */
	if (ok && !breakers_must_report_success(c.known, c.state, c.failures, probe))
		return;
	pthread_mutex_lock(&g_lock);
	defaults = g_defaults;
	pthread_mutex_unlock(&g_lock);
	if (store_breaker_report(db, h, host, ok, ok ? NULL : reason, &defaults, &r, &err)) {
		log_task(LOG_WARN, h->id, "event=breaker_report_failed host=\"%s\" msg=\"%s\"",
			 log_value(hv, sizeof hv, host), err.msg);
		return;
	}
	breakers_cache_put(host, r.state, r.failures);
	log_transition(h, host, &r, reason);
}

bool breakers_throttle(struct db *db, const struct holder *h, bool hold_task, const char *host,
		       double wait_s, const char *reason, enum breaker_verdict *verdict, char *msg,
		       size_t msgsize)
{
	struct breaker_throttled t;
	struct taskq_err err;
	char hv[BREAKER_HOST_MAX + 1], rv[240];
	double max_s;

	pthread_mutex_lock(&g_lock);
	max_s = g_defaults.retry_after_max_s;
	pthread_mutex_unlock(&g_lock);
	/* this worker's executors hold the host at once, before the round trip */
	throttle_in_copy(host, wait_s < max_s ? wait_s : max_s, true);
	log_value(hv, sizeof hv, host);
	log_value(rv, sizeof rv, reason);
	msg[0] = '\0';
	if (store_breaker_throttle(db, hold_task ? h : NULL, host, wait_s, max_s, reason, &t,
				   &err)) {
		log_task(LOG_WARN, h->id, "event=throttle_report_failed host=\"%s\" msg=\"%s\"", hv,
			 err.msg);
		return false;
	}
	breakers_cache_throttle(host, t.throttled_s);
	/* a wait past the cap is the operator's business: a warning */
	log_task(t.capped ? LOG_WARN : LOG_INFO, h->id,
		 "event=upstream_throttled host=\"%s\" asked_s=%.1f held_s=%.1f%s reason=\"%s\"%s",
		 hv, wait_s, t.throttled_s, t.capped ? " capped=1" : "", rv,
		 hold_task ? (t.verdict == BREAKER_DEFERRED ? " task=deferred" : " task=lost")
			   : "");
	snprintf(msg, msgsize, "%s", t.message);
	*verdict = t.verdict;
	return true;
}
