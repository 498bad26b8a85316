/* store/limits: the statements behind rate limits on task starts and owners' caps on
 * unfinished tasks (see store/limits.h). */
#include "store/limits.h"

#include <stdio.h>

#include "store/exec.h"

static struct db_stmt s_rate_put =
	DB_STMT("rate_put",
		"INSERT INTO taskq.rate_limits AS l (scope, name, max_starts, per)"
		" VALUES ($1, $2, $3::int, make_interval(secs => $4::float8))"
		" ON CONFLICT (scope, name) DO UPDATE SET max_starts = excluded.max_starts,"
		" per = excluded.per RETURNING scope, name, max_starts,"
		" extract(epoch FROM per) AS per_s, (xmax = 0) AS inserted",
		4);
static struct db_stmt s_rate_list =
	DB_STMT("rate_list",
		"SELECT scope, name, max_starts, extract(epoch FROM per) AS per_s,"
		" (SELECT count(*) FROM unnest(starts) x WHERE x > now() - per) AS recent"
		" FROM taskq.rate_limits ORDER BY scope, name",
		0);
static struct db_stmt s_rate_delete =
	DB_STMT("rate_delete",
		"DELETE FROM taskq.rate_limits WHERE scope = $1 AND name = $2 RETURNING name", 2);

static void decode_inserted(const struct row *r, void *elem)
{
	*(bool *)elem = row_bool(r, 4);
}

enum taskq_rc store_rate_put(struct db *db, const char *scope, const char *name, int max_starts,
			     double per_s, bool *created, struct taskq_err *err)
{
	char n[16], per[32];
	const char *p[4] = {scope, name, n, per};
	bool found;

	snprintf(n, sizeof n, "%d", max_starts);
	snprintf(per, sizeof per, "%.6f", per_s);
	*created = false;
	return store_exec_row(db, &s_rate_put, p, decode_inserted, created, &found, err);
}

static void decode_limit(const struct row *r, void *elem)
{
	struct rate_limit *l = elem;

	row_copy(r, 0, l->scope, sizeof l->scope);
	row_copy(r, 1, l->name, sizeof l->name);
	l->max_starts = (int)row_ll(r, 2, 0);
	l->per_s = row_double(r, 3, 0);
	l->recent = row_ll(r, 4, 0);
}

enum taskq_rc store_rate_list(struct db *db, struct rate_limit **out, int *n, struct taskq_err *err)
{
	return store_exec_rows(db, &s_rate_list, NULL, sizeof **out, decode_limit, out, n, err);
}

enum taskq_rc store_rate_delete(struct db *db, const char *scope, const char *name,
				struct taskq_err *err)
{
	const char *p[2] = {scope, name};

	return store_exec_found(db, &s_rate_delete, p, NULL, NULL, "no such rate limit", err);
}

static struct db_stmt s_cap_put =
	DB_STMT("cap_put",
		"INSERT INTO taskq.owner_caps AS c (owner, max_unfinished) VALUES ($1, $2::int)"
		" ON CONFLICT (owner) DO UPDATE SET max_unfinished = excluded.max_unfinished,"
		" updated_at = now() RETURNING (xmax = 0) AS inserted",
		2);
static struct db_stmt s_cap_list =
	DB_STMT("cap_list",
		"SELECT '*', taskq.configured_cap('*', NULL, (SELECT max_unfinished"
		" FROM taskq.owner_caps WHERE owner = '*')), -1"
		" UNION ALL (SELECT c.owner, c.max_unfinished, (SELECT count(*) FROM taskq.tasks t"
		" WHERE t.owner = c.owner AND t.state IN ('queued', 'running'))"
		" FROM taskq.owner_caps c WHERE c.owner <> '*' ORDER BY c.owner)",
		0);
static struct db_stmt s_cap_delete =
	DB_STMT("cap_delete", "DELETE FROM taskq.owner_caps WHERE owner = $1 RETURNING owner", 1);
static struct db_stmt s_owner_room =
	DB_STMT("owner_room", "SELECT coalesce(cap, -1), unfinished FROM taskq.owner_room($1)", 1);

static void decode_cap_inserted(const struct row *r, void *elem)
{
	*(bool *)elem = row_bool(r, 0);
}

enum taskq_rc store_cap_put(struct db *db, const char *owner, long max_unfinished, bool *created,
			    struct taskq_err *err)
{
	char n[24];
	const char *p[2] = {owner, n};
	bool found;

	snprintf(n, sizeof n, "%ld", max_unfinished);
	*created = false;
	return store_exec_row(db, &s_cap_put, p, decode_cap_inserted, created, &found, err);
}

static void decode_cap(const struct row *r, void *elem)
{
	struct owner_cap *c = elem;

	row_copy(r, 0, c->owner, sizeof c->owner);
	c->max_unfinished = (long)row_ll(r, 1, 0);
	c->unfinished = row_ll(r, 2, -1);
}

enum taskq_rc store_cap_list(struct db *db, struct owner_cap **out, int *n, struct taskq_err *err)
{
	void *v;
	enum taskq_rc rc =
		store_exec_rows(db, &s_cap_list, NULL, sizeof **out, decode_cap, &v, n, err);

	*out = v;
	return rc;
}

enum taskq_rc store_cap_delete(struct db *db, const char *owner, struct taskq_err *err)
{
	const char *p[1] = {owner};

	return store_exec_found(db, &s_cap_delete, p, NULL, NULL,
				"no cap of its own for this owner", err);
}

/* Both columns of taskq.owner_room's row. */
struct room {
	long long *cap, *unfinished;
};

static void decode_room(const struct row *r, void *elem)
{
	struct room *m = elem;

	*m->cap = row_ll(r, 0, -1);
	*m->unfinished = row_ll(r, 1, 0);
}

enum taskq_rc store_owner_room(struct db *db, const char *owner, long long *cap,
			       long long *unfinished, struct taskq_err *err)
{
	const char *p[1] = {owner};
	struct room m = {cap, unfinished};
	bool found;

	*cap = -1;
	*unfinished = 0;
	return store_exec_row(db, &s_owner_room, p, decode_room, &m, &found, err);
}
