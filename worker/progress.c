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

#include "announce.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "bgthread.h"
#include "model/task.h"

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
	struct bgthread bg; /* bg.lock guards the slots and counts; bg.done: a flush written */
	struct slot *slots;
	int nslots, ndirty, urgent; /* urgent: threads waiting in progress_settle */
	double last_flush;
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
			if (bg_stopping(&pg->bg))
				return false;
			pthread_cond_wait(&pg->bg.work, &pg->bg.lock);
			continue;
		}
		if (pg->urgent || bg_stopping(&pg->bg) || now >= due)
			return true;
		clock_gettime(CLOCK_REALTIME, &ts);
		due -= now;
		ts.tv_sec += (time_t)due;
		ts.tv_nsec += (long)((due - (double)(time_t)due) * 1e9);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&pg->bg.work, &pg->bg.lock, &ts) == ETIMEDOUT)
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
	if (store_progress_many(pg->bg.db, pg->worker, ids, atts, pcts, k,
				json_object_to_json_string_ext(msgs, JSON_C_TO_STRING_PLAIN),
				pg->lease_s, on_held, pg, &err) != TASKQ_OK) {
		/* progress is best effort; the lease and the fenced completion keep it safe */
		log_warn("event=progress_failed tasks=%d msg=\"%s\"", k, err.msg);
		for (int i = 0; i < pg->nslots; i++)
			if (pg->slots[i].writing)
				pg->slots[i].held = true; /* unknown: no verdict */
	} else {
		announce_ids(ids, k);
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

	pthread_mutex_lock(&pg->bg.lock);
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
		pthread_mutex_unlock(&pg->bg.lock);
		flush(pg, n);
		pthread_mutex_lock(&pg->bg.lock);
		for (int i = 0; i < pg->nslots; i++)
			pg->slots[i].writing = false;
		pthread_cond_broadcast(&pg->bg.done);
	}
	pthread_mutex_unlock(&pg->bg.lock);
	return NULL;
}

struct progress *progress_start(const char *conninfo, const char *worker, int nslots, int lease_s,
				progress_verdict_fn verdict, void *ctx)
{
	struct progress *pg = xmalloc(sizeof *pg);

	*pg = (struct progress){.slots = xcalloc((size_t)nslots, sizeof *pg->slots),
				.nslots = nslots,
				.worker = worker,
				.lease_s = lease_s,
				.verdict = verdict,
				.ctx = ctx};
	bg_start(&pg->bg, conninfo, "taskq-worker-progress", DB_GENERIC_PLANS | DB_ANNOUNCE_LATER,
		 progress_main, pg);
	return pg;
}

void progress_stop(struct progress *pg)
{
	bg_stop(&pg->bg);
	for (int i = 0; i < pg->nslots; i++)
		free(pg->slots[i].msg);
	free(pg->slots);
	free(pg);
}

void progress_post(struct progress *pg, int slot, const struct holder *h, int pct, const char *msg)
{
	struct slot *s = &pg->slots[slot];
	char *copy = msg ? xstrdup(msg) : NULL;

	pthread_mutex_lock(&pg->bg.lock);
	while (s->writing) /* its fields are being read by the flush */
		pthread_cond_wait(&pg->bg.done, &pg->bg.lock);
	snprintf(s->id, sizeof s->id, "%s", h->id);
	s->attempt = h->attempt;
	s->pct = pct;
	free(s->msg);
	s->msg = copy;
	if (!s->dirty) {
		s->dirty = true;
		if (pg->ndirty++ == 0)
			pthread_cond_signal(&pg->bg.work);
	}
	pthread_mutex_unlock(&pg->bg.lock);
}

void progress_settle(struct progress *pg, int slot)
{
	struct slot *s = &pg->slots[slot];

	pthread_mutex_lock(&pg->bg.lock);
	if (s->dirty || s->writing) {
		pg->urgent++;
		pthread_cond_signal(&pg->bg.work);
		while (s->dirty || s->writing)
			pthread_cond_wait(&pg->bg.done, &pg->bg.lock);
		pg->urgent--;
	}
	pthread_mutex_unlock(&pg->bg.lock);
}
