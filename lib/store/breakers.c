/* store/breakers: the statements behind the circuit breakers (see store/breakers.h). */
#include "store/breakers.h"

#include <stdio.h>
#include <string.h>

#include "store/exec.h"

static struct db_stmt s_breakers_active =
	DB_STMT("breakers_active",
		"SELECT host, state, failures,"
		" greatest(coalesce(extract(epoch FROM throttled_until - now()), 0), 0)::float8"
		" FROM taskq.breakers"
		" WHERE state <> 'closed' OR failures > 0 OR throttled_until > now()"
		" ORDER BY state <> 'closed' DESC, throttled_until > now() DESC, updated_at DESC"
		" LIMIT 1000",
		0);
static struct db_stmt s_breaker_admit =
	DB_STMT("breaker_admit",
		"SELECT verdict, state, failures, message, coalesce(throttled_s, 0)"
		" FROM taskq.breaker_admit($1, $2::uuid, $3, $4::int, $5::float8)",
		5);
static struct db_stmt s_breaker_throttle = DB_STMT(
	"breaker_throttle",
	"SELECT verdict, throttled_s, capped, message"
	" FROM taskq.breaker_throttle($1, $2::float8, $3::float8, $4, $5::uuid, $6, $7::int)",
	7);
static struct db_stmt s_breaker_report =
	DB_STMT("breaker_report",
		"SELECT coalesce(transition, ''), state, failures, coalesce(cooldown_s, 0)"
		" FROM taskq.breaker_report($1, $2::uuid, $3::int, $4::boolean, $5,"
		" $6::int, $7::float8, $8::float8)",
		8);

static struct db_stmt s_upstream_throttles =
	DB_STMT("upstream_throttles",
		"SELECT host, until, reason, greatest(seconds_left, 0) AS seconds_left, waiting,"
		" message FROM taskq.upstream_throttles LIMIT 100",
		0);
static struct db_stmt s_upstream_throttles_of =
	DB_STMT("upstream_throttles_of",
		"SELECT host, until, reason, greatest(seconds_left, 0) AS seconds_left, waiting,"
		" message FROM taskq.upstream_throttles_of($1) LIMIT 100",
		1);

/* A state column: "open", "half_open", else (also "closed") closed. */
static enum breaker_state state_of(const struct row *r, int col)
{
	const char *s = row_text(r, col);

	if (!strcmp(s, "open"))
		return BREAKER_OPEN;
	if (!strcmp(s, "half_open"))
		return BREAKER_HALF_OPEN;
	return BREAKER_CLOSED;
}

static void decode_active(const struct row *r, void *elem)
{
	struct breaker_row *b = elem;

	row_copy(r, 0, b->host, sizeof b->host);
	b->state = state_of(r, 1);
	b->failures = (int)row_ll(r, 2, 0);
	b->throttled_s = row_double(r, 3, 0);
}

enum taskq_rc store_breakers_active(struct db *db, struct breaker_row **out, int *n,
				    struct taskq_err *err)
{
	return store_exec_rows(db, &s_breakers_active, NULL, sizeof **out, decode_active, out, n,
			       err);
}

static void decode_admission(const struct row *r, void *elem)
{
	struct breaker_admission *a = elem;
	const char *verdict = row_text(r, 0);

	a->verdict = !strcmp(verdict, "probe")      ? BREAKER_PROBE
		     : !strcmp(verdict, "deferred") ? BREAKER_DEFERRED
		     : !strcmp(verdict, "lost")     ? BREAKER_LOST
						    : BREAKER_RUN;
	a->state = state_of(r, 1);
	a->failures = (int)row_ll(r, 2, 0);
	row_copy(r, 3, a->message, sizeof a->message);
	a->throttled_s = row_double(r, 4, 0);
}

enum taskq_rc store_breaker_admit(struct db *db, const struct holder *h, const char *host,
				  double probe_s, struct breaker_admission *out,
				  struct taskq_err *err)
{
	char as[16], ps[32];
	const char *p[5] = {host, h->id, h->worker, as, ps};

	snprintf(as, sizeof as, "%d", h->attempt);
	snprintf(ps, sizeof ps, "%.3f", probe_s);
	memset(out, 0, sizeof *out);
	return store_exec_one(db, &s_breaker_admit, p, decode_admission, out, "breaker_admit", err);
}

static void decode_report(const struct row *r, void *elem)
{
	struct breaker_report *b = elem;

	row_copy(r, 0, b->transition, sizeof b->transition);
	b->state = state_of(r, 1);
	b->failures = (int)row_ll(r, 2, 0);
	b->cooldown_s = row_double(r, 3, 0);
}

enum taskq_rc store_breaker_report(struct db *db, const struct holder *h, const char *host, bool ok,
				   const char *reason, const struct breaker_defaults *d,
				   struct breaker_report *out, struct taskq_err *err)
{
	char as[16], fs[16], cs[32], ms[32];
	const char *p[8] = {host, h->id, as, ok ? "true" : "false", reason, fs, cs, ms};

	snprintf(as, sizeof as, "%d", h->attempt);
	snprintf(fs, sizeof fs, "%d", d->failures);
	snprintf(cs, sizeof cs, "%.3f", d->cooldown_s);
	snprintf(ms, sizeof ms, "%.3f", d->max_cooldown_s);
	memset(out, 0, sizeof *out);
	return store_exec_one(db, &s_breaker_report, p, decode_report, out, "breaker_report", err);
}

static void decode_throttled(const struct row *r, void *elem)
{
	struct breaker_throttled *t = elem;
	const char *verdict = row_text(r, 0);

	t->verdict = !strcmp(verdict, "deferred") ? BREAKER_DEFERRED
		     : !strcmp(verdict, "lost")   ? BREAKER_LOST
						  : BREAKER_RUN;
	t->throttled_s = row_double(r, 1, 0);
	t->capped = row_bool(r, 2);
	row_copy(r, 3, t->message, sizeof t->message);
}

enum taskq_rc store_breaker_throttle(struct db *db, const struct holder *h, const char *host,
				     double wait_s, double max_s, const char *reason,
				     struct breaker_throttled *out, struct taskq_err *err)
{
	char ws[32], ms[32], as[16];
	const char *p[7] = {host,         ws, ms, reason, h ? h->id : NULL, h ? h->worker : NULL,
			    h ? as : NULL};

	snprintf(ws, sizeof ws, "%.3f", wait_s);
	snprintf(ms, sizeof ms, "%.3f", max_s);
	snprintf(as, sizeof as, "%d", h ? h->attempt : 0);
	memset(out, 0, sizeof *out);
	return store_exec_one(db, &s_breaker_throttle, p, decode_throttled, out, "breaker_throttle",
			      err);
}

enum taskq_rc store_upstream_throttles(struct db *db, const char *owner, struct throttle_stat **out,
				       int *n, struct taskq_err *err)
{
	const char *p[1] = {owner};

	return store_exec_records(db, owner ? &s_upstream_throttles_of : &s_upstream_throttles,
				  owner ? p : NULL, &throttle_record, sizeof **out, out, n, err);
}
