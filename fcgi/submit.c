/* submit: admission of new tasks for both submit handlers (see submit.h). */
#include "submit.h"

#include <stdlib.h>
#include <string.h>

#include "bg/combine.h"
#include "bg/wake.h"
#include "fair.h"
#include "kindcache.h"
#include "owner_limits.h"
#include "model/taskjson.h"
#include "store/chains.h"

enum taskq_rc submit_check(struct req *r, json_object *o, long index, struct submit_task *s,
			   struct taskq_err *err)
{
	enum taskq_rc rc;
	long k;

	memset(s, 0, sizeof *s);
	if ((rc = taskjson_parse_submit(o, &s->n, &s->payload, err)) != TASKQ_OK ||
	    (rc = kindcache_check(r->db, s->n.kind, err)) != TASKQ_OK)
		return rc;
	if (index < 0 && s->n.after_index)
		return taskq_fail(
			err, TASKQ_INVAL,
			"after names task ids here (indexes of earlier tasks are for batches)");
	if (index >= 0 && (k = taskjson_after_forward(&s->n, (size_t)index)) >= 0)
		return taskq_fail(err, TASKQ_INVAL,
				  "after[%ld] is not the index of an earlier task of the batch"
				  " (a task runs only after tasks that exist before it)",
				  k);
	s->n.owner = r->who.owner;
	return TASKQ_OK;
}

void submit_task_cleanup(struct submit_task *s)
{
	free(s->payload);
	s->payload = NULL;
}

bool submit_admit(struct req *r, struct submit_task *s, size_t count)
{
	if (!limits_admit_n(r, (long)count))
		return false;
	for (size_t i = 0; i < count; i++)
		fair_prepare(&s[i].n, s[i].fair_at);
	return true;
}

enum taskq_rc submit_store(struct req *r, struct submit_task *s, struct task *t, bool *created,
			   struct taskq_err *err)
{
	/* a dedupe key may answer with the live task that holds it, parents are locked and
	 * linked, debounce and supersede act on the key's holder, a wait for a signal is
	 * checked (taskq.insert_tasks): those go alone; an owner names only its own tasks as
	 * parents */
	*created = true;
	if (s->n.after || s->n.wait_for || s->n.debounce_ms >= 0 || s->n.supersede)
		return store_submit_after(r->db, &s->n, r->who.admin ? NULL : r->who.owner, t,
					  created, err);
	if (s->n.dedupe_key)
		return store_submit(r->db, &s->n, t, created, err);
	return combine_submit(r->db, &s->n, t, err);
}

enum taskq_rc submit_store_batch(struct req *r, struct submit_task *s, size_t count,
				 struct batch_row **rows, int *nrows, struct taskq_err *err)
{
	/* the array taskq.submit_many() takes: each task's checked fields and its fair place */
	json_object *arr = json_object_new_array_ext((int)count);
	enum taskq_rc rc;

	for (size_t i = 0; i < count; i++)
		json_object_array_add(arr, taskjson_batch_element(&s[i].n));
	/* an owner names only its own tasks as parents; the store gives each element its id
	 * before the first try, so that a retry after a lost connection inserts none twice */
	rc = store_submit_many(r->db, r->who.owner, arr, r->who.admin ? NULL : r->who.owner, rows,
			       nrows, err);
	json_object_put(arr);
	return rc;
}

void submit_created(const struct submit_task *s, const struct task *t)
{
	fair_created(&s->n, t);
}

void submit_done(struct req *r, const char *const *ids, long created)
{
	limits_created(r, created);
	wake_announce(ids, (int)created);
}
