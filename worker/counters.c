/* counters: the worker's counters (see counters.h). */
#include "counters.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "kinds.h"
#include "model/wstats.h"

/* claim batch sizes: a claim takes at most --concurrency (≤ 1024) tasks */
static const int g_le[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
#define NLE ((int)(sizeof g_le / sizeof g_le[0]))
_Static_assert(sizeof g_le / sizeof g_le[0] <= WSTATS_MAX_BOUNDS, "the JSON holds the bounds");

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
	atomic_int nkinds;        /* rows [0, nkinds) are complete */
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

void counters_init(void)
{
	struct kind_table *kt = kinds_acquire();

	for (const struct kind *const *k = kinds_list(kt); *k; k++)
		kind_row((*k)->name);
	kinds_release(kt);
}

void counters_claimed(int n)
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

void counters_outcome(enum wstats_outcome o)
{
	if ((unsigned)o < WS_NOUTCOMES)
		add(&g.outcome[o], 1);
}

void counters_rescued(int n)
{
	if (n > 0)
		add(&g.rescued, (unsigned long long)n);
}

void counters_run(const char *kind, double seconds)
{
	struct kind_stat *row = kind_row(kind);

	if (!row)
		return;
	add(&row->count, 1);
	add(&row->ns, seconds > 0 ? (unsigned long long)(seconds * 1e9) : 0);
}

char *counters_json(void)
{
	struct wstats s;
	struct db_counters dc;
	char *text;

	wstats_init(&s);
	s.has = WSTATS_ALL;
	s.claimed = get(&g.claimed);
	s.rescued = get(&g.rescued);
	for (int i = 0; i < WS_NOUTCOMES; i++)
		s.outcome[i] = get(&g.outcome[i]);
	/* count is the sum of the buckets read here, so the two always agree */
	s.nbounds = NLE;
	for (int i = 0; i <= NLE; i++) {
		s.buckets[i] = get(&g.batch[i]);
		s.batch_count += s.buckets[i];
		if (i < NLE)
			s.le[i] = g_le[i];
	}
	s.batch_sum = get(&g.batch_sum);
	for (int i = 0, n = atomic_load_explicit(&g.nkinds, memory_order_acquire); i < n; i++)
		wstats_add_kind(&s, g.kinds[i].name, get(&g.kinds[i].count),
				(double)get(&g.kinds[i].ns) / 1e9);
	db_counters(&dc);
	s.db[WSDB_LOST] = dc.lost;
	s.db[WSDB_RECONNECTS] = dc.reconnects;
	s.db[WSDB_CONNECT_FAILED] = dc.connect_failed;
	s.db[WSDB_STATEMENT_ERRORS] = dc.statement_errors;
	text = wstats_encode(&s);
	wstats_cleanup(&s);
	return text;
}
