/* wstats: the worker's counters (see wstats.h). */
#include "wstats.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "base/xalloc.h"

/* claim batch sizes: a claim takes at most --concurrency (≤ 1024) tasks */
static const int g_le[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
#define NLE ((int)(sizeof g_le / sizeof g_le[0]))

static const char *const g_outcome_name[WS_NOUTCOMES] = {
	[WS_SUCCEEDED] = "succeeded", [WS_FAILED] = "failed",     [WS_RETRIED] = "retried",
	[WS_CANCELLED] = "cancelled", [WS_RELEASED] = "released", [WS_LOST] = "lost",
};

/* Per kind, by name: a reload may add kinds (never removes a row: counters only grow). */
#define MAX_KIND_STATS 256
struct kind_stat {
	char name[64];
	atomic_ullong count, ns;
};

static struct {
	atomic_ullong claimed, rescued, outcome[WS_NOUTCOMES];
	atomic_ullong batch[NLE + 1], batch_sum, batch_count;
	struct kind_stat kinds[MAX_KIND_STATS];
	atomic_int nkinds;          /* rows [0, nkinds) are complete */
	pthread_mutex_t add_lock; /* taken only to add a row */
} g = {.add_lock = PTHREAD_MUTEX_INITIALIZER};

static void add(atomic_ullong *c, unsigned long long n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static unsigned long long get(atomic_ullong *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* The row of kind name, added when missing; NULL when the table is full. */
static struct kind_stat *kind_row(const char *name)
{
	int n = atomic_load_explicit(&g.nkinds, memory_order_acquire);
	struct kind_stat *row = NULL;

	for (int i = 0; i < n; i++)
		if (!strcmp(g.kinds[i].name, name))
			return &g.kinds[i];
	pthread_mutex_lock(&g.add_lock);
	n = atomic_load_explicit(&g.nkinds, memory_order_relaxed);
	for (int i = 0; i < n && !row; i++)
		if (!strcmp(g.kinds[i].name, name))
			row = &g.kinds[i];
	if (!row && n < MAX_KIND_STATS) {
		row = &g.kinds[n];
		snprintf(row->name, sizeof row->name, "%s", name);
		atomic_store_explicit(&g.nkinds, n + 1, memory_order_release);
	}
	pthread_mutex_unlock(&g.add_lock);
	return row;
}

void wstats_init(void)
{
	struct kind_table *kt = kinds_acquire();

	for (const struct kind *const *k = kinds_list(kt); *k; k++)
		kind_row((*k)->name);
	kinds_release(kt);
}

void wstats_claimed(int n)
{
	int b = 0;

	if (n <= 0)
		return;
	while (b < NLE && n > g_le[b])
		b++;
	add(&g.claimed, (unsigned long long)n);
	add(&g.batch[b], 1);
	add(&g.batch_sum, (unsigned long long)n);
	add(&g.batch_count, 1);
}

void wstats_outcome(enum wstats_outcome o)
{
	if ((unsigned)o < WS_NOUTCOMES)
		add(&g.outcome[o], 1);
}

void wstats_rescued(int n)
{
	if (n > 0)
		add(&g.rescued, (unsigned long long)n);
}

void wstats_run(const char *kind, double seconds)
{
	struct kind_stat *row = kind_row(kind);

	if (!row)
		return;
	add(&row->count, 1);
	add(&row->ns, seconds > 0 ? (unsigned long long)(seconds * 1e9) : 0);
}

static json_object *u64(unsigned long long v)
{
	return json_object_new_uint64(v);
}

char *wstats_json(void)
{
	json_object *o = json_object_new_object(), *out = json_object_new_object();
	json_object *cb = json_object_new_object(), *le = json_object_new_array_ext(NLE);
	json_object *buckets = json_object_new_array_ext(NLE + 1), *kinds = json_object_new_object();
	json_object *dbo = json_object_new_object();
	struct db_counters dc;
	char *text;

	json_object_object_add(o, "claimed", u64(get(&g.claimed)));
	json_object_object_add(o, "rescued", u64(get(&g.rescued)));
	for (int i = 0; i < WS_NOUTCOMES; i++)
		json_object_object_add(out, g_outcome_name[i], u64(get(&g.outcome[i])));
	json_object_object_add(o, "outcomes", out);

	/* count is the sum of the buckets read here, so the two always agree */
	unsigned long long count = 0;
	for (int i = 0; i <= NLE; i++) {
		unsigned long long v = get(&g.batch[i]);
		count += v;
		json_object_array_add(buckets, u64(v));
		if (i < NLE)
			json_object_array_add(le, json_object_new_int(g_le[i]));
	}
	json_object_object_add(cb, "le", le);
	json_object_object_add(cb, "buckets", buckets);
	json_object_object_add(cb, "sum", u64(get(&g.batch_sum)));
	json_object_object_add(cb, "count", u64(count));
	json_object_object_add(o, "claim_batch", cb);

	for (int i = 0, n = atomic_load_explicit(&g.nkinds, memory_order_acquire); i < n; i++) {
		json_object *k = json_object_new_object();
		json_object_object_add(k, "count", u64(get(&g.kinds[i].count)));
		json_object_object_add(k, "sum_s", json_object_new_double((double)get(&g.kinds[i].ns) / 1e9));
		json_object_object_add(kinds, g.kinds[i].name, k);
	}
	json_object_object_add(o, "kinds", kinds);

	db_counters(&dc);
	json_object_object_add(dbo, "lost", u64(dc.lost));
	json_object_object_add(dbo, "reconnects", u64(dc.reconnects));
	json_object_object_add(dbo, "connect_failed", u64(dc.connect_failed));
	json_object_object_add(dbo, "statement_errors", u64(dc.statement_errors));
	json_object_object_add(o, "db", dbo);

	text = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return text;
}
