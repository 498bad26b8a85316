/* output: the flusher of the running kinds' streamed output (see output.h). */
#include "output.h"

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
#include "base/utf8.h"
#include "base/xalloc.h"
#include "bgthread.h"
#include "model/task.h"
#include "store/output.h"

struct oslot {
	char id[TASK_ID_LEN + 1];
	int attempt;
	json_object *pending; /* array of the chunks not yet taken by a flush; owned; NULL: none */
	json_object *taken;   /* the chunks the flush under way writes; owned by the flusher */
	long sent;            /* octets posted in this attempt (pending, taken and written) */
	bool over;            /* chunks were dropped here past the cap: the flush reports it */
	bool taken_over;      /* idem, for the chunks taken */
	bool capped;          /* the cap is reached: the attempt's further output is dropped */
};

struct output {
	struct bgthread bg; /* bg.lock guards the slots and counts; bg.done: a flush written */
	struct oslot *slots;
	int nslots, ndirty, urgent;
	double last_flush;
	const char *worker;
	long cap;
};

/* Waits (lock held) until a flush is due; false when stopping with nothing to write. */
static bool wait_due(struct output *o)
{
	for (;;) {
		double due = o->last_flush + OUTPUT_FLUSH_S, now = clock_mono_s();
		struct timespec ts;
		long ns;

		if (o->ndirty == 0) {
			if (bg_stopping(&o->bg))
				return false;
			pthread_cond_wait(&o->bg.work, &o->bg.lock);
			continue;
		}
		if (o->urgent || bg_stopping(&o->bg) || now >= due)
			return true;
		clock_gettime(CLOCK_REALTIME, &ts);
		ns = ts.tv_nsec + (long)((due - now) * 1e9);
		ts.tv_sec += ns / 1000000000L;
		ts.tv_nsec = ns % 1000000000L;
		if (pthread_cond_timedwait(&o->bg.work, &o->bg.lock, &ts) == ETIMEDOUT)
			return true;
	}
}

/* A task whose output is capped now: the slot still running it drops what follows. */
static void on_capped(const char *id, void *ctx)
{
	struct output *o = ctx;

	pthread_mutex_lock(&o->bg.lock);
	for (int i = 0; i < o->nslots; i++)
		if (!strcmp(o->slots[i].id, id))
			o->slots[i].capped = true;
	pthread_mutex_unlock(&o->bg.lock);
}

/* Writes the taken chunks of every slot (lock not held). */
static void flush(struct output *o)
{
	const char **ids = xcalloc((size_t)o->nslots, sizeof *ids);
	int *atts = xcalloc((size_t)o->nslots, sizeof *atts), k = 0;
	bool *overs = xcalloc((size_t)o->nslots, sizeof *overs);
	json_object *chunks = json_object_new_array_ext(o->nslots);
	struct taskq_err err;

	for (int i = 0; i < o->nslots; i++) {
		struct oslot *s = &o->slots[i];
		if (!s->taken && !s->taken_over)
			continue;
		ids[k] = s->id;
		atts[k] = s->attempt;
		overs[k++] = s->taken_over;
		json_object_array_add(chunks, s->taken ? json_object_get(s->taken)
						       : json_object_new_array());
	}
	if (k > 0 &&
	    store_output_many(o->bg.db, o->worker, ids, atts, overs, k,
			      json_object_to_json_string_ext(chunks, JSON_C_TO_STRING_PLAIN),
			      o->cap, on_capped, o, &err) != TASKQ_OK)
		/* a live view, best effort: the task's outcome does not depend on it */
		log_warn("event=output_failed tasks=%d msg=\"%s\"", k, err.msg);
	json_object_put(chunks);
	free(ids);
	free(atts);
	free(overs);
}

