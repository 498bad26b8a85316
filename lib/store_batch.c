/* store_batch: batch submit (taskq.submit_many, sql/010_batch.sql). */
#include "store.h"
#include "store_impl.h"

#include <stdio.h>
#include <stdlib.h>

#include "xalloc.h"

enum taskq_rc store_submit_many(struct db *db, const char *owner, const char *tasks_json,
				struct batch_row **rows, int *n, struct taskq_err *err)
{
	const char *p[2] = {tasks_json, owner};
	PGresult *res;
	enum taskq_rc rc = db_exec(db, S_SUBMIT_MANY, p, &res, err);

	*rows = NULL;
	*n = 0;
	if (rc)
		return rc;
	*n = PQntuples(res);
	*rows = xcalloc((size_t)*n + 1, sizeof **rows);
	for (int i = 0; i < *n; i++) {
		struct batch_row *b = &(*rows)[i];
		snprintf(b->id, sizeof b->id, "%s", PQgetvalue(res, i, 1));
		b->created = PQgetvalue(res, i, 2)[0] == 't';
		snprintf(b->queue, sizeof b->queue, "%s", PQgetvalue(res, i, 3));
		b->priority = (int)store_opt_ll(res, i, 4, 0);
		b->run_at = store_opt_time(res, i, 5);
	}
	PQclear(res);
	return TASKQ_OK;
}

void store_batch_free(struct batch_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		free(rows[i].run_at);
	free(rows);
}
