/*
 * store_chains: submits that name parents (taskq.insert_tasks, sql/011_chains.sql), the
 * parents' results a command kind reads, and the decoding of a task's parents column. Part
 * of the store module (statements in lib/store.c, see store_impl.h).
 */
#include "store/impl.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/xalloc.h"
#include "model/taskjson.h"

char *store_opt_uuid_array(const PGresult *res, int row, int col)
{
	if (col < 0 || PQgetisnull(res, row, col))
		return NULL;
	return taskjson_ids_from_pg(PQgetvalue(res, row, col));
}

enum taskq_rc store_submit_after(struct db *db, const struct task_new *n, const char *parent_owner,
				 struct task *out, bool *created, struct taskq_err *err)
{
	json_object *arr = json_object_new_array_ext(1);
	const char *p[3];
	char id[TASK_ID_LEN + 1] = "";
	enum taskq_rc rc = TASKQ_OK;
	PGresult *res;

	json_object_array_add(arr, taskjson_batch_element(n));
	p[0] = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN);
	p[1] = n->owner;
	p[2] = parent_owner;
	/* no row: the live task holding its dedupe key finished in between; insert again */
	for (int tries = 0; tries < 5 && !id[0]; tries++) {
		if ((rc = db_exec(db, S_SUBMIT_AFTER, p, &res, err)))
			break;
		if (PQntuples(res) == 1) {
			snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
			*created = PQgetvalue(res, 0, 1)[0] == 't';
		}
		PQclear(res);
	}
	json_object_put(arr);
	if (rc)
		return rc;
	if (!id[0])
		return taskq_fail(err, TASKQ_INTERNAL, "dedupe key kept changing hands");
	return store_get(db, id, out, err);
}

enum taskq_rc store_parents_json(struct db *db, const char *id, char **json, struct taskq_err *err)
{
	const char *p[1] = {id};
	enum taskq_rc rc = store_exec_value(db, S_PARENTS_OF, p, json, err);

	if (rc == TASKQ_OK && !*json)
		*json = xstrdup("[]");
	return rc;
}
