/* completer: the group-commit thread for successful attempts. */
#include "completer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "store/live.h"

#define BATCH_MAX 512

struct item {
	struct item *next;
	const struct holder *h;
	json_object *result;
	/* filled in by the completer */
	bool done, held;
	enum taskq_rc rc;
	struct taskq_err err;
};

struct completer {
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	struct item *head, *tail;
	bool stopping;
	pthread_t thread;
	struct db *db;
	const char *worker;
};

/* Records one batch (at most BATCH_MAX items); sets each item's outcome. */
static void record_batch(struct completer *c, struct item **items, int n)
{
	const char **ids = xcalloc((size_t)n, sizeof *ids);
	int *atts = xcalloc((size_t)n, sizeof *atts), nrec = 0;
	char **recorded = NULL;
	json_object *results = json_object_new_array_ext(n);
	struct taskq_err err = {0};
	enum taskq_rc rc;

	/* results as one JSON array built by json-c, in the order of ids and attempts */
	for (int i = 0; i < n; i++) {
		ids[i] = items[i]->h->id;
		atts[i] = items[i]->h->attempt;
		json_object_array_add(results, items[i]->result ? json_object_get(items[i]->result)
								: json_object_new_object());
	}
	rc = store_complete_many(c->db, c->worker, ids, atts, n,
				 json_object_to_json_string_ext(results, JSON_C_TO_STRING_PLAIN),
				 &recorded, &nrec, &err);
	for (int i = 0; i < n; i++) {
		items[i]->rc = rc;
		items[i]->err = err;
		items[i]->held = false;
		for (int j = 0; rc == TASKQ_OK && j < nrec && !items[i]->held; j++)
			items[i]->held = !strcmp(recorded[j], items[i]->h->id);
	}
	for (int j = 0; j < nrec; j++)
		free(recorded[j]);
	free(recorded);
	json_object_put(results);
	free(ids);
	free(atts);
}

/* A batch PostgreSQL refused (one bad result): record its items one by one, so that only the
 * bad one fails. */
static void record_each(struct completer *c, struct item **items, int n)
{
	for (int i = 0; i < n; i++)
		record_batch(c, &items[i], 1);
}

static void *completer_main(void *arg)
{
	struct completer *c = arg;
	struct item *batch[BATCH_MAX];

	for (;;) {
		int n = 0;

		pthread_mutex_lock(&c->lock);
		while (!c->head && !c->stopping)
			pthread_cond_wait(&c->work, &c->lock);
		if (!c->head) {
			pthread_mutex_unlock(&c->lock);
			break;
		}
		while (c->head && n < BATCH_MAX) {
			batch[n++] = c->head;
			c->head = c->head->next;
		}
		if (!c->head)
			c->tail = NULL;
		pthread_mutex_unlock(&c->lock);

		record_batch(c, batch, n);
		if (n > 1 && batch[0]->rc == TASKQ_INVAL)
			record_each(c, batch, n);
		log_debug("event=completed_batch size=%d rc=%s", n, taskq_rc_name(batch[0]->rc));

		pthread_mutex_lock(&c->lock);
		for (int i = 0; i < n; i++)
			batch[i]->done = true;
		pthread_cond_broadcast(&c->done);
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}

struct completer *completer_start(const char *conninfo, const char *worker)
{
	struct completer *c = xcalloc(1, sizeof *c);

	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->work, NULL);
	pthread_cond_init(&c->done, NULL);
	c->db = store_open(conninfo, "taskq-worker-completer");
	db_prefer_generic_plans(c->db);
	c->worker = worker;
	if (pthread_create(&c->thread, NULL, completer_main, c) != 0) {
		db_free(c->db);
		free(c);
		return NULL;
	}
	return c;
}

void completer_stop(struct completer *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	db_free(c->db);
	pthread_cond_destroy(&c->work);
	pthread_cond_destroy(&c->done);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

enum taskq_rc completer_complete(struct completer *c, const struct holder *h, json_object *result,
				 bool *held, struct taskq_err *err)
{
	struct item it = {.h = h, .result = result};

	pthread_mutex_lock(&c->lock);
	if (c->tail)
		c->tail->next = &it;
	else
		c->head = &it;
	c->tail = &it;
	pthread_cond_signal(&c->work);
	while (!it.done)
		pthread_cond_wait(&c->done, &c->lock);
	pthread_mutex_unlock(&c->lock);
	*held = it.held;
	if (it.rc != TASKQ_OK && err)
		*err = it.err;
	return it.rc;
}
