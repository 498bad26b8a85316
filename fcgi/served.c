/* served: the cached set of queues the live workers serve (see served.h). */
#include "served.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "model/taskjson.h"
#include "store/metrics.h"

#define SERVED_TTL_S 1.0
#define SERVED_STALE_S 10.0 /* past this, a set that could not be read again says nothing */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct served_queue *g_set;
static int g_n;
static double g_loaded_at = -1e9; /* when the set was read */
static double g_tried_at = -1e9;  /* when a read was last started */

void served_refresh(struct db *db)
{
	struct served_queue *set;
	struct taskq_err err;
	double now = clock_mono_s();
	int n;

	pthread_mutex_lock(&g_lock);
	if (now - g_tried_at < SERVED_TTL_S) {
		pthread_mutex_unlock(&g_lock);
		return;
	}
	g_tried_at = now; /* one reader at a time, one read a second */
	pthread_mutex_unlock(&g_lock);
	if (store_served_queues(db, &set, &n, &err)) {
		log_debug("event=served_queues_failed msg=\"%s\"", err.msg);
		return;
	}
	pthread_mutex_lock(&g_lock);
	store_served_free(g_set, g_n);
	g_set = set;
	g_n = n;
	g_loaded_at = clock_mono_s();
	pthread_mutex_unlock(&g_lock);
}

/* True when the set is fresh enough and queue is not in it. Caller holds g_lock. */
static bool do_unserved(const char *queue)
{
	if (!queue || clock_mono_s() - g_loaded_at > SERVED_STALE_S)
		return false;
	for (int i = 0; i < g_n; i++)
		if (!strcmp(g_set[i].queue, queue))
			return false;
	return true;
}

json_object *served_task_json(const struct task *t)
{
	json_object *o = taskjson_encode(t);
	bool unserved = false;

	if (t->state == TASK_QUEUED) {
		pthread_mutex_lock(&g_lock);
		unserved = do_unserved(t->queue);
		pthread_mutex_unlock(&g_lock);
	}
	if (unserved)
		taskjson_note_unserved(o, t);
	return o;
}

json_object *served_task_list_json(const struct task_list *l)
{
	return taskjson_encode_list(l, served_task_json);
}

bool served_any_queued(const struct task_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].state == TASK_QUEUED)
			return true;
	return false;
}

void served_free(void)
{
	pthread_mutex_lock(&g_lock);
	store_served_free(g_set, g_n);
	g_set = NULL;
	g_n = 0;
	pthread_mutex_unlock(&g_lock);
}
