/*
 * h_limits: /api/rate_limits — limits on task starts per queue or per concurrency key
 * (sql/schema/013_rate_limits.sql), for admin tokens. GET lists them with the starts of their
 * current window; PUT /api/rate_limits/{queue|key}/{name} {"max_starts": N, "per_s": S}
 * sets one (201 new, 200 changed); DELETE removes one (204, or 404).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "handlers.h"
#include "resp.h"
#include "store/limits.h"

static json_object *encode(const char *scope, const char *name, int max_starts, double per_s,
			   long long recent)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "scope", json_object_new_string(scope));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "max_starts", json_object_new_int(max_starts));
	json_object_object_add(o, "per_s", json_object_new_double(per_s));
	if (recent >= 0)
		json_object_object_add(o, "recent_starts", json_object_new_int64(recent));
	return o;
}

/* The {scope}/{name} of the route; answers 400 and returns false when they are not valid. */
static bool path_limit(struct req *r)
{
	if ((strcmp(r->cap[0], "queue") && strcmp(r->cap[0], "key")) ||
	    !task_name_valid(r->cap[1])) {
		resp_error(r, TASKQ_INVAL,
			   "the path is /api/rate_limits/{queue|key}/{name}, name 1-64 "
			   "characters of letters, digits, '_', '.', ':' or '-'");
		return false;
	}
	return true;
}

void h_rate_list(struct req *r)
{
	struct rate_limit *v;
	struct taskq_err err;
	json_object *o, *arr;
	int n;

	if (store_rate_list(r->db, &v, &n, &err)) {
		resp_error(r, err.rc, err.msg);
		return;
	}
	o = json_object_new_object();
	arr = json_object_new_array_ext(n);
	for (int i = 0; i < n; i++)
		json_object_array_add(arr, encode(v[i].scope, v[i].name, v[i].max_starts,
						  v[i].per_s, v[i].recent));
	json_object_object_add(o, "rate_limits", arr);
	resp_json(r, 200, o, NULL);
	free(v);
}

void h_rate_put(struct req *r)
{
	json_object *body, *m = NULL, *per = NULL;
	struct taskq_err err;
	bool created;
	double per_s;
	int64_t max;

	if (!path_limit(r) || !body_read_json(r, &body))
		return;
	if (!json_object_is_type(body, json_type_object) || json_object_object_length(body) != 2 ||
	    !json_object_object_get_ex(body, "max_starts", &m) ||
	    !json_object_object_get_ex(body, "per_s", &per) ||
	    !json_object_is_type(m, json_type_int) ||
	    (!json_object_is_type(per, json_type_int) &&
	     !json_object_is_type(per, json_type_double))) {
		resp_error(r, TASKQ_INVAL, "the body is {\"max_starts\": N, \"per_s\": S}");
		goto out;
	}
	max = json_object_get_int64(m);
	per_s = json_object_get_double(per);
	if (max < 1 || max > 100000 || !isfinite(per_s) || per_s < 0.001 || per_s > 86400) {
		resp_error(r, TASKQ_INVAL, "max_starts must be 1-100000 and per_s 0.001-86400");
		goto out;
	}
	if (store_rate_put(r->db, r->cap[0], r->cap[1], (int)max, per_s, &created, &err)) {
		resp_error(r, err.rc, err.msg);
		goto out;
	}
	resp_json(r, created ? 201 : 200, encode(r->cap[0], r->cap[1], (int)max, per_s, -1), NULL);
out:
	json_object_put(body);
}

void h_rate_delete(struct req *r)
{
	struct taskq_err err;

	if (!path_limit(r))
		return;
	if (store_rate_delete(r->db, r->cap[0], r->cap[1], &err))
		resp_error(r, err.rc, err.msg);
	else
		resp_empty(r, 204, NULL);
}
