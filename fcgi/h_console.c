/*
 * h_console: the console's routes beyond those of one task: the fleet (GET /api/workers), a
 * queue's per-minute series (GET /api/queues/{name}/series?range=1h|1d), the circuit breakers
 * (GET /api/breakers, POST /api/breakers/{host}/reset), firing a schedule now (POST
 * /api/schedules/{name}/run); one action on many tasks is h_bulk.c's. Each parses,
 * calls one store verb of lib/store/console.c and answers; the admin-only ones are marked
 * ROUTE_ADMIN in routes.h. It must not hold a verb's semantics: SQL does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg/wake.h"
#include "handlers.h"
#include "query.h"
#include "resp.h"
#include "store/console.h"

/* Answers {"<key>": [records]} from a store call's array, or its error. */
static void answer_records(struct req *r, enum taskq_rc rc, const struct taskq_err *err,
			   const char *key, const struct record_type *t, void *v, int n,
			   size_t size)
{
	json_object *o;

	if (rc) {
		resp_error(r, err->rc, err->msg);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, key, records_to_json(t, v, n, size));
	resp_json(r, 200, o, NULL);
	records_free(t, v, n, size);
}

void h_workers(struct req *r)
{
	struct fleet_row *v = NULL;
	struct taskq_err err;
	int n = 0;
	enum taskq_rc rc = store_fleet(r->db, &v, &n, &err);

	answer_records(r, rc, &err, "workers", &fleet_record, v, n, sizeof *v);
}

void h_queue_series(struct req *r)
{
	struct series_point *v = NULL;
	struct taskq_err err;
	char range[QUERY_MAX_VALUE + 1];
	bool day;
	int n = 0;
	enum taskq_rc rc;

	if (!task_name_valid(r->cap[0])) {
		resp_error(r, TASKQ_INVAL,
			   "a queue name is 1-64 characters of letters, digits, '_', '.', ':' or "
			   "'-'");
		return;
	}
	day = query_get(r->query, "range", range) && !strcmp(range, "1d");
	/* a day in 5-minute buckets (288 points), an hour in minutes */
	rc = store_queue_series(r->db, r->cap[0], day ? 86400 : 3600, day ? 300 : 60, &v, &n, &err);
	answer_records(r, rc, &err, "points", &series_record, v, n, sizeof *v);
}

void h_breakers(struct req *r)
{
	struct breaker_info *v = NULL;
	struct taskq_err err;
	int n = 0;
	enum taskq_rc rc = store_breakers_list(r->db, &v, &n, &err);

	answer_records(r, rc, &err, "breakers", &breaker_record, v, n, sizeof *v);
}

void h_breaker_reset(struct req *r)
{
	struct taskq_err err;
	bool was;
	json_object *o;

	if (strlen(r->cap[0]) < 1 || strlen(r->cap[0]) > 300) {
		resp_error(r, TASKQ_INVAL, "a host is 1-300 characters");
		return;
	}
	if (store_breaker_reset(r->db, r->cap[0], &was, &err)) {
		resp_error(r, err.rc, err.msg);
		return;
	}
	wake_signal();
	o = json_object_new_object();
	json_object_object_add(o, "host", json_object_new_string(r->cap[0]));
	json_object_object_add(o, "was_unhealthy", json_object_new_boolean(was));
	json_object_object_add(o, "state", json_object_new_string("closed"));
	resp_json(r, 200, o, NULL);
}

void h_schedule_run(struct req *r)
{
	struct taskq_err err;
	char id[40];
	json_object *o;

	if (!task_name_valid(r->cap[0])) {
		resp_error(r, TASKQ_INVAL,
			   "a schedule name is 1-64 characters of letters, digits, '_', '.', ':' "
			   "or '-'");
		return;
	}
	if (store_schedule_run(r->db, r->cap[0], id, &err)) {
		resp_error(r, err.rc, err.msg);
		return;
	}
	wake_signal();
	o = json_object_new_object();
	json_object_object_add(o, "schedule", json_object_new_string(r->cap[0]));
	json_object_object_add(o, "task", json_object_new_string(id));
	resp_json(r, 202, o, NULL);
}
