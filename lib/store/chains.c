/* store/chains: submits with parents and the parents' results (see store/chains.h). */
#include "store/chains.h"

#include <json-c/json.h>

#include "base/xalloc.h"
#include "model/taskjson.h"
#include "model/uuid7.h"
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

/* One submit with parents as a db_retry_fn: the same statement both times (an element whose
 * id is there already is answered with that task, neither inserted nor linked again). */
struct after {
	const char *const *p;
	struct inserted *in;
};

static enum taskq_rc submit_after(struct db *db, void *ctx, bool again, struct taskq_err *err)
{
	struct after *a = ctx;
	enum taskq_rc rc = TASKQ_OK;
	bool found;

	(void)again;
	/* no row: the live task holding its dedupe key finished in between; insert again */
	for (int tries = 0; tries < 5 && !a->in->id[0]; tries++)
		if ((rc = store_exec_row(db, &s_submit_after, a->p, decode_inserted, a->in, &found,
					 err)))
			break;
	return rc;
}

enum taskq_rc store_submit_after(struct db *db, const struct task_new *n, const char *parent_owner,
				 struct task *out, bool *created, struct taskq_err *err)
{
	json_object *arr = json_object_new_array_ext(1), *el = taskjson_batch_element(n);
	const char *p[3];
	struct inserted in = {"", false};
	struct after a = {p, &in};
	char id[TASK_ID_LEN + 1];
	enum taskq_rc rc;

	/* made before the first try: see db_retry_lost */
	if (!uuid7_make(id)) {
		json_object_put(el);
		json_object_put(arr);
		return taskq_fail(err, TASKQ_INTERNAL, "no random bytes for a task id");
	}
	json_object_object_add(el, "id", json_object_new_string(id));
	json_object_array_add(arr, el);
	p[0] = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN);
	p[1] = n->owner;
	p[2] = parent_owner;
	rc = db_retry_lost(db, submit_after, &a, err);
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
