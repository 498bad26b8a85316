/* completer: the group-commit thread for successful attempts. */
#include "completer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "announce.h"
#include "base/clock.h"
#include "bgthread.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "counters.h"
#include "model/task.h"

#define BATCH_MAX 512
/* successes waiting beyond this hold the executors back */
#define BACKLOG_MAX 4096

struct item {
	struct item *next;
	char id[TASK_ID_LEN + 1];
	char *kind;
	int attempt;
	json_object *result;
	int tag;        /* the caller's, passed to done */
	double give_up; /* monotonic seconds: the lease has expired by then */
	bool held;      /* set by record_batch */
};

struct completer {
	struct bgthread bg; /* bg.lock guards the list and backlog; bg.done: room again */
	struct item *head, *tail;
	int backlog; /* handed over, not yet recorded */
	const char *worker;
	int lease_s;
	completer_done_fn done;
	void *ctx;
};

/* One statement for the batch: sets each item's held; returns the statement's rc. */
static enum taskq_rc record_batch(struct completer *c, struct item **items, int n,
				  struct taskq_err *err)
{
	const char **ids = xcalloc((size_t)n, sizeof *ids);
	int *atts = xcalloc((size_t)n, sizeof *atts), nrec = 0;
	char **recorded = NULL;
	json_object *results = json_object_new_array_ext(n);
	enum taskq_rc rc;

	/* results as one JSON array built by json-c, in the order of ids and attempts */
	for (int i = 0; i < n; i++) {
		ids[i] = items[i]->id;
		atts[i] = items[i]->attempt;
		json_object_array_add(results, items[i]->result ? json_object_get(items[i]->result)
								: json_object_new_object());
	}
	rc = store_complete_many(c->bg.db, c->worker, ids, atts, n,
				 json_object_to_json_string_ext(results, JSON_C_TO_STRING_PLAIN),
				 &recorded, &nrec, err);
	for (int i = 0; i < n; i++) {
		items[i]->held = false;
		for (int j = 0; rc == TASKQ_OK && j < nrec && !items[i]->held; j++)
			items[i]->held = !strcmp(recorded[j], items[i]->id);
	}
	for (int j = 0; j < nrec; j++)
		free(recorded[j]);
	free(recorded);
	json_object_put(results);
	free(ids);
	free(atts);
	return rc;
}

/* PostgreSQL refused one task's result (too big, bad text): the attempt fails for good rather
 * than looping until the lease runs out. */
static void reject(struct completer *c, const struct item *it, const struct taskq_err *why)
{
	struct holder h = {it->id, c->worker, it->attempt};
	struct taskq_err err = {0};
	char msg[320];
	int state = -1;

	snprintf(msg, sizeof msg, "result rejected by the database: %.200s", why->msg);
	log_task(LOG_WARN, it->id, "event=result_rejected kind=%s", it->kind);
	if (store_fail(c->bg.db, &h, msg, false, 0, &state, &err) == TASKQ_OK) {
		announce_id(it->id);
		counters_outcome(state < 0 ? WS_LOST : WS_FAILED);
	} else
		log_task(LOG_ERROR, it->id, "event=record_failed msg=\"%s\"", err.msg);
}

/* Records a batch, riding out an outage (complete_many is fenced: repeating it is safe) until
 * the first item's lease must have expired, or at once when stopping; logs and counts each
 * item's outcome. A batch PostgreSQL refused is recorded one by one, so that only the bad
 * result fails. */
static void record(struct completer *c, struct item **items, int n)
{
	struct taskq_err err = {0};
	double pause = 0.05;
	enum taskq_rc rc;

	while ((rc = record_batch(c, items, n, &err)) == TASKQ_DB_DOWN) {
		struct timespec ts;

		if (clock_mono_s() + pause > items[0]->give_up || bg_stopping(&c->bg))
			break;
		ts.tv_sec = (time_t)pause;
		ts.tv_nsec = (long)((pause - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
		pause = pause * 2 > 2 ? 2 : pause * 2;
	}
	if (rc == TASKQ_INVAL && n > 1) {
		for (int i = 0; i < n; i++)
			record(c, &items[i], 1);
		return;
	}
	for (int i = 0; i < n; i++) {
		const struct item *it = items[i];

		if (rc == TASKQ_OK) {
			if (it->held)
				announce_id(it->id);
			log_task(it->held ? LOG_INFO : LOG_WARN, it->id,
				 "event=%s kind=%s attempt=%d",
				 it->held ? "succeeded" : "result_dropped_not_holder", it->kind,
				 it->attempt);
			counters_outcome(it->held ? WS_SUCCEEDED : WS_LOST);
		} else if (rc == TASKQ_INVAL) {
			reject(c, it, &err);
		} else {
			log_task(LOG_ERROR, it->id,
				 "event=record_failed msg=\"%s\" note=\"the lease expires and the "
				 "task runs again\"",
				 err.msg);
		}
	}
	log_debug("event=completed_batch size=%d rc=%s", n, taskq_rc_name(rc));
}

static void item_free(struct item *it)
{
	json_object_put(it->result);
	free(it->kind);
	free(it);
}

static void *completer_main(void *arg)
{
	struct completer *c = arg;
	struct item *batch[BATCH_MAX];

	for (;;) {
		int n = 0;

		pthread_mutex_lock(&c->bg.lock);
		while (!c->head && !bg_stopping(&c->bg))
			pthread_cond_wait(&c->bg.work, &c->bg.lock);
		if (!c->head) {
			pthread_mutex_unlock(&c->bg.lock);
			break;
		}
		while (c->head && n < BATCH_MAX) {
			batch[n++] = c->head;
			c->head = c->head->next;
		}
		if (!c->head)
			c->tail = NULL;
		pthread_mutex_unlock(&c->bg.lock);

		record(c, batch, n);

		pthread_mutex_lock(&c->bg.lock);
		c->backlog -= n;
		pthread_cond_broadcast(&c->bg.done);
		pthread_mutex_unlock(&c->bg.lock);
		for (int i = 0; i < n; i++) {
			c->done(c->ctx, batch[i]->tag);
			item_free(batch[i]);
		}
	}
	return NULL;
}

struct completer *completer_start(const char *conninfo, const char *worker, int lease_s,
				  completer_done_fn done, void *ctx)
{
	struct completer *c = xmalloc(sizeof *c);

	*c = (struct completer){.worker = worker, .lease_s = lease_s, .done = done, .ctx = ctx};
	bg_start(&c->bg, conninfo, "taskq-worker-completer", DB_GENERIC_PLANS | DB_ANNOUNCE_LATER,
		 completer_main, c);
	return c;
}

void completer_stop(struct completer *c)
{
	bg_stop(&c->bg);
	free(c);
}

void completer_complete(struct completer *c, const struct holder *h, const char *kind,
			json_object *result, int tag)
{
	struct item *it = xcalloc(1, sizeof *it);

	it->tag = tag;
	snprintf(it->id, sizeof it->id, "%s", h->id);
	it->kind = xstrdup(kind);
	it->attempt = h->attempt;
	it->result = result;
	it->give_up = clock_mono_s() + c->lease_s;
	pthread_mutex_lock(&c->bg.lock);
	while (c->backlog >= BACKLOG_MAX && !bg_stopping(&c->bg))
		pthread_cond_wait(&c->bg.done, &c->bg.lock);
	if (c->tail)
		c->tail->next = it;
	else
		c->head = it;
	c->tail = it;
	c->backlog++;
	pthread_cond_signal(&c->bg.work);
	pthread_mutex_unlock(&c->bg.lock);
}
