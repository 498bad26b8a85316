/* fair: remembering each owner's place in line (see fair.h). */
#include "fair.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define SLOTS 1024 /* direct-mapped; a lost entry puts one task at the head, nothing worse */

struct slot {
	char key[140]; /* owner \x1f queue \x1f priority */
	char at[FAIR_AT_LEN];
};

static struct {
	pthread_mutex_t lock;
	atomic_bool on; /* SIGHUP may change it */
	struct slot slot[SLOTS];
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

void fair_init(bool on)
{
	g.on = on;
}

static struct slot *slot_of(const struct task_new *n, char key[140])
{
	unsigned h = 5381;

	snprintf(key, 140, "%s\x1f%s\x1f%d", n->owner, n->queue, n->priority);
	for (const char *p = key; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return &g.slot[h % SLOTS];
}

void fair_prepare(struct task_new *n, char at[FAIR_AT_LEN])
{
	char key[140];
	struct slot *s;

	/* keyed tasks wait for their key anyway; delayed ones line up by their time */
	n->fair = g.on && n->delay_s <= 0 && !n->concurrency_key;
	n->fair_after = NULL;
	if (!n->fair)
		return;
	pthread_mutex_lock(&g.lock);
	s = slot_of(n, key);
	if (!strcmp(s->key, key)) {
		snprintf(at, FAIR_AT_LEN, "%s", s->at);
		n->fair_after = at;
	}
	pthread_mutex_unlock(&g.lock);
}

void fair_created(const struct task_new *n, const struct task *t)
{
	char key[140];
	struct slot *s;

	if (!n->fair || !t->run_at)
		return;
	pthread_mutex_lock(&g.lock);
	s = slot_of(n, key);
	memcpy(s->key, key, sizeof s->key);
	snprintf(s->at, sizeof s->at, "%s", t->run_at);
	pthread_mutex_unlock(&g.lock);
}
