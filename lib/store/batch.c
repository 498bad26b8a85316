/* store/batch: batch submit (taskq.submit_many, sql/functions/submit.sql; see store/batch.h). */
#include "store/batch.h"

#include <stdlib.h>

#include "model/task.h"
#include "model/uuid7.h"
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

/* One batch as a db_retry_fn: the same statement both times, since taskq.insert_tasks answers
 * an element whose id is there already with that task, neither inserted nor linked again. */
struct many {
	const char *const *p;
	struct batch_row **rows;
	int *n;
};

static enum taskq_rc submit_many(struct db *db, void *ctx, bool again, struct taskq_err *err)
{
	struct many *m = ctx;

	(void)again;
	return store_exec_rows(db, &s_submit_many, m->p, sizeof **m->rows, decode_batch_row,
			       m->rows, m->n, err);
}

enum taskq_rc store_submit_many(struct db *db, const char *owner, json_object *tasks,
				const char *parent_owner, struct batch_row **rows, int *n,
				struct taskq_err *err)
{
	const char *p[3] = {NULL, owner, parent_owner};
	struct many m = {p, rows, n};
	size_t count = json_object_array_length(tasks);

	*rows = NULL;
	*n = 0;
	for (size_t i = 0; i < count; i++) {
		json_object *el = json_object_array_get_idx(tasks, i);
		char id[TASK_ID_LEN + 1];

		if (json_object_object_get_ex(el, "id", NULL))
			continue;
		if (!uuid7_make(id))
			return taskq_fail(err, TASKQ_INTERNAL, "no random bytes for a task id");
		json_object_object_add(el, "id", json_object_new_string(id));
	}
	p[0] = json_object_to_json_string_ext(tasks, JSON_C_TO_STRING_PLAIN);
	return db_retry_lost(db, submit_many, &m, err);
}

void store_batch_free(struct batch_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		free(rows[i].run_at);
	free(rows);
}
