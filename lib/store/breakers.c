/*
 * store_breakers: the circuit breakers' verbs (sql/009_breakers.sql): the rows of hosts that
 * are not healthy, admission of a claimed task (run, probe, or deferred without spending its
 * attempt) and the report of what a host did. Part of the store module: the statements are
 * lib/store.c's (see store_impl.h); no SQL text of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "store/impl.h"
#include "store/store.h"

int breaker_state_parse(const char *s)
{
	if (!s)
		return -1;
	if (!strcmp(s, "closed"))
		return BREAKER_CLOSED;
	if (!strcmp(s, "open"))
		return BREAKER_OPEN;
	if (!strcmp(s, "half_open"))
		return BREAKER_HALF_OPEN;
	return -1;
}

static enum breaker_state state_of(const PGresult *res, int row, int col)
{
	int s = breaker_state_parse(PQgetvalue(res, row, col));
	return s < 0 ? BREAKER_CLOSED : (enum breaker_state)s;
}

enum taskq_rc store_breakers_active(struct db *db, struct breaker_row **out, int *n,
				    struct taskq_err *err)
{
	PGresult *res;
	enum taskq_rc rc = db_exec(db, S_BREAKERS_ACTIVE, NULL, &res, err);

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	*n = PQntuples(res);
	*out = xcalloc((size_t)*n + 1, sizeof **out);
	for (int i = 0; i < *n; i++) {
		struct breaker_row *b = &(*out)[i];
		snprintf(b->host, sizeof b->host, "%s", PQgetvalue(res, i, 0));
		b->state = state_of(res, i, 1);
		b->failures = (int)store_opt_ll(res, i, 2, 0);
	}
	PQclear(res);
	return TASKQ_OK;
}

enum taskq_rc store_breaker_admit(struct db *db, const struct holder *h, const char *host,
				  double probe_s, struct breaker_admission *out, struct taskq_err *err)
{
	char as[16], ps[32];
	const char *p[5] = {host, h->id, h->worker, as, ps};
	const char *verdict;
	PGresult *res;
	enum taskq_rc rc;

	snprintf(as, sizeof as, "%d", h->attempt);
	snprintf(ps, sizeof ps, "%.3f", probe_s);
	memset(out, 0, sizeof *out);
	if ((rc = db_exec(db, S_BREAKER_ADMIT, p, &res, err)))
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return taskq_fail(err, TASKQ_INTERNAL, "breaker_admit returned no row");
	}
	verdict = PQgetvalue(res, 0, 0);
	out->verdict = !strcmp(verdict, "probe")      ? BREAKER_PROBE
		       : !strcmp(verdict, "deferred") ? BREAKER_DEFERRED
		       : !strcmp(verdict, "lost")     ? BREAKER_LOST
						      : BREAKER_RUN;
	out->state = state_of(res, 0, 1);
	out->failures = (int)store_opt_ll(res, 0, 2, 0);
	snprintf(out->message, sizeof out->message, "%s", PQgetvalue(res, 0, 3));
	PQclear(res);
	return TASKQ_OK;
}

enum taskq_rc store_breaker_report(struct db *db, const struct holder *h, const char *host,
				   bool ok, const char *reason, const struct breaker_defaults *d,
				   struct breaker_report *out, struct taskq_err *err)
{
	char as[16], fs[16], cs[32], ms[32];
	const char *p[8] = {host, h->id, as, ok ? "true" : "false", reason, fs, cs, ms};
	PGresult *res;
	enum taskq_rc rc;

	snprintf(as, sizeof as, "%d", h->attempt);
	snprintf(fs, sizeof fs, "%d", d->failures);
	snprintf(cs, sizeof cs, "%.3f", d->cooldown_s);
	snprintf(ms, sizeof ms, "%.3f", d->max_cooldown_s);
	memset(out, 0, sizeof *out);
	if ((rc = db_exec(db, S_BREAKER_REPORT, p, &res, err)))
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return taskq_fail(err, TASKQ_INTERNAL, "breaker_report returned no row");
	}
	snprintf(out->transition, sizeof out->transition, "%s", PQgetvalue(res, 0, 0));
	out->state = state_of(res, 0, 1);
	out->failures = (int)store_opt_ll(res, 0, 2, 0);
	out->cooldown_s = strtod(PQgetvalue(res, 0, 3), NULL);
	PQclear(res);
	return TASKQ_OK;
}
