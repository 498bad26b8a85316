/* breakers: the worker's copy of the circuit breakers, admission and reports (breakers.h). */
#include "breakers.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct breaker_row *g_rows; /* guarded by g_lock */
static int g_nrows, g_caprows;
static struct breaker_defaults g_defaults = {5, 30, 600};

void breakers_configure(int failures, double cooldown_s, double max_cooldown_s)
{
	pthread_mutex_lock(&g_lock); /* at start, and again on SIGHUP */
	g_defaults = (struct breaker_defaults){failures, cooldown_s, max_cooldown_s};
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

static int find(const char *host)
{
	for (int i = 0; i < g_nrows; i++)
		if (!strcmp(g_rows[i].host, host))
			return i;
	return -1;
}

void breakers_cache_set(const struct breaker_row *rows, int n)
{
	pthread_mutex_lock(&g_lock);
	if (n > g_caprows) {
		g_rows = xrealloc(g_rows, (size_t)n * sizeof *g_rows);
		g_caprows = n;
	}
	if (n > 0)
		memcpy(g_rows, rows, (size_t)n * sizeof *g_rows);
	g_nrows = n;
	pthread_mutex_unlock(&g_lock);
}

void breakers_cache_put(const char *host, enum breaker_state state, int failures)
{
	int i;

	pthread_mutex_lock(&g_lock);
	i = find(host);
	if (state == BREAKER_CLOSED && failures == 0) {
		if (i >= 0)
			g_rows[i] = g_rows[--g_nrows];
	} else {
		if (i < 0) {
			if (g_nrows == g_caprows) {
				g_caprows = g_caprows ? 2 * g_caprows : 16;
				g_rows = xrealloc(g_rows, (size_t)g_caprows * sizeof *g_rows);
			}
			i = g_nrows++;
			snprintf(g_rows[i].host, sizeof g_rows[i].host, "%s", host);
		}
		g_rows[i].state = state;
		g_rows[i].failures = failures;
	}
	pthread_mutex_unlock(&g_lock);
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

bool breakers_must_ask(bool known, enum breaker_state state)
{
	return known && state != BREAKER_CLOSED;
}

bool breakers_must_report_success(bool known, enum breaker_state state, int failures, bool probe)
{
	return probe || (known && (state != BREAKER_CLOSED || failures > 0));
}

/* ---- executors ------------------------------------------------------------------------------ */

/* What this worker's cache says of host's breaker; known false: nothing (closed, no failure,
 * assumed). */
struct cached {
	bool known;
	enum breaker_state state;
	int failures;
};

static struct cached cache_of(const char *host)
{
	struct cached c = {.state = BREAKER_CLOSED};

	c.known = breakers_lookup(host, &c.state, &c.failures);
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
	if (!breakers_must_ask(c.known, c.state))
		return BREAKER_RUN;
	if (store_breaker_admit(db, h, host, probe_s, &a, &err) != TASKQ_OK) {
		log_task(LOG_WARN, h->id, "event=breaker_admit_failed host=\"%s\" msg=\"%s\"",
			 log_value(hv, sizeof hv, host), err.msg);
		return BREAKER_RUN;
	}
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
