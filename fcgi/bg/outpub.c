/* outpub: the output streams' channels and what goes to them (see outpub.h). */
#include "outpub.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "nchan.h"
#include "publish.h"
#include "store/live.h"
#include "store/output.h"

#define OUT_BATCH 512   /* chunks read for one task in one round */
#define OUT_IDLE_S 60.0 /* no subscriber found since this long: no longer fed */
#define OUT_CLOSE_S 1.0 /* after a final state: the channel ends then (see publish.c) */

struct owatch {
	char id[TASK_ID_LEN + 1];
	long long published; /* the last seq sent to the channel; -1: adopted, none yet */
	bool opened;         /* the channel has had its first message from this process */
	bool marked;         /* announced: read at the next flush */
	double heard;        /* when a subscriber was last known to listen */
	bool quiet;          /* the last post found no subscriber (adopted: none known) */
	double close_at;     /* the final state was seen: the channel is deleted then; 0: open */
};

static struct {
	pthread_mutex_t lock;
	struct owatch *w;
	int n, cap;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Caller holds g.lock. */
static int find(const char *id)
{
	for (int i = 0; i < g.n; i++)
		if (!strcmp(g.w[i].id, id))
			return i;
	return -1;
}

/* The entry for id, added when missing. Caller holds g.lock. */
static struct owatch *watch(const char *id)
{
	int i = find(id);

	if (i < 0) {
		i = xpush(&g.w, &g.n, &g.cap, sizeof *g.w, 32);
		snprintf(g.w[i].id, sizeof g.w[i].id, "%s", id);
	}
	g.w[i].heard = clock_mono_s();
	g.w[i].quiet = false;
	return &g.w[i];
}

/* Posts o (put here) to w's channel. Caller holds g.lock. */
static void post_json(struct owatch *w, json_object *o)
{
	char channel[64];
	size_t len;
	const char *text = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	snprintf(channel, sizeof channel, "output.%s", w->id);
	w->quiet = nchan_post(channel, text, len) <= 0;
	if (!w->quiet)
		w->heard = clock_mono_s();
	json_object_put(o);
}

/* Posts chunk c to w's channel unless it went out already. Caller holds g.lock. */
static void post_chunk(struct owatch *w, const struct out_chunk *c)
{
	json_object *o;

	if (c->seq <= w->published)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "seq", json_object_new_int64(c->seq));
	json_object_object_add(o, "attempt", json_object_new_int(c->attempt));
	json_object_object_add(o, "data", json_object_new_string(c->data));
	json_object_object_add(o, "at", c->at ? json_object_new_string(c->at) : NULL);
	if (c->truncated)
		json_object_object_add(o, "truncated", json_object_new_boolean(true));
	post_json(w, o);
	w->published = c->seq;
	w->opened = true;
}

void outpub_subscribed(const struct task *t, struct db *db)
{
	struct out_chunk *rows = NULL;
	struct taskq_err err;
	struct owatch *w;
	long long last = 0, after;
	const char *ids[1] = {t->id};
	char note[400];
	bool open;
	int n = 0;

	if (!publish_enabled())
		return;
	pthread_mutex_lock(&g.lock);
	open = !watch(t->id)->opened;
	pthread_mutex_unlock(&g.lock);
	if (open && store_output_page(db, t->id, 0, 1, &rows, &n, &err) == TASKQ_OK && n > 0)
		last = rows[0].last_seq;
	store_output_free(rows, n);
	rows = NULL;
	n = 0;
	after = last > OUT_BACKLOG ? last - OUT_BACKLOG : 0;
	if (open && last > 0 &&
	    store_output_since(db, ids, &after, 1, OUT_BACKLOG, &rows, &n, &err) != TASKQ_OK)
		log_warn("event=output_read_failed msg=\"%s\"", err.msg);
	pthread_mutex_lock(&g.lock);
	w = watch(t->id);
	if (!w->opened) {
		if (w->published < after)
			w->published = after; /* the older chunks: GET /output */
		for (int i = 0; i < n; i++)
			if (rows[i].seq > 0)
				post_chunk(w, &rows[i]);
		if (!w->opened) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "seq", json_object_new_int(0));
			post_json(w, o);
			w->opened = true;
		}
	}
	if (task_state_final(t->state) && w->close_at == 0)
		w->close_at = clock_mono_s() + OUT_CLOSE_S;
	snprintf(note, sizeof note, "%s|output|%s|%lld", publish_key(), w->id, w->published);
	pthread_mutex_unlock(&g.lock);
	store_output_free(rows, n);
	/* the publisher of this nginx (maybe another process) feeds the channel from here */
	if (store_watch_note(db, note, &err))
		log_warn("event=watch_note_failed msg=\"%s\"", err.msg);
}

