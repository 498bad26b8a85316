/* h_queues: GET /api/queues — per-queue counts, oldest queued age, finished in the last
 * minute, whether it is paused, and the upstream hosts of the http kind that asked the
 * workers to wait; POST /api/queues/{name}/pause and /resume (admins). For admins
 * the answer is one pass over the tasks table, so it is cached for a second and shared by
 * every request thread: a wall of dashboards costs the database one query a second. An owner
 * sees the counts of its own tasks (read through its index), and only the throttled hosts its
 * own queued tasks wait for. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "handlers.h"
#include "resp.h"
#include "store/breakers.h"
#include "store/tasks.h"
#include "model/taskjson.h"
#include "base/xalloc.h"

#define QUEUES_CACHE_S 1.0

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_cached; /* JSON text */
static double g_cached_at = -1e9;

/* The answer for owner (NULL: every owner's), or NULL with *err filled. */
static json_object *read_queues(struct db *db, const char *owner, struct taskq_err *err)
{
	struct queue_stat *q;
	struct throttle_stat *t;
	json_object *o;
	int n, nt;

	if (store_queues(db, owner, &q, &n, err))
		return NULL;
	if (store_upstream_throttles(db, owner, &t, &nt, err)) {
		queue_stats_free(q, n);
		return NULL;
	}
	o = taskjson_encode_queues(q, n);
	taskjson_add_throttles(o, t, nt);
	queue_stats_free(q, n);
	throttle_stats_free(t, nt);
	return o;
}

void h_queues(struct req *r)
{
	struct taskq_err err;
	json_object *o;

	if (!r->who.admin) {
		if (!(o = read_queues(r->db, r->who.owner, &err))) {
			resp_error(r, err.rc, err.msg);
			return;
		}
		resp_json(r, 200, o, NULL);
		return;
	}
	pthread_mutex_lock(&g_lock);
	if (clock_mono_s() - g_cached_at > QUEUES_CACHE_S) {
		if (!(o = read_queues(r->db, NULL, &err))) {
			pthread_mutex_unlock(&g_lock);
			resp_error(r, err.rc, err.msg);
			return;
		}
		free(g_cached);
		g_cached = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		g_cached_at = clock_mono_s();
		json_object_put(o);
	}
	o = json_tokener_parse(g_cached);
	pthread_mutex_unlock(&g_lock);
	resp_json(r, 200, o, NULL);
}

/* POST /api/queues/{name}/pause (pause) or /resume: 200 {"queue","paused","changed"}; the
 * pause answers once no claim can start a task of the queue any more (taskq.pause_queue). */
static void pause_or_resume(struct req *r, bool pause)
{
	struct taskq_err err;
	json_object *o;
	bool changed;

	if (!task_name_valid(r->cap[0])) {
		resp_error(
			r, TASKQ_INVAL,
			"queue must be 1-64 characters of letters, digits, '_', '.', ':' or '-'");
		return;
	}
	if (store_pause_queue(r->db, r->cap[0], r->who.owner, pause, &changed, &err)) {
		resp_error(r, err.rc, err.msg);
		return;
	}
	pthread_mutex_lock(&g_lock);
	g_cached_at = -1e9; /* the next GET /api/queues shows it */
	pthread_mutex_unlock(&g_lock);
	o = json_object_new_object();
	json_object_object_add(o, "queue", json_object_new_string(r->cap[0]));
	json_object_object_add(o, "paused", json_object_new_boolean(pause));
	json_object_object_add(o, "changed", json_object_new_boolean(changed));
	resp_json(r, 200, o, NULL);
}

void h_queue_pause(struct req *r)
{
	pause_or_resume(r, true);
}

void h_queue_resume(struct req *r)
{
	pause_or_resume(r, false);
}
