/*
 * stats: the operator's one-screen overview (taskq stats): per queue the counts by state, how
 * many queued tasks are delayed and blocked, the wait of the oldest runnable one, how many
 * finished in the last minute and how many live workers serve it (taskq.queue_overview), a
 * warning line for each queue whose queued tasks no live worker serves, then the live
 * workers (taskq.workers). With --owner (or an owner's token), the counts of that owner's
 * tasks; the workers only for an admin. Plain text in aligned columns; every cell is one word
 * except the last column's, so awk can read it.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "store/tasks.h"
#include "store/metrics.h"
#include "base/xalloc.h"

#define NCOLS 14

/* A table of text cells printed in aligned columns: numbers right-aligned, text left-aligned
 * (unpadded in the last column). */
struct table {
	int ncols, nrows;
	const char *head[NCOLS];
	bool right[NCOLS];
	char **cells; /* nrows * ncols, owned */
};

static void table_add(struct table *t, char **row)
{
	t->cells = xrealloc(t->cells, (size_t)(t->nrows + 1) * (size_t)t->ncols * sizeof *t->cells);
	memcpy(t->cells + (size_t)t->nrows * (size_t)t->ncols, row, (size_t)t->ncols * sizeof *row);
	t->nrows++;
}

static char *cell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *cell(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return xstrdup(buf);
}

static void table_print(struct table *t)
{
	int w[NCOLS];

	for (int c = 0; c < t->ncols; c++) {
		w[c] = (int)strlen(t->head[c]);
		for (int r = 0; r < t->nrows; r++) {
			int n = (int)strlen(t->cells[r * t->ncols + c]);
			w[c] = n > w[c] ? n : w[c];
		}
	}
	for (int r = -1; r < t->nrows; r++) {
		for (int c = 0; c < t->ncols; c++) {
			const char *s = r < 0 ? t->head[c] : t->cells[r * t->ncols + c];

			if (t->right[c])
				printf("%*s", w[c], s);
			else if (c < t->ncols - 1)
				printf("%-*s", w[c], s);
			else
				fputs(s, stdout); /* no trailing blanks */
			fputs(c < t->ncols - 1 ? "  " : "\n", stdout);
		}
	}
}

static void table_cleanup(struct table *t)
{
	for (int i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

/* "42s", "3m07s", "2h05m", "3d04h"; "-" for a negative age (none). */
static char *age(double s)
{
	long n = (long)s;

	if (s < 0)
		return xstrdup("-");
	if (n < 60)
		return cell("%lds", n);
	if (n < 3600)
		return cell("%ldm%02lds", n / 60, n % 60);
	if (n < 86400)
		return cell("%ldh%02ldm", n / 3600, n % 3600 / 60);
	return cell("%ldd%02ldh", n / 86400, n % 86400 / 3600);
}

static int print_queues(struct db *db, const char *owner)
{
	struct table t = {.ncols = 14,
			  .head = {"QUEUE", "QUEUED", "DELAYED", "BLOCKED", "RUNNING", "SUCCEEDED",
				   "FAILED", "CANCELLED", "OLDEST", "DONE/MIN", "WORKERS",
				   "WAITING", "HELD", "PAUSED"},
			  .right = {false, true, true, true, true, true, true, true, true, true,
				    true, true, true, true}};
	struct queue_stat *q;
	struct taskq_err err;
	char warning[200];
	int n, unserved = 0;

	if (store_queues(db, owner, &q, &n, &err))
		return cli_fail(&err);
	for (int i = 0; i < n; i++) {
		char *row[NCOLS] = {xstrdup(q[i].queue)};

		row[1] = cell("%lld", q[i].count[TASK_QUEUED]);
		row[2] = cell("%lld", q[i].delayed);
		row[3] = cell("%lld", q[i].blocked);
		for (int s = TASK_RUNNING; s <= TASK_CANCELLED; s++)
			row[3 + s] = cell("%lld", q[i].count[s]);
		row[8] = age(q[i].oldest_queued_s);
		row[9] = cell("%lld", q[i].finished_last_minute);
		row[10] = cell("%lld", q[i].workers);
		row[11] = cell("%lld", q[i].count[TASK_WAITING]);
		row[12] = cell("%lld", q[i].count[TASK_HELD]);
		row[13] = xstrdup(q[i].paused ? "paused" : "-");
		table_add(&t, row);
	}
	if (n == 0)
		puts("no tasks");
	else
		table_print(&t);
	for (int i = 0; i < n; i++)
		if (q[i].workers == 0 && q[i].count[TASK_QUEUED] > 0) {
			if (!unserved++)
				putchar('\n');
			task_unserved_warning(q[i].queue, warning, sizeof warning);
			printf("warning: %s\n", warning);
		}
	table_cleanup(&t);
	queue_stats_free(q, n);
	return CLI_OK;
}

static int print_workers(struct db *db)
{
	struct table t = {.ncols = 6,
			  .head = {"HOST", "PID", "RUNNING", "VERSION", "QUEUES", "LAST SEEN"},
			  .right = {false, true, true, false, false, false}};
	struct worker_row *w;
	struct taskq_err err;
	int n;

	if (store_workers(db, &w, &n, &err))
		return cli_fail(&err);
	for (int i = 0; i < n; i++) {
		char *seen = age(w[i].last_seen_s);
		char *row[NCOLS] = {xstrdup(w[i].host),
				    cell("%d", w[i].pid),
				    cell("%d/%d", w[i].running, w[i].concurrency),
				    xstrdup(w[i].version),
				    xstrdup(w[i].queues),
				    cell("%s ago", seen)};

		free(seen);
		table_add(&t, row);
	}
	if (n == 0) {
		puts("no live workers (none sent a heartbeat in the last minute)");
	} else {
		printf("%d live worker%s\n", n, n == 1 ? "" : "s");
		table_print(&t);
	}
	table_cleanup(&t);
	store_workers_free(w, n);
	return CLI_OK;
}

int cmd_stats(struct db *db, const struct cli_opts *o)
{
	int rc = print_queues(db, o->owner);

	/* the fleet is an admin's business: an owner's token sees its queues only, as
	 * GET /api/queues shows them */
	if (rc || o->as_owner)
		return rc;
	putchar('\n');
	return print_workers(db);
}
