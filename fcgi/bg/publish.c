/* publish: the set of watched tasks and live feeds, and what goes to their channels. */
#include "publish.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "change.h"
#include "model/taskjson.h"
#include "nchan.h"
#include "served.h"
#include "store/live.h"

#define WATCH_TTL_S 3600.0
#define FEED_MAX 200  /* tasks in one feed message */
#define FEEDS_MAX 256 /* feeds (all tasks, or one owner's) with subscribers at once */

/* A channel without subscribers keeps being fed this long, so that a client that reconnects
 * with Last-Event-ID finds every change in nchan's buffer (and nchan counts a subscriber only
 * after its authorisation has answered). */
#define IDLE_GRACE_S 60.0
/* After a newcomer's whole message, the task's changes wait this long: nchan hands a new
 * subscriber the newest message of the channel once its authorisation has answered, a
 * moment later, and that must still be the whole task, not a change published meanwhile. */
#define HOLD_S 0.1
/* A channel is deleted (its subscribers' connections end) this long after its final state
 * went out: a subscriber authorised just before still gets that message first. */
#define CLOSE_S 1.0
/* A newcomer of a task whose newest message is already whole and current gets that one:
 * nothing new is published (tabs opened together, a burst of subscribers). Short, because
 * nginx forgets nchan's messages when it restarts. */
#define WHOLE_FRESH_S 5.0

struct watched {
	char id[TASK_ID_LEN + 1];
	long long version;       /* last published; -1: none yet */
	struct change_base base; /* what its subscribers hold to merge a change into */
	double heard;            /* when a subscriber was last known to listen */
	double expires;
	double whole_at;   /* when the newest message, a whole one, went out; 0: it was a change */
	double hold_until; /* changes wait until then (see HOLD_S) */
	bool held;         /* a change waits for the end of the hold */
	double close_at;   /* the final state went out: the channel is deleted then; 0: open */
};

