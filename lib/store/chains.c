/* store/chains: submits with parents and the parents' results (see store/chains.h). */
#include "store/chains.h"

#include <json-c/json.h>

#include "base/xalloc.h"
#include "model/taskjson.h"
#include "store/exec.h"
#include "store/tasks.h"

static struct db_stmt s_submit_after = DB_STMT(
	"submit_after",
	"SELECT id, created FROM taskq.insert_tasks($1::jsonb, $2, false, $3, NULL, NULL)", 3);
static struct db_stmt s_parents_of =
	DB_STMT("parents_of", "SELECT taskq.parents_of($1::uuid)::text", 1);

/* The row taskq.insert_tasks answers: the id and whether it was inserted. */
struct inserted {
	char id[TASK_ID_LEN + 1];
	bool created;
};

static void decode_inserted(const struct row *r, void *elem)
{
	struct inserted *in = elem;

	row_copy(r, 0, in->id, sizeof in->id);
	in->created = row_bool(r, 1);
}

enum taskq_rc store_submit_after(struct db *db, const struct task_new *n, const char *parent_owner,
				 struct task *out, bool *created, struct taskq_err *err)
{
	json_object *arr = json_object_new_array_ext(1);
	const char *p[3];
	struct inserted in = {"", false};
	enum taskq_rc rc = TASKQ_OK;
	bool found;

	json_object_array_add(arr, taskjson_batch_element(n));
	p[0] = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN);
	p[1] = n->owner;
	p[2] = parent_owner;
	/* no row: the live task holding its dedupe key finished in between; insert again */
	for (int tries = 0; tries < 5 && !in.id[0]; tries++)
		if ((rc = store_exec_row(db, &s_submit_after, p, decode_inserted, &in, &found,
					 err)))
			break;
	json_object_put(arr);
	if (rc)
		return rc;
	if (!in.id[0])
		return taskq_fail(err, TASKQ_INTERNAL, "dedupe key kept changing hands");
	*created = in.created;
	return store_get(db, in.id, out, err);
}

enum taskq_rc store_parents_json(struct db *db, const char *id, char **json, struct taskq_err *err)
{
	const char *p[1] = {id};
	enum taskq_rc rc = store_exec_value(db, &s_parents_of, p, json, err);

	if (rc == TASKQ_OK && !*json)
		*json = xstrdup("[]");
	return rc;
}
