/* watch: the long-poll watcher thread and its parked requests. */
#include "watch.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "conns.h"
#include "fresh.h"
#include "base/clock.h"
#include "base/log.h"
#include "metrics.h"
#include "promtext.h"
#include "outpub.h"
#include "publish.h"
#include "resp.h"
#include "served.h"
#include "store/live.h"
#include "store/tasks.h"
#include "base/xalloc.h"

#define NOTIFIED_MAX 4096
#define ADOPT_MAX 2000 /* running tasks a new publisher takes over */

struct waiter {
	struct waiter *next;
	struct req r; /* r.fr is owned: answered and freed by the watcher */
	char id[TASK_ID_LEN + 1];
	long long version;
	double deadline;
	bool not_modified_ok;
	bool recheck; /* parked since the last look at its task: look once more */
};

static struct {
	pthread_mutex_t lock;
	struct waiter *head;
	int count, max;
	int efd;
	pthread_t thread;
	bool started;
	atomic_bool stopping;
	struct db *db;
	/* ids announced since the last round (watcher thread only) */
	char (*notified)[TASK_ID_LEN + 1];
	int nnotified;
	bool overflow;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .efd = -1};

static void poke(void)
{
	uint64_t one = 1;
	if (write(g.efd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_warn("event=eventfd_write_failed errno=%d", errno);
}

bool watch_park(struct req *r, const char *id, long long version, double wait_s,
		bool not_modified_ok)
{
	struct waiter *w;

	pthread_mutex_lock(&g.lock);
	if (!g.started || g.count >= g.max) {
		pthread_mutex_unlock(&g.lock);
		return false;
	}
	w = xcalloc(1, sizeof *w);
	w->r = *r;
	w->r.cap[0] = w->r.cap[1] = NULL; /* they pointed into the request thread's stack */
	snprintf(w->id, sizeof w->id, "%s", id);
	w->version = version;
	w->deadline = clock_mono_s() + wait_s;
	w->not_modified_ok = not_modified_ok;
	w->recheck = true;
	w->next = g.head;
	g.head = w;
	g.count++;
	pthread_mutex_unlock(&g.lock);
	poke();
	return true;
}

/* How many requests are parked now. */
static int watch_parked(void)
{
	int n;

	pthread_mutex_lock(&g.lock);
	n = g.count;
	pthread_mutex_unlock(&g.lock);
	return n;
}

void watch_write_metrics(struct ptext *t)
{
	pt_family(t, "taskq_http_long_polls_parked", "gauge",
		  "Long-polls (GET /api/tasks/{id}?wait=S) parked with the watcher now.");
	pt_sample(t, "", NULL, (double)watch_parked());
}

/* Answers a waiter with t (NULL: the task is gone) and frees it. */
static void answer(struct waiter *w, const struct task *t)
{
	if (!t)
		resp_error(&w->r, TASKQ_NOTFOUND, STORE_NO_TASK);
	else if (t->version == w->version && w->not_modified_ok)
		resp_not_modified(&w->r, t->version);
	else
		resp_task(&w->r, 200, t, 0);
	metrics_parked_answered(&w->r);
	conns_finish(w->r.fr);
	free(w);
}

static void on_notify(const char *channel, const char *payload, void *ctx)
{
	(void)ctx;
	if (!strcmp(channel, "taskq_watch")) {
		publish_note(payload);
		outpub_note(payload);
		return;
	}
	outpub_announced(payload, false); /* new output, or the task's final state */
	if (!strcmp(channel, "taskq_output"))
		return;
	if (!strcmp(channel, "taskq_tokens")) {
		auth_flush();
		return;
	}
	fresh_changed(payload);
	for (const char *p = payload; *p;) {
		size_t n = strcspn(p, ",");
		if (n == TASK_ID_LEN && g.nnotified < NOTIFIED_MAX) {
			memcpy(g.notified[g.nnotified], p, TASK_ID_LEN);
			g.notified[g.nnotified++][TASK_ID_LEN] = '\0';
		} else if (n == TASK_ID_LEN) {
			g.overflow = true; /* too many to list: every waiter takes a look */
		}
		p += n + (p[n] == ',');
	}
}

static bool was_notified(const char *id)
{
	if (g.overflow)
		return true;
	for (int i = 0; i < g.nnotified; i++)
		if (!memcmp(g.notified[i], id, TASK_ID_LEN))
			return true;
	return false;
}

/* Takes the waiters that need a look now (announced, freshly parked, timed out, or all when
 * stopping) off the list. */
static struct waiter *take_due(double now, bool all)
{
	struct waiter *due = NULL, **pp;

	pthread_mutex_lock(&g.lock);
	for (pp = &g.head; *pp;) {
		struct waiter *w = *pp;
		if (all || w->recheck || now >= w->deadline || was_notified(w->id)) {
			*pp = w->next;
			w->next = due;
			due = w;
			g.count--;
		} else {
			pp = &w->next;
		}
	}
	pthread_mutex_unlock(&g.lock);
	g.nnotified = 0;
	g.overflow = false;
	return due;
}

static void repark(struct waiter *w)
{
	pthread_mutex_lock(&g.lock);
	w->recheck = false;
	w->next = g.head;
	g.head = w;
	g.count++;
	pthread_mutex_unlock(&g.lock);
}

/* Reads the due waiters' tasks in one query and answers those whose task moved on. */
static void settle(struct waiter *due, double now, bool all)
{
	struct task_list l = {0};
	struct taskq_err err;
	int n = 0;
	const char **ids;
	enum taskq_rc rc;

	for (struct waiter *w = due; w; w = w->next)
		n++;
	ids = xcalloc((size_t)n + 1, sizeof *ids);
	n = 0;
	for (struct waiter *w = due; w; w = w->next)
		ids[n++] = w->id;
	rc = store_get_many_placed(g.db, ids, n, &l, &err); /* answers to GETs: with positions */
	free(ids);
	if (rc == TASKQ_OK && served_any_queued(&l))
		served_refresh(g.db); /* answers carry a queued task's warning */

	while (due) {
		struct waiter *w = due;
		const struct task *t = NULL;

		due = w->next;
		if (rc != TASKQ_OK) {
			if (all || now >= w->deadline) {
				resp_error(&w->r, rc, err.msg);
				metrics_parked_answered(&w->r);
				conns_finish(w->r.fr);
				free(w);
			} else {
				w->recheck = true; /* look again once the database answers */
				repark(w);
			}
			continue;
		}
		for (size_t i = 0; i < l.n && !t; i++)
			if (!strcmp(l.v[i].id, w->id))
				t = &l.v[i];
		if (!t || t->version != w->version || all || now >= w->deadline)
			answer(w, t);
		else
			repark(w);
	}
	task_list_cleanup(&l);
}

/* Re-reads tasks by id in one query and publishes them to nchan (with feeds: to the live
 * feeds too). */
static void publish_read(const char **ids, int n, bool feeds)
{
	struct task_list l = {0};
	struct taskq_err err;

	if (store_get_many(g.db, ids, n, &l, &err) == TASKQ_OK) {
		if (served_any_queued(&l))
			served_refresh(g.db);
		publish_tasks(&l, feeds);
	} else
		log_warn("event=publish_read_failed msg=\"%s\"", err.msg);
	task_list_cleanup(&l);
}

/* Re-reads the announced tasks someone streams (or all of them while the live feed has
 * subscribers) in one query and publishes them to nchan. all_watched: after a reconnect or an
 * overflow, every watched task, so nothing stays stale. */
static void publish_changes(bool all_watched)
{
	const char **ids;
	int n;

	if (!publish_is_leader() || (!all_watched && g.nnotified == 0))
		return;
	if (!(ids = publish_wanted(g.notified, g.nnotified, all_watched, &n)))
		return;
	publish_read(ids, n, true);
	free(ids);
}

/* Ends the channels whose end has come and publishes the changes that waited for a hold;
 * returns the seconds until the next of these is due. */
static double publish_held(void)
{
	double next_s;
	int n;
	const char **ids = publish_due(&n, &next_s);

	if (ids && db_connected(g.db))
		publish_read(ids, n, false);
	free(ids);
	return next_s;
}

static void *watch_main(void *arg)
{
	double backoff = 0.1, next_election = 0, due_s = 1.0;
	bool was_connected = false;

	(void)arg;
	while (!atomic_load(&g.stopping)) {
		struct taskq_err err;
		struct pollfd fds[2] = {{.fd = g.efd, .events = POLLIN},
					{.fd = -1, .events = POLLIN}};
		double now, wait_ms = due_s < 1.0 ? due_s * 1000 : 1000;
		struct waiter *due;

		if (db_ensure(g.db, &err) != TASKQ_OK) {
			wait_ms = backoff * 1000;
			backoff = backoff * 2 > 2 ? 2 : backoff * 2;
			/* without a connection no notification arrives: look at every waiter again */
			pthread_mutex_lock(&g.lock);
			for (struct waiter *w = g.head; w; w = w->next)
				w->recheck = true;
			pthread_mutex_unlock(&g.lock);
		} else {
			backoff = 0.1;
			fds[1].fd = db_socket(g.db);
		}
		pthread_mutex_lock(&g.lock);
		now = clock_mono_s();
		for (struct waiter *w = g.head; w; w = w->next) {
			double left = (w->deadline - now) * 1000;
			if (w->recheck)
				left = 0;
			if (left < wait_ms)
				wait_ms = left < 0 ? 0 : left;
		}
		pthread_mutex_unlock(&g.lock);
		if (poll(fds, fds[1].fd >= 0 ? 2 : 1, (int)wait_ms) > 0 &&
		    (fds[0].revents & POLLIN)) {
			uint64_t v;
			if (read(g.efd, &v, sizeof v) < 0)
				log_debug("event=eventfd_read errno=%d", errno);
		}
		if (db_connected(g.db)) {
			bool elected = false;

			if (!was_connected)
				publish_set_leader(false); /* a new session holds no lock */
			if (publish_enabled() && !publish_is_leader() &&
			    clock_mono_s() >= next_election) {
				if (store_publish_lock(g.db, publish_key(), &elected, &err) ==
					    TASKQ_OK &&
				    elected) {
					struct task_list running = {0};
					publish_set_leader(true);
					if (store_running(g.db, ADOPT_MAX, &running, &err) ==
					    TASKQ_OK) {
						publish_adopt(&running);
						outpub_adopt(&running);
					}
					task_list_cleanup(&running);
				}
				next_election = clock_mono_s() + 1.0;
			}
			fresh_set_listening(true);
			db_each_notify(g.db, on_notify, NULL);
			if (!was_connected || g.overflow || elected)
				outpub_announced("", true);
			publish_changes(!was_connected || g.overflow || elected);
			if (publish_is_leader())
				outpub_flush(g.db);
		} else {
			fresh_set_listening(false);
			publish_set_leader(false);
		}
		due_s = publish_enabled() ? publish_held() : 1.0;
		if (publish_enabled()) {
			double out_s = outpub_due();
			due_s = out_s < due_s ? out_s : due_s;
		}
		was_connected = db_connected(g.db);
		now = clock_mono_s();
		if ((due = take_due(now, false)) != NULL)
			settle(due, now, false); /* with the database away: 503 past the deadline */
	}
	return NULL;
}

void watch_set_max(int max_waiters)
{
	pthread_mutex_lock(&g.lock);
	g.max = max_waiters;
	pthread_mutex_unlock(&g.lock);
}

void watch_start(const char *conninfo, int max_waiters)
{
	g.max = max_waiters;
	g.db = store_open_watcher(conninfo, "taskq-fcgi-watch");
	g.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	g.notified = xcalloc(NOTIFIED_MAX, sizeof *g.notified);
	g.started = g.efd >= 0 && pthread_create(&g.thread, NULL, watch_main, NULL) == 0;
	if (!g.started)
		log_error("event=watch_thread_failed");
}

void watch_stop(void)
{
	struct waiter *all;

	if (!g.started)
		return;
	atomic_store(&g.stopping, true);
	poke();
	pthread_join(g.thread, NULL);
	pthread_mutex_lock(&g.lock);
	g.started = false;
	pthread_mutex_unlock(&g.lock);
	if ((all = take_due(clock_mono_s(), true)) != NULL)
		settle(all, clock_mono_s(), true);
	db_free(g.db);
	close(g.efd);
	free(g.notified);
}