static void *output_main(void *arg)
{
	struct output *o = arg;

	pthread_mutex_lock(&o->bg.lock);
	while (wait_due(o)) {
		for (int i = 0; i < o->nslots; i++) {
			struct oslot *s = &o->slots[i];
			s->taken = s->pending;
			s->taken_over = s->over;
			s->pending = NULL;
			s->over = false;
		}
		o->ndirty = 0;
		o->last_flush = clock_mono_s();
		pthread_mutex_unlock(&o->bg.lock);
		flush(o);
		pthread_mutex_lock(&o->bg.lock);
		for (int i = 0; i < o->nslots; i++) {
			json_object_put(o->slots[i].taken);
			o->slots[i].taken = NULL;
			o->slots[i].taken_over = false;
		}
		pthread_cond_broadcast(&o->bg.done);
	}
	pthread_mutex_unlock(&o->bg.lock);
	return NULL;
}

struct output *output_start(const char *conninfo, const char *worker, int nslots, long cap)
{
	struct output *o = xmalloc(sizeof *o);

	*o = (struct output){.slots = xcalloc((size_t)nslots, sizeof *o->slots),
			     .nslots = nslots,
			     .worker = worker,
			     .cap = cap};
	bg_start(&o->bg, conninfo, "taskq-worker-output", DB_GENERIC_PLANS | DB_ASYNC_COMMIT,
		 output_main, o);
	return o;
}

void output_stop(struct output *o)
{
	bg_stop(&o->bg);
	for (int i = 0; i < o->nslots; i++)
		json_object_put(o->slots[i].pending);
	free(o->slots);
	free(o);
}

/* text as PostgreSQL stores it: valid UTF-8 (U+FFFD for each invalid byte), no NUL. */
static json_object *clean_chunk(const char *text, size_t len, size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)text;
	char *buf = xmalloc(len * 3 + 1);
	size_t i = 0, n = 0;
	json_object *v;

	while (i < len) {
		size_t c = utf8_char_len(s + i, len - i);
		if (s[i] == 0) {
			i++;
		} else if (c == 0) {
			memcpy(buf + n, "\xef\xbf\xbd", 3);
			n += 3;
			i++;
		} else {
			memcpy(buf + n, s + i, c);
			n += c;
			i += c;
		}
	}
	v = json_object_new_string_len(buf, (int)n);
	free(buf);
	*outlen = n;
	return v;
}

void output_post(struct output *o, int slot, const struct holder *h, const char *text, size_t len)
{
	struct oslot *s = &o->slots[slot];
	size_t n;
	json_object *chunk;

	if (len == 0)
		return;
	chunk = clean_chunk(text, len, &n);
	pthread_mutex_lock(&o->bg.lock);
	if (strcmp(s->id, h->id) != 0 || s->attempt != h->attempt) {
		/* the executor runs another attempt: what the last one left was written by its
		 * settle; what a flush under way still holds of it is the flusher's */
		snprintf(s->id, sizeof s->id, "%s", h->id);
		s->attempt = h->attempt;
		s->sent = 0;
		s->capped = s->over = false;
	}
	if (s->capped) {
		json_object_put(chunk);
	} else {
		if (s->sent + (long)n > o->cap) {
			/* past the cap already in this attempt: dropped here, reported by the SQL */
			json_object_put(chunk);
			s->capped = s->over = true;
		} else {
			if (!s->pending)
				s->pending = json_object_new_array();
			json_object_array_add(s->pending, chunk);
			s->sent += (long)n;
		}
		if (o->ndirty++ == 0)
			pthread_cond_signal(&o->bg.work);
	}
	pthread_mutex_unlock(&o->bg.lock);
}

void output_settle(struct output *o, int slot)
{
	struct oslot *s = &o->slots[slot];

	pthread_mutex_lock(&o->bg.lock);
	if (s->pending || s->over || s->taken || s->taken_over) {
		o->urgent++;
		pthread_cond_signal(&o->bg.work);
		while (s->pending || s->over || s->taken || s->taken_over)
			pthread_cond_wait(&o->bg.done, &o->bg.lock);
		o->urgent--;
	}
	pthread_mutex_unlock(&o->bg.lock);
}
