/* h_health: GET /healthz — is this process able to reach PostgreSQL. */
#include <json-c/json.h>

#include "handlers.h"
#include "resp.h"
#include "store.h"

void h_healthz(struct req *r)
{
	struct taskq_err err;
	json_object *o = json_object_new_object();
	int ok = store_ping(r->db, &err) == TASKQ_OK;

	json_object_object_add(o, "status", json_object_new_string(ok ? "ok" : "error"));
	json_object_object_add(o, "database", json_object_new_string(ok ? "ok" : "unavailable"));
	resp_json(r, ok ? 200 : 503, o, ok ? NULL : "Retry-After: 1\r\n");
}
