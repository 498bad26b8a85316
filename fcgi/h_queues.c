/* h_queues: GET /api/queues — per-queue counts, oldest queued age, finished in the last
 * minute. For admins the answer is one pass over the tasks table, so it is cached for a
 * second and shared by every request thread: a wall of dashboards costs the database one
 * query a second. An owner sees the counts of its own tasks (read through its index). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "handlers.h"
#include "resp.h"
#include "store/tasks.h"
#include "model/taskjson.h"
#include "base/xalloc.h"

#define QUEUES_CACHE_S 1.0

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_cached; /* JSON text */
static double g_cached_at = -1e9;

void h_queues(struct req *r)
{
	struct queue_stat *q;
	struct taskq_err err;
	json_object *o;
	int n;

	if (!r->who.admin) {
		if (store_queues(r->db, r->who.owner, &q, &n, &err)) {
			resp_error(r, err.rc, err.msg);
			return;
		}
		resp_json(r, 200, taskjson_encode_queues(q, n), NULL);
		queue_stats_free(q, n);
		return;
	}
	pthread_mutex_lock(&g_lock);
	if (clock_mono_s() - g_cached_at > QUEUES_CACHE_S) {
		if (store_queues(r->db, NULL, &q, &n, &err)) {
			pthread_mutex_unlock(&g_lock);
			resp_error(r, err.rc, err.msg);
			return;
		}
		o = taskjson_encode_queues(q, n);
		free(g_cached);
		g_cached = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		g_cached_at = clock_mono_s();
		json_object_put(o);
		queue_stats_free(q, n);
	}
	o = json_tokener_parse(g_cached);
	pthread_mutex_unlock(&g_lock);
	resp_json(r, 200, o, NULL);
}