static struct {
	pthread_mutex_t lock;
	bool enabled;
	bool leader;   /* this process publishes the changes for its nginx */
	char key[320]; /* host and socket: one publisher per nginx */
	struct watched *w;
	int n, cap;
	struct feed {
		char owner[65]; /* "": every task (admins' feed, channel "tasks") */
		double heard;
	} feeds[FEEDS_MAX];
	int nfeeds;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void feed_heard(const char *owner);

void publish_start(const char *socket)
{
	if (!socket || !*socket)
		return;
	char host[256] = "host";

	gethostname(host, sizeof host - 1);
	snprintf(g.key, sizeof g.key, "%s:%s", host, socket);
	g.enabled = nchan_open(socket);
	log_info("event=publishing target=\"%s\"", socket);
}

void publish_stop(void)
{
	pthread_mutex_lock(&g.lock);
	nchan_close();
	free(g.w);
	g.w = NULL;
	g.n = g.cap = 0;
	g.enabled = false;
	pthread_mutex_unlock(&g.lock);
}

bool publish_enabled(void)
{
	return g.enabled;
}

/* Caller holds g.lock. */
static int find(const char *id)
{
	for (int i = 0; i < g.n; i++)
		if (!strcmp(g.w[i].id, id))
			return i;
	return -1;
}

static void drop(int i)
{
	g.w[i] = g.w[--g.n];
}

/* Publishes t to its channel: whole, or as a change (change.h) when its subscribers hold a
 * whole message to merge it into. A final state schedules the channel's end. Returns the
 * subscriber count (-1: nchan did not take it). Caller holds g.lock. */
static int post(struct watched *w, const struct task *t, bool whole)
{
	json_object *o = served_task_json(t);
	const char *text;
	size_t len;
	char channel[64];
	double now = clock_mono_s();
	int subs;

	whole = whole || !w->base.known;
	if (whole)
		change_whole(o, &w->base);
	else
		change_delta(o, &w->base);
	text = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	snprintf(channel, sizeof channel, "task.%s", t->id);
	subs = nchan_post(channel, text, len);
	json_object_put(o);
	w->version = t->version;
	w->whole_at = whole && subs >= 0 ? now : 0;
	if (subs < 0)
		w->base.known = false; /* what they hold is unknown: the next message is whole */
	if (subs > 0)
		w->heard = now;
	/* a failed final message too: the stream ends, and a reconnect reads the task anew */
	w->close_at = task_state_final(t->state) ? now + CLOSE_S : 0;
	return subs;
}

/* Publishes t as a change of watched task i if it is newer than what was published, once
 * any hold is over (then publish_due hands it back); stops watching a task nobody listens
 * to any more. Caller holds g.lock. */
static void publish_change(int i, const struct task *t)
{
	struct watched *w = &g.w[i];
	double now = clock_mono_s();
	int subs;

	if (t->version <= w->version)
		return;
	if (now < w->hold_until) {
		w->held = true;
		return;
	}
	w->held = false;
	subs = post(w, t, false);
	if (w->close_at == 0 && ((subs == 0 && now - w->heard > IDLE_GRACE_S) || now > w->expires))
		drop(i);
}

/* The watched entry for id, added when missing. Caller holds g.lock. */
static int watch(const char *id)
{
	int i = find(id);

	if (i >= 0)
		return i;
	i = xpush(&g.w, &g.n, &g.cap, sizeof *g.w, 64);
	snprintf(g.w[i].id, sizeof g.w[i].id, "%s", id);
	g.w[i].version = -1;
	g.w[i].heard = clock_mono_s();
	g.w[i].expires = g.w[i].heard + WATCH_TTL_S;
	return i;
}

const char *publish_key(void)
{
	return g.key;
}

void publish_set_leader(bool leader)
{
	pthread_mutex_lock(&g.lock);
	if (leader != g.leader)
		log_info("event=%s key=\"%s\"", leader ? "publisher_elected" : "publisher_standby",
			 g.key);
	g.leader = leader;
	pthread_mutex_unlock(&g.lock);
}

bool publish_is_leader(void)
{
	return g.enabled && g.leader;
}

void publish_note(const char *payload)
{
	const char *bar = strrchr(payload, '|'), *id;
	size_t klen;
	long long version;

	/* "<key>|feed|<owner or *>": another process of this nginx authorised a feed */
	if (g.enabled && bar && bar - payload >= 5 && !strncmp(bar - 5, "|feed", 5) &&
	    (size_t)(bar - 5 - payload) == strlen(g.key) &&
	    !strncmp(payload, g.key, strlen(g.key))) {
		pthread_mutex_lock(&g.lock);
		feed_heard(strcmp(bar + 1, "*") ? bar + 1 : "");
		pthread_mutex_unlock(&g.lock);
		return;
	}
	/* "<key>|<id>|<version>": another process of this nginx authorised a subscriber */
	if (!g.enabled || !bar || bar - payload < TASK_ID_LEN + 2)
		return;
	id = bar - TASK_ID_LEN;
	klen = (size_t)(id - 1 - payload);
	if (id[-1] != '|' || klen != strlen(g.key) || strncmp(payload, g.key, klen) != 0)
		return;
	version = strtoll(bar + 1, NULL, 10);
	pthread_mutex_lock(&g.lock);
	{
		char tid[TASK_ID_LEN + 1];
		memcpy(tid, id, TASK_ID_LEN);
		tid[TASK_ID_LEN] = '\0';
		if (task_id_valid(tid)) {
			int i = watch(tid); /* before taking an address: it may move g.w */
			struct watched *w = &g.w[i];
			if (version > w->version) {
				/* that process sent the whole task: what this one remembers is older */
				w->version = version;
				w->base.known = false;
				w->whole_at = 0;
			}
			w->heard = clock_mono_s();
			w->hold_until = w->heard + HOLD_S; /* its subscriber is about to attach */
		}
	}
	pthread_mutex_unlock(&g.lock);
}

void publish_subscribed(const struct task *t, bool resuming, struct db *db)
{
	struct taskq_err err;
	struct watched *w;
	char note[400];
	double now;
	int i;

	if (!g.enabled)
		return;
	pthread_mutex_lock(&g.lock);
	if ((i = find(t->id)) < 0)
		i = watch(t->id);
	w = &g.w[i];
	now = clock_mono_s();
	w->heard = now;
	w->expires = now + WATCH_TTL_S;
	if (resuming && w->base.known) {
		/* a resuming subscriber (Last-Event-ID) reads the changes it missed from nchan's
		 * buffer: only a state newer than the last one published is sent, as a change */
		publish_change(i, t);
	} else {
		/* a newcomer's first message is the whole task: the newest of the channel, which
		 * nchan hands it first. The elected publisher knows when that is the case
		 * already (it sends every change); another process sends it anew. */
		if (!(publish_is_leader() && w->whole_at > 0 && now - w->whole_at < WHOLE_FRESH_S &&
		      w->version == t->version))
			post(w, t, true);
		else if (task_state_final(t->state))
			w->close_at = now + CLOSE_S;
		w->hold_until = now + HOLD_S;
	}
	pthread_mutex_unlock(&g.lock);
	/* the publisher of this nginx (maybe another process) takes it from here */
	snprintf(note, sizeof note, "%s|%s|%lld", g.key, t->id, t->version);
	if (store_watch_note(db, note, &err))
		log_warn("event=watch_note_failed msg=\"%s\"", err.msg);
}

/* Notes that a feed has a subscriber. Caller holds g.lock. */
static void feed_heard(const char *owner)
{
	int i;

	for (i = 0; i < g.nfeeds && strcmp(g.feeds[i].owner, owner) != 0; i++)
		;
	if (i == g.nfeeds) {
		if (g.nfeeds == FEEDS_MAX)
			return;
		snprintf(g.feeds[g.nfeeds++].owner, sizeof g.feeds[0].owner, "%s", owner);
	}
	g.feeds[i].heard = clock_mono_s();
}

void publish_feed_subscribed(const char *owner, struct db *db)
{
	struct taskq_err err;
	char note[400];

	char channel[80];

	if (!g.enabled)
		return;
	pthread_mutex_lock(&g.lock);
	feed_heard(owner ? owner : "");
	/* an empty batch first: nchan 1.3.6 aborts a worker when a channel that never had a
	 * message gets its first one while two subscribers wait on it */
	if (owner)
		snprintf(channel, sizeof channel, "owner.%s", owner);
	else
		snprintf(channel, sizeof channel, "tasks");
	nchan_post(channel, "{\"tasks\":[]}", strlen("{\"tasks\":[]}"));
	pthread_mutex_unlock(&g.lock);
	/* the publisher of this nginx (maybe another process) feeds it from now on */
	snprintf(note, sizeof note, "%s|feed|%s", g.key, owner ? owner : "*");
	if (store_watch_note(db, note, &err))
		log_warn("event=watch_note_failed msg=\"%s\"", err.msg);
}

/* Posts l's tasks that the feed shows (all, or its owner's) to its channel; false when it
 * has had no subscriber for a while. Caller holds g.lock. */
static bool feed_post(struct feed *f, const struct task_list *l)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	char channel[80];
	const char *text;
	size_t len;
	int subs = 1;

