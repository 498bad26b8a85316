/*
 * combine: group commit of concurrent submits. A submit joins a queue; if no request thread
 * is inserting just then, this one becomes the leader: it takes everything queued (its own
 * submit included, up to GROUP_MAX), inserts it with one statement on its own connection
 * (one transaction, one commit, one WAL flush), hands each waiting thread its row and wakes
 * them. Submits that arrive meanwhile queue for the next leader. Alone, a submit is its own
 * group at once: nothing waits for company. Every thread still answers 202 only after the
 * commit that holds its task.
 *
 * A group whose statement fails for a reason other than the database being away is retried
 * one submit at a time, so that one bad task cannot fail the others of its group.
 */
#include "combine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "model/uuid7.h"

#define GROUP_MAX 64

/* group sizes for /metrics: taskq_submit_group_size */
static const double g_le[] = {1, 2, 4, 8, 16, 32};
#define NLE ((int)(sizeof g_le / sizeof g_le[0]))
static atomic_ullong g_groups[NLE + 1], g_grouped;

struct waiter {
	struct group_item item;
	enum taskq_rc rc;
	struct taskq_err err;
	bool done;
	struct waiter *next;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t done;
	struct waiter *head, **tail;
	bool leading;
} g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, &g.head, false};

/* Inserts the group on db and records each waiter's outcome (no lock held). */
static void insert_group(struct db *db, struct waiter **batch, int n)
{
	struct group_item items[GROUP_MAX];
	struct taskq_err err;
	enum taskq_rc rc;

	for (int i = 0; i < n; i++)
		items[i] = batch[i]->item;
	rc = store_submit_group(db, items, n, &err);
	for (int i = 0; i < n; i++) {
		batch[i]->rc = rc;
		batch[i]->err = err;
	}
	if (rc == TASKQ_OK || rc == TASKQ_DB_DOWN || n == 1)
		return;
	for (int i = 0; i < n; i++) /* one at a time: only the bad one fails */
		batch[i]->rc = store_submit_group(db, &items[i], 1, &batch[i]->err);
}

/* Leads one group: takes the queue's head, inserts it, wakes the waiters. Called and
 * returns with g.lock held. */
static void lead(struct db *db)
{
	struct waiter *batch[GROUP_MAX];
	int n = 0;

	g.leading = true;
	while (g.head && n < GROUP_MAX) {
		batch[n++] = g.head;
		g.head = g.head->next;
	}
	if (!g.head)
		g.tail = &g.head;
	pthread_mutex_unlock(&g.lock);

	insert_group(db, batch, n);
	{
		int b = 0;
		while (b < NLE && n > g_le[b])
			b++;
		atomic_fetch_add_explicit(&g_groups[b], 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&g_grouped, (unsigned long long)n, memory_order_relaxed);
	}

	pthread_mutex_lock(&g.lock);
	for (int i = 0; i < n; i++)
		batch[i]->done = true;
	g.leading = false;
	pthread_cond_broadcast(&g.done);
}

static atomic_bool g_on = true;

void combine_init(bool on)
{
	atomic_store(&g_on, on);
}

enum taskq_rc combine_submit(struct db *db, const struct task_new *n, struct task *out,
			     struct taskq_err *err)
{
	struct waiter w = {.item = {.n = n, .out = out}};
	bool created;

	if (!atomic_load(&g_on))
		return store_submit(db, n, out, &created, err);
	if (!uuid7_make(w.item.id))
		return taskq_fail(err, TASKQ_INTERNAL, "no random bytes for a task id");
	pthread_mutex_lock(&g.lock);
	*g.tail = &w;
	g.tail = &w.next;
	while (!w.done) {
		if (!g.leading)
			lead(db);
		else
			pthread_cond_wait(&g.done, &g.lock);
	}
	pthread_mutex_unlock(&g.lock);
	if (w.rc != TASKQ_OK)
		*err = w.err;
	return w.rc;
}

void combine_write_metrics(struct ptext *t)
{
	unsigned long long b[NLE + 1];

	for (int i = 0; i <= NLE; i++)
		b[i] = atomic_load_explicit(&g_groups[i], memory_order_relaxed);
	pt_family(t, "taskq_submit_group_size", "histogram",
		  "Submits inserted together by one statement and one commit (group commit).");
	pt_histogram(t, NULL, g_le, NLE, b,
		     (double)atomic_load_explicit(&g_grouped, memory_order_relaxed));
}
