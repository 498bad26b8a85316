/*
 * h_schedules: /api/schedules — recurring schedules. POST creates (409 when the name is taken),
 * PUT /api/schedules/{name} creates or replaces (201 or 200), GET lists or reads one, DELETE
 * removes one (its fire history goes with it; tasks already made stay). An owner's token
 * sees and changes its own schedules, whose tasks are its own; another owner's schedule
 * answers 404, as a task does. The expression and the zone are checked here (400 with the
 * reason) and the first fire time is computed before the row is written.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "body.h"
#include "handlers.h"
#include "kindcache.h"
#include "resp.h"
#include "time/schedule.h"
#include "store/schedules.h"

/* The {name} of the route, checked; answers 400 and returns NULL when it is not a name. */
static const char *path_name(struct req *r)
{
	if (!task_name_valid(r->cap[0])) {
		resp_error(r, TASKQ_INVAL,
			   "a schedule name is 1-64 characters of letters, digits, "
			   "'_', '.', ':' or '-'");
		return NULL;
	}
	return r->cap[0];
}

static void answer(struct req *r, int status, const struct schedule *s)
{
	char extra[120];

	snprintf(extra, sizeof extra, "Location: /api/schedules/%s\r\n", s->name);
	resp_json(r, status, schedjson_encode(s), status == 201 ? extra : NULL);
}

static void put(struct req *r, const char *name, bool replace)
{
	json_object *body;
	struct schedule_new n;
	struct schedule s = {0};
	struct taskq_err err;
	bool created = false;

	if (!body_read_json(r, &body))
		return;
	if (schedjson_parse(body, name, (int64_t)time(NULL), &n, &err) ||
	    kindcache_check(r->db, n.t.kind, &err) ||
	    store_schedule_put(r->db, &n, r->who.owner, replace, r->who.admin, &s, &created, &err))
		resp_error(r, err.rc, err.msg);
	else
		answer(r, created ? 201 : 200, &s);
	schedule_cleanup(&s);
	schedule_new_cleanup(&n);
	json_object_put(body);
}

void h_schedule_create(struct req *r)
{
	put(r, NULL, false);
}

void h_schedule_put(struct req *r)
{
	const char *name = path_name(r);

	if (name)
		put(r, name, true);
}

/* The schedule, when r may see it (else TASKQ_NOTFOUND, as for a task). */
static enum taskq_rc visible(struct req *r, const char *name, struct schedule *s,
			     struct taskq_err *err)
{
	enum taskq_rc rc = store_schedule_get(r->db, name, s, err);

	if (rc == TASKQ_OK && !r->who.admin && strcmp(s->owner, r->who.owner) != 0) {
		schedule_cleanup(s);
		return taskq_fail(err, TASKQ_NOTFOUND, "no such schedule");
	}
	return rc;
}

void h_schedule_get(struct req *r)
{
	struct schedule s = {0};
	struct taskq_err err;
	const char *name = path_name(r);

	if (!name)
		return;
	if (visible(r, name, &s, &err))
		resp_error(r, err.rc, err.msg);
	else
		answer(r, 200, &s);
	schedule_cleanup(&s);
}

void h_schedule_list(struct req *r)
{
	struct schedule *v;
	struct taskq_err err;
	json_object *o, *arr;
	int n;

	if (store_schedule_list(r->db, r->who.admin ? NULL : r->who.owner, &v, &n, &err)) {
		resp_error(r, err.rc, err.msg);
		return;
	}
	o = json_object_new_object();
	arr = json_object_new_array_ext(n);
	for (int i = 0; i < n; i++)
		json_object_array_add(arr, schedjson_encode(&v[i]));
	json_object_object_add(o, "schedules", arr);
	resp_json(r, 200, o, NULL);
	schedules_free(v, n);
}

void h_schedule_delete(struct req *r)
{
	struct taskq_err err;
	const char *name = path_name(r);

	if (!name)
		return;
	if (store_schedule_delete(r->db, name, r->who.admin ? NULL : r->who.owner, &err))
		resp_error(r, err.rc, err.msg);
	else
		resp_empty(r, 204, NULL);
}
