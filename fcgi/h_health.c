/* h_health: GET /healthz — can this process reach PostgreSQL, and how many workers are
 * alive (heartbeat in the last minute). "ok" needs the database; no live worker is reported,
 * not an error, so that a web host stays in its load balancer while workers restart. */
#include <json-c/json.h>

#include "handlers.h"
#include "resp.h"
#include "store/metrics.h"

void h_healthz(struct req *r)
{
	struct taskq_err err;
	json_object *o = json_object_new_object();
	int workers = 0, ok = store_live_workers(r->db, &workers, &err) == TASKQ_OK;

	json_object_object_add(o, "status", json_object_new_string(ok ? "ok" : "error"));
	json_object_object_add(o, "database", json_object_new_string(ok ? "ok" : "unavailable"));
	json_object_object_add(o, "workers", ok ? json_object_new_int(workers) : NULL);
	resp_json(r, ok ? 200 : 503, o, ok ? NULL : "Retry-After: 1\r\n");
}