void outpub_adopt(const struct task_list *l)
{
	pthread_mutex_lock(&g.lock);
	for (size_t k = 0; k < l->n; k++) {
		struct owatch *w = watch(l->v[k].id);
		if (!w->opened) {
			w->opened = w->marked = w->quiet = true;
			w->published = -1;
		}
	}
	pthread_mutex_unlock(&g.lock);
}

void outpub_note(const char *payload)
{
	const char *key = publish_key(), *p;
	size_t klen = strlen(key);
	char id[TASK_ID_LEN + 1];

	/* "<key>|output|<id>|<seq>" */
	if (strncmp(payload, key, klen) || strncmp(payload + klen, "|output|", 8))
		return;
	p = payload + klen + 8;
	if (strlen(p) < TASK_ID_LEN + 2 || p[TASK_ID_LEN] != '|')
		return;
	memcpy(id, p, TASK_ID_LEN);
	id[TASK_ID_LEN] = '\0';
	if (!task_id_valid(id))
		return;
	pthread_mutex_lock(&g.lock);
	{
		struct owatch *w = watch(id);
		long long seq = strtoll(p + TASK_ID_LEN + 1, NULL, 10);
		if (seq > w->published)
			w->published = seq;
		w->opened = true;
		w->marked = true;
	}
	pthread_mutex_unlock(&g.lock);
}

void outpub_announced(const char *payload, bool all)
{
	pthread_mutex_lock(&g.lock);
	for (int i = 0; i < g.n && all; i++)
		g.w[i].marked = true;
	for (const char *p = payload; g.n > 0 && !all && *p;) {
		size_t n = strcspn(p, ",");
		char id[TASK_ID_LEN + 1];
		int i;

		if (n == TASK_ID_LEN) {
			memcpy(id, p, TASK_ID_LEN);
			id[TASK_ID_LEN] = '\0';
			if ((i = find(id)) >= 0)
				g.w[i].marked = true;
		}
		p += n + (p[n] == ',');
	}
	pthread_mutex_unlock(&g.lock);
}

void outpub_flush(struct db *db)
{
	const char **ids;
	long long *afters;
	struct out_chunk *rows = NULL;
	struct taskq_err err;
	int n = 0, nrows = 0;

	pthread_mutex_lock(&g.lock);
	ids = xcalloc((size_t)g.n + 1, sizeof *ids);
	afters = xcalloc((size_t)g.n + 1, sizeof *afters);
	for (int i = 0; i < g.n; i++)
		if (g.w[i].marked && g.w[i].opened) {
			g.w[i].marked = false;
			ids[n] = xstrdup(g.w[i].id);
			afters[n++] = g.w[i].published;
		}
	pthread_mutex_unlock(&g.lock);
	if (n > 0 && store_output_since(db, ids, afters, n, OUT_BATCH, &rows, &nrows, &err))
		log_warn("event=output_read_failed msg=\"%s\"", err.msg);
	pthread_mutex_lock(&g.lock);
	for (int r = 0; r < nrows;) {
		int i = find(rows[r].task_id), k = r;

		if (i >= 0 && g.w[i].published < 0)
			g.w[i].published = rows[r].seq > 0 ? rows[r].seq - 1 : rows[r].last_seq;
		for (; k < nrows && !strcmp(rows[k].task_id, rows[r].task_id); k++)
			if (i >= 0 && rows[k].seq > 0)
				post_chunk(&g.w[i], &rows[k]);
		if (i >= 0 && k - r >= OUT_BATCH)
			g.w[i].marked = true; /* more to read: the next round */
		else if (i >= 0 && g.w[i].close_at == 0 &&
			 (!rows[r].state || task_state_final(task_state_parse(rows[r].state))))
			g.w[i].close_at = clock_mono_s() + OUT_CLOSE_S;
		r = k;
	}
	pthread_mutex_unlock(&g.lock);
	store_output_free(rows, nrows);
	for (int i = 0; i < n; i++)
		free((char *)ids[i]);
	free(ids);
	free(afters);
}

double outpub_due(void)
{
	double now = clock_mono_s(), next = OUT_IDLE_S;
	char channel[64];

	pthread_mutex_lock(&g.lock);
	for (int i = 0; i < g.n;) {
		struct owatch *w = &g.w[i];

		if ((w->close_at > 0 && now >= w->close_at) ||
		    (w->close_at == 0 && w->quiet && now - w->heard > OUT_IDLE_S)) {
			if (w->close_at > 0) {
				snprintf(channel, sizeof channel, "output.%s", w->id);
				nchan_delete(channel);
			}
			g.w[i] = g.w[--g.n];
			continue;
		}
		if (w->marked && w->opened && publish_is_leader())
			next = 0;
		else if (w->close_at > 0 && w->close_at - now < next)
			next = w->close_at - now;
		i++;
	}
	pthread_mutex_unlock(&g.lock);
	return next;
}

void outpub_stop(void)
{
	pthread_mutex_lock(&g.lock);
	free(g.w);
	g.w = NULL;
	g.n = g.cap = 0;
	pthread_mutex_unlock(&g.lock);
}
