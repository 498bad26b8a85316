/*
 * list: the tabular listings of rows: tasks (taskq list, newest first) and one task's events
 * (taskq history, oldest first). Plain aligned text, one row a line, for people and for awk.
 */
#include <string.h>

#include "cli.h"
#include "store/tasks.h"

int cmd_list(struct db *db, const struct cli_opts *o)
{
	struct task_filter f = {.state = o->state,
				.queue = o->queue,
				.kind = o->kind,
				.owner = o->owner,
				.limit = (int)o->limit};
	struct task_list l = {0};
	struct taskq_err err;

	if (f.state && task_state_parse(f.state) < 0)
		return cli_usage_error("unknown state '%s'", f.state);
	if (store_list(db, &f, &l, &err))
		return cli_fail(&err);
	printf("%-36s  %-10s %-12s %-10s %4s  %s\n", "ID", "STATE", "KIND", "QUEUE", "PCT",
	       "CREATED");
	for (size_t i = 0; i < l.n; i++)
		printf("%-36s  %-10s %-12.12s %-10.10s %3d%%  %s\n", l.v[i].id,
		       task_state_name(l.v[i].state), l.v[i].kind, l.v[i].queue, l.v[i].progress,
		       l.v[i].created_at);
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
	int n = 0, w_at = 2, w_ev = 5, w_wk = 6;

	if (!cli_need_id(id))
		return CLI_USAGE;
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
