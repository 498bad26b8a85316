/* fair: remembering each owner's place in line (see fair.h). */
#include "fair.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define SLOTS 1024 /* direct-mapped; a lost entry puts one task at the head, nothing worse */
/* owner (64) \x1f queue (64) \x1f priority (-1000..1000) \x1f concurrency key (200) */
#define KEY_LEN 344

struct slot {
	char key[KEY_LEN]; /* the line: owner \x1f queue \x1f priority \x1f key ("" for none) */
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

static struct slot *slot_of(const struct task_new *n, char key[KEY_LEN])
{
	unsigned h = 5381;

	snprintf(key, KEY_LEN, "%s\x1f%s\x1f%d\x1f%s", n->owner, n->queue, n->priority,
		 n->concurrency_key ? n->concurrency_key : "");
	for (const char *p = key; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return &g.slot[h % SLOTS];
}

void fair_prepare(struct task_new *n, char at[FAIR_AT_LEN])
{
	char key[KEY_LEN];
	struct slot *s;

	/* children wait for their parents; delayed ones line up by their time. A keyed task
	 * joins its key's line (a claim takes a key's tasks in run_at order too). */
	n->fair = g.on && n->delay_s <= 0 && !n->after;
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

/* Microseconds of the fraction of an RFC 3339 time ("…:SS.ffffffZ", trailing zeros cut). */
static long fraction_us(const char *t)
{
	const char *dot = strchr(t, '.');
	long us = 0;
	int digits = 0;

	for (const char *p = dot ? dot + 1 : ""; *p >= '0' && *p <= '9' && digits < 6;
	     p++, digits++)
		us = us * 10 + (*p - '0');
	for (; digits < 6; digits++)
		us *= 10;
	return us;
}

/* Whether RFC 3339 UTC time a is later than b (same form: store_opt_time's). */
static bool later(const char *a, const char *b)
{
	int c = strncmp(a, b, 19); /* YYYY-MM-DDTHH:MM:SS */
	return c > 0 || (c == 0 && fraction_us(a) > fraction_us(b));
}

void fair_created(const struct task_new *n, const struct task *t)
{
	char key[KEY_LEN];
	struct slot *s;

	if (!n->fair || !t->run_at)
		return;
	pthread_mutex_lock(&g.lock);
	s = slot_of(n, key);
	/* submits inserted together (fcgi/bg/combine.c) report back in any order: keep the latest */
	if (strcmp(s->key, key) != 0 || later(t->run_at, s->at)) {
		memcpy(s->key, key, sizeof s->key);
		snprintf(s->at, sizeof s->at, "%s", t->run_at);
	}
	pthread_mutex_unlock(&g.lock);
}
