/* store_batch: batch submit (taskq.submit_many, sql/010_batch.sql). */
#include "store/impl.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/xalloc.h"
#include "model/taskjson.h"

enum taskq_rc store_submit_many(struct db *db, const char *owner, const char *tasks_json,
				const char *parent_owner, struct batch_row **rows, int *n,
				struct taskq_err *err)
{
	const char *p[3] = {tasks_json, owner, parent_owner};
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

enum taskq_rc store_submit_group(struct db *db, struct group_item *items, int n,
				 struct taskq_err *err)
{
	json_object *arr = json_object_new_array_ext(n);
	const char *p[1];
	PGresult *res;
	enum taskq_rc rc;
	int rows, matched = 0;

	for (int i = 0; i < n; i++) {
		json_object *o = taskjson_batch_element(items[i].n);
		json_object_object_add(o, "id", json_object_new_string(items[i].id));
		json_object_object_add(o, "owner", json_object_new_string(items[i].n->owner));
		json_object_array_add(arr, o);
	}
	p[0] = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN);
	rc = db_exec(db, S_SUBMIT_GROUP, p, &res, err);
	json_object_put(arr);
	if (rc)
		return rc;
	/* the rows come back in no promised order: each finds its item by id */
	rows = PQntuples(res);
	for (int r = 0, c_id = PQfnumber(res, "id"); r < rows; r++)
		for (int i = 0; i < n; i++)
			if (!strcmp(items[i].id, PQgetvalue(res, r, c_id))) {
				store_decode_task(res, r, items[i].out);
				matched++;
				break;
			}
	PQclear(res);
	if (matched != n)
		return taskq_fail(err, TASKQ_INTERNAL, "a group insert returned %d of %d rows", matched, n);
	return TASKQ_OK;
}
