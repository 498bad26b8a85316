/* publish: the nchan publisher client and the set of watched tasks. */
#include "publish.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/live.h"
#include "model/taskjson.h"
#include "served.h"
#include "base/xalloc.h"

#define WATCH_TTL_S 3600.0
#define FEED_MAX 200  /* tasks in one feed message */
#define FEEDS_MAX 256 /* feeds (all tasks, or one owner's) with subscribers at once */

struct watched {
	char id[TASK_ID_LEN + 1];
	long long version; /* last published; -1: none yet */
	double heard;      /* when a subscriber was last known to listen */
	double expires;
};

/* A channel without subscribers keeps being fed this long, so that a client that reconnects
 * with Last-Event-ID finds every change in nchan's buffer (and nchan counts a subscriber only
 * after its authorisation has answered). */
#define IDLE_GRACE_S 60.0

static struct {
	pthread_mutex_t lock;
	bool enabled;
	bool leader;   /* this process publishes the changes for its nginx */
	char key[320]; /* host and socket: one publisher per nginx */
	char *socket;
	CURL *h;
	struct watched *w;
	int n, cap;
	struct feed {
		char owner[65]; /* "": every task (admins' feed, channel "tasks") */
		double heard;
	} feeds[FEEDS_MAX];
	int nfeeds;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void feed_heard(const char *owner);

struct answer {
	char buf[512];
	size_t len;
};

static size_t on_answer(char *data, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n, room = sizeof a->buf - 1 - a->len;

	if (len > room)
		len = room;
	memcpy(a->buf + a->len, data, len);
	a->len += len;
	a->buf[a->len] = '\0';
	return size * n;
}

/* POSTs body to the channel; returns its subscriber count, or -1 when nchan did not take it.
 * Caller holds g.lock. */
static int do_post(const char *channel, const char *body, size_t len)
{
	struct curl_slist *hdr = NULL;
	struct answer a = {.len = 0};
	char url[160];
	json_object *info, *subs;
	long status = 0;
	int n = -1;
	CURLcode rc;

	snprintf(url, sizeof url, "http://localhost/_pub/%s", channel);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Accept: application/json");
	curl_easy_reset(g.h);
	curl_easy_setopt(g.h, CURLOPT_UNIX_SOCKET_PATH, g.socket);
	curl_easy_setopt(g.h, CURLOPT_URL, url);
	curl_easy_setopt(g.h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(g.h, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(g.h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(g.h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(g.h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(g.h, CURLOPT_WRITEFUNCTION, on_answer);
	curl_easy_setopt(g.h, CURLOPT_WRITEDATA, &a);
	rc = curl_easy_perform(g.h);
	curl_slist_free_all(hdr);
	curl_easy_getinfo(g.h, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK || status < 200 || status >= 300) {
		log_warn("event=publish_failed channel=%s status=%ld msg=\"%s\"", channel, status,
			 curl_easy_strerror(rc));
		return -1;
	}
	info = json_tokener_parse(a.buf);
	if (info && json_object_object_get_ex(info, "subscribers", &subs))
		n = json_object_get_int(subs);
	else
		n = 1; /* an answer we cannot read: assume someone listens */
	json_object_put(info);
	return n;
}

void publish_start(const char *socket)
{
	if (!socket || !*socket)
		return;
	char host[256] = "host";

	gethostname(host, sizeof host - 1);
	snprintf(g.key, sizeof g.key, "%s:%s", host, socket);
	g.socket = xstrdup(socket);
	g.h = curl_easy_init();
	g.enabled = g.h != NULL;
	log_info("event=publishing target=\"%s\"", socket);
}

void publish_stop(void)
{
	pthread_mutex_lock(&g.lock);
	if (g.h)
		curl_easy_cleanup(g.h);
	free(g.socket);
	free(g.w);
	g.h = NULL;
	g.socket = NULL;
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

/* Publishes t to its channel if it is newer than what was published. Caller holds g.lock. */
static void publish_one(int i, const struct task *t)
{
	json_object *o;
	const char *text;
	size_t len;
	char channel[64];
	int subs;

	if (t->version <= g.w[i].version)
		return;
	o = served_task_json(t);
	text = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	snprintf(channel, sizeof channel, "task.%s", t->id);
	subs = do_post(channel, text, len);
	json_object_put(o);
	g.w[i].version = t->version;
	/* nobody listens any more, or nothing more will happen: stop watching */
	if (subs > 0)
		g.w[i].heard = clock_mono_s();
	if ((subs == 0 && clock_mono_s() - g.w[i].heard > IDLE_GRACE_S) ||
	    task_state_final(t->state) || clock_mono_s() > g.w[i].expires)
		drop(i);
}

/* The watched entry for id, added when missing. Caller holds g.lock. */
static int watch(const char *id)
{
	int i = find(id);

	if (i >= 0)
		return i;
	if (g.n == g.cap) {
		g.cap = g.cap ? g.cap * 2 : 64;
		g.w = xrealloc(g.w, (size_t)g.cap * sizeof *g.w);
	}
	i = g.n++;
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
	int i;

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
			i = watch(tid);
			if (version > g.w[i].version)
				g.w[i].version = version;
			g.w[i].heard = clock_mono_s();
		}
	}
	pthread_mutex_unlock(&g.lock);
}

void publish_subscribed(const struct task *t, bool resuming, struct db *db)
{
	struct taskq_err err;
	char note[400];
	long long sent;
	int i;

	if (!g.enabled)
		return;
	pthread_mutex_lock(&g.lock);
	if ((i = find(t->id)) < 0) {
		i = watch(t->id);
	} else if (!resuming) {
		g.w[i].version =
			-1; /* a newcomer gets the current state first, even if it was sent */
	}
	/* a resuming subscriber (Last-Event-ID) reads the changes it missed from nchan's buffer:
	 * only a state newer than the last one published is sent */
	g.w[i].heard = clock_mono_s();
	g.w[i].expires = g.w[i].heard + WATCH_TTL_S;
	publish_one(i, t);
	sent = t->version;
	pthread_mutex_unlock(&g.lock);
	/* the publisher of this nginx (maybe another process) takes it from here */
	snprintf(note, sizeof note, "%s|%s|%lld", g.key, t->id, sent);
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
	do_post(channel, "{\"tasks\":[]}", strlen("{\"tasks\":[]}"));
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
		subs = do_post(channel, text, len);
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
		g.w[i].version = -1;
		publish_one(i, &l->v[k]);
	}
	pthread_mutex_unlock(&g.lock);
}

void publish_tasks(const struct task_list *l)
{
	pthread_mutex_lock(&g.lock);
	for (size_t k = 0; k < l->n; k++) {
		int i = find(l->v[k].id);
		if (i >= 0)
			publish_one(i, &l->v[k]);
	}
	for (int f = 0; f < g.nfeeds; f++)
		if (l->n > 0 && !feed_post(&g.feeds[f], l))
			g.feeds[f--] = g.feeds[--g.nfeeds];
	pthread_mutex_unlock(&g.lock);
}
