/* store_limits: the statements behind rate limits on task starts (sql/013_rate_limits.sql). */
#include "store/impl.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

enum taskq_rc store_rate_put(struct db *db, const char *scope, const char *name, int max_starts,
			     double per_s, bool *created, struct taskq_err *err)
{
	char n[16], per[32];
	const char *p[4] = {scope, name, n, per};
	PGresult *res;
	enum taskq_rc rc;

	snprintf(n, sizeof n, "%d", max_starts);
	snprintf(per, sizeof per, "%.6f", per_s);
	if ((rc = db_exec(db, S_RATE_PUT, p, &res, err)))
		return rc;
	*created = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 4), "t");
	PQclear(res);
	return TASKQ_OK;
}

enum taskq_rc store_rate_list(struct db *db, struct rate_limit **out, int *n,
			      struct taskq_err *err)
{
	PGresult *res;
	enum taskq_rc rc = db_exec(db, S_RATE_LIST, NULL, &res, err);

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	*n = PQntuples(res);
	*out = xcalloc((size_t)*n + 1, sizeof **out);
	for (int i = 0; i < *n; i++) {
		struct rate_limit *l = &(*out)[i];
		snprintf(l->scope, sizeof l->scope, "%s", PQgetvalue(res, i, 0));
		snprintf(l->name, sizeof l->name, "%s", PQgetvalue(res, i, 1));
		l->max_starts = (int)store_opt_ll(res, i, 2, 0);
		l->per_s = strtod(PQgetvalue(res, i, 3), NULL);
		l->recent = store_opt_ll(res, i, 4, 0);
	}
	PQclear(res);
	return TASKQ_OK;
}

enum taskq_rc store_rate_delete(struct db *db, const char *scope, const char *name,
				struct taskq_err *err)
{
	const char *p[2] = {scope, name};
	PGresult *res;
	enum taskq_rc rc = db_exec(db, S_RATE_DELETE, p, &res, err);
	int rows;

	if (rc)
		return rc;
	rows = PQntuples(res);
	PQclear(res);
	return rows == 1 ? TASKQ_OK : taskq_fail(err, TASKQ_NOTFOUND, "no such rate limit");
}
