/* announce: the announcer thread (see announce.h). */
#include "announce.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "bgthread.h"
#include "model/task.h"
#include "store/live.h"

/* Ids waiting beyond this (the database is away) are dropped: an announcement only saves a
 * watcher a wait; the task itself is in the database. */
#define PENDING_MAX 65536

typedef char task_id[TASK_ID_LEN + 1];

static struct {
	struct bgthread bg;
	task_id *pending, *sending;
	int n, cap;
	bool started, dropping;
} g;

/* Sends ids[0..n); the lock is not held. */
static void send_ids(task_id *ids, int n)
{
	const char **v = xmalloc((size_t)n * sizeof *v);
	struct taskq_err err;

	for (int i = 0; i < n; i++)
		v[i] = ids[i];
	if (store_announce(g.bg.db, v, n, &err))
		log_warn("event=announce_failed tasks=%d msg=\"%s\"", n, err.msg);
	free(v);
}

static void *announce_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g.bg.lock);
	for (;;) {
		task_id *batch;
		int n;

		while (g.n == 0 && !bg_stopping(&g.bg))
			pthread_cond_wait(&g.bg.work, &g.bg.lock);
		if (g.n == 0)
			break;
		batch = g.pending;
		n = g.n;
		g.pending = g.sending;
		g.sending = batch;
		g.n = 0;
		g.dropping = false;
		pthread_mutex_unlock(&g.bg.lock);
		send_ids(batch, n);
		pthread_mutex_lock(&g.bg.lock);
	}
	pthread_mutex_unlock(&g.bg.lock);
	return NULL;
}

void announce_start(const char *conninfo)
{
	g.cap = PENDING_MAX;
	g.pending = xcalloc((size_t)g.cap, sizeof *g.pending);
	g.sending = xcalloc((size_t)g.cap, sizeof *g.sending);
	bg_start(&g.bg, conninfo, "taskq-worker-announce", DB_GENERIC_PLANS | DB_ASYNC_COMMIT,
		 announce_main, NULL);
	g.started = true;
}

void announce_stop(void)
{
	if (!g.started)
		return;
	bg_stop(&g.bg);
	free(g.pending);
	free(g.sending);
	memset(&g, 0, sizeof g);
}

void announce_ids(const char *const *ids, int n)
{
	if (!g.started || n <= 0)
		return;
	pthread_mutex_lock(&g.bg.lock);
	for (int i = 0; i < n; i++) {
		if (g.n == g.cap) {
			if (!g.dropping)
				log_warn("event=announce_dropped pending=%d", g.n);
			g.dropping = true;
			break;
		}
		snprintf(g.pending[g.n++], sizeof(task_id), "%s", ids[i]);
	}
	pthread_cond_signal(&g.bg.work);
	pthread_mutex_unlock(&g.bg.lock);
}

void announce_id(const char *id)
{
	announce_ids(&id, 1);
}
