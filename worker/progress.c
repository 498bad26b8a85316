/* progress: the flusher of the running kinds' progress (see progress.h). */
#include "progress.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "model/task.h"
#include "store/live.h"

struct slot {
	char id[TASK_ID_LEN + 1];
	int attempt, pct;
	char *msg;    /* owned; NULL: none */
	bool dirty;   /* posted, not yet taken by a flush */
	bool writing; /* taken by the flush under way */
	bool held;    /* set by the flush's answer */
	bool cancel;  /* idem */
};

struct progress {
	pthread_mutex_t lock;
	pthread_cond_t work, written;
	struct slot *slots;
	int nslots, ndirty, urgent; /* urgent: threads waiting in progress_settle */
	bool stopping;
	double last_flush;
	pthread_t thread;
	struct db *db;
	const char *worker;
	int lease_s;
	progress_verdict_fn verdict;
	void *ctx;
};

static void on_held(const char *id, bool cancel, void *ctx)
{
	struct progress *pg = ctx;

	/* the flusher's own thread; the slots being written are not touched by posts */
	for (int i = 0; i < pg->nslots; i++)
		if (pg->slots[i].writing && !strcmp(pg->slots[i].id, id)) {
			pg->slots[i].held = true;
			pg->slots[i].cancel = cancel;
		}
}

/* Waits (lock held) until a flush is due: something posted, and PROGRESS_FLUSH_S since the
 * last flush unless a settle waits. Returns false when stopping with nothing to write. */
static bool wait_due(struct progress *pg)
{
	for (;;) {
		double due = pg->last_flush + PROGRESS_FLUSH_S, now = clock_mono_s();
		struct timespec ts;

		if (pg->ndirty == 0) {
			if (pg->stopping)
				return false;
			pthread_cond_wait(&pg->work, &pg->lock);
			continue;
		}
		if (pg->urgent || pg->stopping || now >= due)
			return true;
		clock_gettime(CLOCK_REALTIME, &ts);
		due -= now;
		ts.tv_sec += (time_t)due;
		ts.tv_nsec += (long)((due - (double)(time_t)due) * 1e9);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&pg->work, &pg->lock, &ts) == ETIMEDOUT)
			return true;
	}
}

/* One flush of the slots marked writing (n of them); lock not held. */
static void flush(struct progress *pg, int n)
{
	const char **ids = xcalloc((size_t)n, sizeof *ids);
	int *atts = xcalloc((size_t)n, sizeof *atts), *pcts = xcalloc((size_t)n, sizeof *pcts);
	json_object *msgs = json_object_new_array_ext(n);
	struct taskq_err err;
	int k = 0;

	for (int i = 0; i < pg->nslots; i++) {
		struct slot *s = &pg->slots[i];
		if (!s->writing)
			continue;
		ids[k] = s->id;
		atts[k] = s->attempt;
		pcts[k++] = s->pct;
		json_object_array_add(msgs, s->msg ? json_object_new_string(s->msg) : NULL);
	}
	if (store_progress_many(pg->db, pg->worker, ids, atts, pcts, k,
				json_object_to_json_string_ext(msgs, JSON_C_TO_STRING_PLAIN),
				pg->lease_s, on_held, pg, &err) != TASKQ_OK) {
		/* progress is best effort; the lease and the fenced completion keep it safe */
		log_warn("event=progress_failed tasks=%d msg=\"%s\"", k, err.msg);
		for (int i = 0; i < pg->nslots; i++)
			if (pg->slots[i].writing)
				pg->slots[i].held = true; /* unknown: no verdict */
	}
	for (int i = 0; i < pg->nslots; i++) {
		struct slot *s = &pg->slots[i];
		if (s->writing && (!s->held || s->cancel))
			pg->verdict(i, s->id, s->attempt, s->held ? 1 : -1, pg->ctx);
	}
	json_object_put(msgs);
	free(ids);
	free(atts);
	free(pcts);
}

static void *progress_main(void *arg)
{
	struct progress *pg = arg;

	pthread_mutex_lock(&pg->lock);
	while (wait_due(pg)) {
		int n = 0;

		for (int i = 0; i < pg->nslots; i++) {
			struct slot *s = &pg->slots[i];
			if (s->dirty) {
				s->dirty = false;
				s->writing = true;
				s->held = s->cancel = false;
				n++;
			}
		}
		pg->ndirty = 0;
		pg->last_flush = clock_mono_s();
		pthread_mutex_unlock(&pg->lock);
		flush(pg, n);
		pthread_mutex_lock(&pg->lock);
		for (int i = 0; i < pg->nslots; i++)
			pg->slots[i].writing = false;
		pthread_cond_broadcast(&pg->written);
	}
	pthread_mutex_unlock(&pg->lock);
	return NULL;
}

struct progress *progress_start(const char *conninfo, const char *worker, int nslots, int lease_s,
				progress_verdict_fn verdict, void *ctx)
{
	struct progress *pg = xcalloc(1, sizeof *pg);

	pthread_mutex_init(&pg->lock, NULL);
	pthread_cond_init(&pg->work, NULL);
	pthread_cond_init(&pg->written, NULL);
	pg->slots = xcalloc((size_t)nslots, sizeof *pg->slots);
	pg->nslots = nslots;
	pg->db = store_open(conninfo, "taskq-worker-progress");
	db_prefer_generic_plans(pg->db);
	pg->worker = worker;
	pg->lease_s = lease_s;
	pg->verdict = verdict;
	pg->ctx = ctx;
	if (pthread_create(&pg->thread, NULL, progress_main, pg) != 0) {
		db_free(pg->db);
		free(pg->slots);
		free(pg);
		return NULL;
	}
	return pg;
}

void progress_stop(struct progress *pg)
{
	if (!pg)
		return;
	pthread_mutex_lock(&pg->lock);
	pg->stopping = true;
	pthread_cond_signal(&pg->work);
	pthread_mutex_unlock(&pg->lock);
	pthread_join(pg->thread, NULL);
	db_free(pg->db);
	for (int i = 0; i < pg->nslots; i++)
		free(pg->slots[i].msg);
	free(pg->slots);
	pthread_cond_destroy(&pg->work);
	pthread_cond_destroy(&pg->written);
	pthread_mutex_destroy(&pg->lock);
	free(pg);
}

void progress_post(struct progress *pg, int slot, const struct holder *h, int pct, const char *msg)
{
	struct slot *s = &pg->slots[slot];
	char *copy = msg ? xstrdup(msg) : NULL;

	pthread_mutex_lock(&pg->lock);
	while (s->writing) /* its fields are being read by the flush */
		pthread_cond_wait(&pg->written, &pg->lock);
	snprintf(s->id, sizeof s->id, "%s", h->id);
	s->attempt = h->attempt;
	s->pct = pct;
	free(s->msg);
	s->msg = copy;
	if (!s->dirty) {
		s->dirty = true;
		if (pg->ndirty++ == 0)
			pthread_cond_signal(&pg->work);
	}
	pthread_mutex_unlock(&pg->lock);
}

void progress_settle(struct progress *pg, int slot)
{
	struct slot *s = &pg->slots[slot];

	pthread_mutex_lock(&pg->lock);
	if (s->dirty || s->writing) {
		pg->urgent++;
		pthread_cond_signal(&pg->work);
		while (s->dirty || s->writing)
			pthread_cond_wait(&pg->written, &pg->lock);
		pg->urgent--;
	}
	pthread_mutex_unlock(&pg->lock);
}
