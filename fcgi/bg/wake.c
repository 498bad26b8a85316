/* wake: the NOTIFY coalescing thread. */
#include "wake.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "model/task.h"
#include "store/live.h"

/* ids waiting to be announced, at most this many bytes (about 27,000 ids: a database away
 * for a while); more are not announced (the live feed misses them, nothing else does) */
#define IDS_MAX (1 << 20)

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static bool g_pending, g_stopping, g_started;
static pthread_t g_thread;
static struct db *g_db;
static atomic_long g_gap_ms = 1;
/* the ids to announce with the next wake-up: comma-separated, NUL-terminated; owned */
static char *g_ids;
static size_t g_len, g_cap;

void wake_set_gap(long ms)
{
	atomic_store(&g_gap_ms, ms);
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void *wake_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct taskq_err err;
		enum taskq_rc rc;
		char *ids;
		bool stop;

		pthread_mutex_lock(&g_lock);
		while (!g_pending && !g_stopping)
			pthread_cond_wait(&g_cond, &g_lock);
		stop = g_stopping && !g_pending;
		g_pending = false;
		ids = g_ids; /* taken: the next ones start a new list */
		g_ids = NULL;
		g_len = g_cap = 0;
		pthread_mutex_unlock(&g_lock);
		if (stop)
			break;
		rc = store_wake_announce(g_db, ids ? ids : "", &err);
		free(ids); /* announced, or lost with a failed wake-up (the live feed misses them) */
		if (rc != TASKQ_OK) {
			log_debug("event=wake_failed msg=\"%s\"", err.msg);
			pause_ms(100); /* the workers' poll covers the gap */
			continue;
		}
		pause_ms(atomic_load(&g_gap_ms));
	}
	return NULL;
}

void wake_start(const char *conninfo)
{
	g_db = store_open(conninfo, "taskq-fcgi-wake");
	/* its transactions only NOTIFY: nothing in them must survive a crash, so their commits
	 * need not wait for the disk while they hold the NOTIFY lock */
	db_session(g_db, DB_ASYNC_COMMIT);
	g_started = pthread_create(&g_thread, NULL, wake_main, NULL) == 0;
	if (!g_started)
		log_error("event=wake_thread_failed");
}

void wake_signal(void)
{
	pthread_mutex_lock(&g_lock);
	if (!g_pending) {
		g_pending = true;
		pthread_cond_signal(&g_cond);
	}
	pthread_mutex_unlock(&g_lock);
}

void wake_announce(const char *const *ids, int n)
{
	size_t need = (size_t)n * (TASK_ID_LEN + 1);

	pthread_mutex_lock(&g_lock);
	if (g_len + need + 1 <= IDS_MAX) {
		if (g_len + need + 1 > g_cap) {
			while (g_len + need + 1 > g_cap)
				g_cap = g_cap ? g_cap * 2 : 4096;
			g_ids = xrealloc(g_ids, g_cap);
		}
		for (int i = 0; i < n; i++) {
			if (g_len)
				g_ids[g_len++] = ',';
			memcpy(g_ids + g_len, ids[i], TASK_ID_LEN);
			g_len += TASK_ID_LEN;
		}
		g_ids[g_len] = '\0';
	}
	if (!g_pending) {
		g_pending = true;
		pthread_cond_signal(&g_cond);
	}
	pthread_mutex_unlock(&g_lock);
}

void wake_stop(void)
{
	if (!g_started)
		return;
	pthread_mutex_lock(&g_lock);
	g_stopping = true;
	pthread_cond_signal(&g_cond);
	pthread_mutex_unlock(&g_lock);
	pthread_join(g_thread, NULL);
	free(g_ids);
	g_ids = NULL;
	db_free(g_db);
	g_db = NULL;
	g_started = false;
}
