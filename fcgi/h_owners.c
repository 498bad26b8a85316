/*
 * h_owners: /api/owners — owners' weights, their share of the task starts when owners compete
 * for workers (sql/schema/027_fair_shares.sql), for admin tokens. GET lists the owners that
 * have a weight of their own (any other has weight 1); PUT /api/owners/{owner}/weight
 * {"weight": W} sets one (0.01-100; 200). Must not place tasks: the fair place in line applies
 * the weights (sql/functions/submit.sql).
 */
#include <math.h>
#include <stdlib.h>

#include "body.h"
#include "handlers.h"
#include "resp.h"
#include "cred/token.h"
#include "store/shares.h"

static json_object *encode(const char *owner, double weight)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "owner", json_object_new_string(owner));
	json_object_object_add(o, "weight", json_object_new_double(weight));
	return o;
}

void h_owner_list(struct req *r)
{
	struct owner_weight *v;
	struct taskq_err err;
	json_object *o, *arr;
	int n;

	if (store_weight_list(r->db, &v, &n, &err)) {
		resp_error(r, err.rc, err.msg);
		return;
	}
	o = json_object_new_object();
	arr = json_object_new_array_ext(n);
	for (int i = 0; i < n; i++)
		json_object_array_add(arr, encode(v[i].owner, v[i].weight));
	json_object_object_add(o, "owners", arr);
	json_object_object_add(o, "default_weight", json_object_new_double(1));
	resp_json(r, 200, o, NULL);
	free(v);
}

void h_owner_weight_put(struct req *r)
{
	json_object *body, *w = NULL;
	struct taskq_err err;
	double weight;

	if (!token_owner_valid(r->cap[0])) {
		resp_error(r, TASKQ_INVAL,
			   "the path is /api/owners/{owner}/weight, owner 1-64 characters of "
			   "letters, digits, '_', '.', '@', ':' or '-'");
		return;
	}
	if (!body_read_json(r, &body))
		return;
	if (!json_object_is_type(body, json_type_object) || json_object_object_length(body) != 1 ||
	    !json_object_object_get_ex(body, "weight", &w) ||
	    (!json_object_is_type(w, json_type_int) && !json_object_is_type(w, json_type_double))) {
		resp_error(r, TASKQ_INVAL, "the body is {\"weight\": W}, W a number 0.01-100");
		goto out;
	}
	weight = json_object_get_double(w);
	if (!isfinite(weight) || weight < WEIGHT_MIN || weight > WEIGHT_MAX) {
		resp_error(r, TASKQ_INVAL, "weight must be 0.01-100 (1: an equal share)");
		goto out;
	}
	if (store_weight_put(r->db, r->cap[0], weight, &err)) {
		resp_error(r, err.rc, err.msg);
		goto out;
	}
	resp_json(r, 200, encode(r->cap[0], weight), NULL);
out:
	json_object_put(body);
}
