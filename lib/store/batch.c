/* store/batch: batch submit (taskq.submit_many, sql/functions/submit.sql; see store/batch.h). */
#include "store/batch.h"

#include <stdlib.h>

#include "store/exec.h"

static struct db_stmt s_submit_many = DB_STMT("submit_many",
					      "SELECT ord, id, created, queue, priority, run_at"
					      " FROM taskq.submit_many($1::jsonb, $2, false, $3)",
					      3);

static void decode_batch_row(const struct row *r, void *elem)
{
	struct batch_row *b = elem;

	row_copy(r, 1, b->id, sizeof b->id);
	b->created = row_bool(r, 2);
	row_copy(r, 3, b->queue, sizeof b->queue);
	b->priority = (int)row_ll(r, 4, 0);
	b->run_at = row_time(r, 5);
}

enum taskq_rc store_submit_many(struct db *db, const char *owner, const char *tasks_json,
				const char *parent_owner, struct batch_row **rows, int *n,
				struct taskq_err *err)
{
	const char *p[3] = {tasks_json, owner, parent_owner};
	return store_exec_rows(db, &s_submit_many, p, sizeof **rows, decode_batch_row, rows, n,
			       err);
}

void store_batch_free(struct batch_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		free(rows[i].run_at);
	free(rows);
}
