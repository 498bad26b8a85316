/*
 * list: the tabular listings of rows: tasks (taskq list, newest first) and one task's events
 * (taskq history, oldest first). Plain aligned text, one row a line, for people and for awk;
 * a page of tasks that has more after it ends with "next: ID" on stderr, the cursor that
 * --before takes (GET /api/tasks's keyset: ids are time-ordered).
 */
#include <string.h>

#include "cli.h"
#include "base/config.h"
#include "store/tasks.h"

#define LIST_MAX 500 /* as GET /api/tasks */

int cmd_list(struct db *db, const struct cli_opts *o)
{
	struct task_filter f = {.state = o->state,
				.queue = o->queue,
				.kind = o->kind,
				.before = o->before,
				.owner = o->owner};
	struct task_list l = {0};
	struct taskq_err err;
	size_t shown;
	long limit;

	if (config_parse_long(o->limit, 1, LIST_MAX, &limit))
		return cli_data_error("--limit takes a whole number from 1 to %d", LIST_MAX);
	if (f.state && task_state_parse(f.state) < 0)
		return cli_data_error("unknown state '%.32s' (--state)", f.state);
	if (f.before && !task_id_valid(f.before))
		return cli_data_error("--before takes a task id (the next: line of a page)");
	/* one row more than the page: whether there is a next page */
	f.limit = (int)limit + 1;
	if (store_list(db, &f, &l, &err))
		return cli_fail(&err);
	shown = l.n > (size_t)limit ? (size_t)limit : l.n;
	printf("%-36s  %-10s %-12s %-10s %4s  %s\n", "ID", "STATE", "KIND", "QUEUE", "PCT",
	       "CREATED");
	for (size_t i = 0; i < shown; i++)
		printf("%-36s  %-10s %-12.12s %-10.10s %3d%%  %s\n", l.v[i].id,
		       task_state_name(l.v[i].state), l.v[i].kind, l.v[i].queue, l.v[i].progress,
		       l.v[i].created_at);
	fflush(stdout);
	/* the cursor of the next page, as GET /api/tasks's "next": --before takes it */
	if (l.n > shown)
		fprintf(stderr, "next: %s\n", l.v[shown - 1].id);
	task_list_cleanup(&l);
	return CLI_OK;
}

static int width(const char *s, int w)
{
	int n = s ? (int)strlen(s) : 1;
	return n > w ? n : w;
}

int cmd_history(struct db *db, const char *id)
{
	struct task t = {0};
	struct task_event *ev = NULL;
	struct taskq_err err;
	int n = 0, w_at = 2, w_ev = 5, w_wk = 6, rc;

	if ((rc = cli_check_id(id)))
		return rc;
	/* an unknown id is an error, not an empty history */
	if (store_get(db, id, &t, &err))
		return cli_fail(&err);
	task_cleanup(&t);
	if (store_history(db, id, &ev, &n, &err))
		return cli_fail(&err);
	for (int i = 0; i < n; i++) {
		w_at = width(ev[i].at, w_at);
		w_ev = width(ev[i].event, w_ev);
		w_wk = width(ev[i].worker_id, w_wk);
	}
	printf("%-*s  %-*s  %7s  %-*s  %s\n", w_at, "AT", w_ev, "EVENT", "ATTEMPT", w_wk, "WORKER",
	       "DETAIL");
	for (int i = 0; i < n; i++) {
		char attempt[16] = "-";

		if (ev[i].attempt >= 0)
			snprintf(attempt, sizeof attempt, "%d", ev[i].attempt);
		printf("%-*s  %-*s  %7s  ", w_at, ev[i].at ? ev[i].at : "-", w_ev,
		       ev[i].event ? ev[i].event : "-", attempt);
		if (ev[i].detail && *ev[i].detail) {
			printf("%-*s  ", w_wk, ev[i].worker_id ? ev[i].worker_id : "-");
			cli_put_text(stdout, ev[i].detail, (size_t)-1, false);
		} else {
			fputs(ev[i].worker_id ? ev[i].worker_id : "-", stdout);
		}
		putchar('\n');
	}
	task_events_free(ev, n);
	return CLI_OK;
}