	json_object_object_add(o, "tasks", arr);
	for (size_t k = 0; k < l->n && json_object_array_length(arr) < FEED_MAX; k++)
		if (!f->owner[0] || (l->v[k].owner && !strcmp(l->v[k].owner, f->owner)))
			json_object_array_add(arr, served_task_json(&l->v[k]));
	if (json_object_array_length(arr) > 0) {
		if (f->owner[0])
			snprintf(channel, sizeof channel, "owner.%s", f->owner);
		else
			snprintf(channel, sizeof channel, "tasks");
		text = json_object_to_json_string_length(
			o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
		subs = nchan_post(channel, text, len);
		if (subs > 0)
			f->heard = clock_mono_s();
	}
	json_object_put(o);
	return subs != 0 || clock_mono_s() - f->heard < IDLE_GRACE_S;
}

const char **publish_wanted(char (*announced)[TASK_ID_LEN + 1], int n, bool all_watched, int *count)
{
	const char **out;
	char(*ids)[TASK_ID_LEN + 1];
	int cap;

	*count = 0;
	pthread_mutex_lock(&g.lock);
	cap = all_watched ? g.n : n;
	/* one allocation: the pointers, then the ids they point at */
	out = xmalloc((size_t)(cap + 1) * (sizeof *out + sizeof *ids));
	ids = (char(*)[TASK_ID_LEN + 1])(out + cap + 1);
	for (int i = 0; i < n && !all_watched; i++) {
		if (g.nfeeds == 0 && find(announced[i]) < 0)
			continue;
		snprintf(ids[*count], sizeof ids[*count], "%s", announced[i]);
		out[*count] = ids[*count];
		(*count)++;
	}
	for (int i = 0; i < g.n && all_watched; i++) {
		snprintf(ids[*count], sizeof ids[*count], "%s", g.w[i].id);
		out[*count] = ids[*count];
		(*count)++;
	}
	pthread_mutex_unlock(&g.lock);
	if (*count == 0) {
		free(out);
		return NULL;
	}
	return out;
}

void publish_adopt(const struct task_list *l)
{
	pthread_mutex_lock(&g.lock);
	for (size_t k = 0; k < l->n; k++) {
		int i = watch(l->v[k].id);
		post(&g.w[i], &l->v[k], true);
	}
	pthread_mutex_unlock(&g.lock);
}

void publish_tasks(const struct task_list *l, bool feeds)
{
	pthread_mutex_lock(&g.lock);
	for (size_t k = 0; k < l->n; k++) {
		int i = find(l->v[k].id);
		if (i >= 0)
			publish_change(i, &l->v[k]);
	}
	for (int f = 0; f < g.nfeeds && feeds; f++)
		if (l->n > 0 && !feed_post(&g.feeds[f], l))
			g.feeds[f--] = g.feeds[--g.nfeeds];
	pthread_mutex_unlock(&g.lock);
}

const char **publish_due(int *count, double *next_s)
{
	const char **out = NULL;
	char(*ids)[TASK_ID_LEN + 1] = NULL;
	double now = clock_mono_s(), next = WATCH_TTL_S;
	char channel[64];

	*count = 0;
	pthread_mutex_lock(&g.lock);
	for (int i = 0; i < g.n;) {
		struct watched *w = &g.w[i];

		if (w->close_at > 0 && now >= w->close_at) {
			snprintf(channel, sizeof channel, "task.%s", w->id);
			nchan_delete(channel);
			drop(i);
			continue;
		}
		if (w->close_at == 0 && !w->held && now > w->expires) {
			drop(i); /* nobody subscribed for an hour (or this process does not publish) */
			continue;
		}
		if (w->close_at > 0 && w->close_at - now < next)
			next = w->close_at - now;
		if (w->held && now >= w->hold_until) {
			if (!out) { /* one allocation: the pointers, then the ids they point at */
				out = xmalloc((size_t)(g.n + 1) * (sizeof *out + sizeof *ids));
				ids = (char(*)[TASK_ID_LEN + 1])(out + g.n + 1);
			}
			w->held = false;
			snprintf(ids[*count], sizeof ids[*count], "%s", w->id);
			out[*count] = ids[*count];
			(*count)++;
		} else if (w->held && w->hold_until - now < next) {
			next = w->hold_until - now;
		}
		i++;
	}
	pthread_mutex_unlock(&g.lock);
	*next_s = next;
	return out;
}
