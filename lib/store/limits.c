/* store/limits: the statements behind rate limits on task starts (see store/limits.h). */
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
