/*
 * flow: the flow-control commands: `taskq queue pause|resume NAME` (no task of a paused queue
 * starts; running ones finish; `taskq queue aging` is shares.c's) and `taskq hold ID` / `taskq unhold ID` (a held task is not
 * claimed until released). The rules live in sql/functions/flow.sql; submit's flow options
 * (--debounce-ms, --max-delay-ms, --on-conflict, --start-by) are verbs.c's.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "model/task.h"
#include "store/live.h"
#include "store/tasks.h"

int cmd_queue(struct db *db, char **args)
{
	struct taskq_err err;
	bool pause = args[0] && !strcmp(args[0], "pause"), changed;

	if (args[0] && !strcmp(args[0], "aging"))
		return cmd_queue_aging(db, args);
	if (!args[1] || args[2] || (!pause && strcmp(args[0], "resume")))
		return cli_usage_error(
			"usage: taskq queue pause|resume NAME | aging QUEUE SECONDS");
	if (!task_name_valid(args[1]))
		return cli_data_error(
			"a queue is 1-64 characters of letters, digits, '_', '.', ':' or '-'");
	if (store_pause_queue(db, args[1], NULL, pause, &changed, &err))
		return cli_fail(&err);
	printf("%s%s\n", pause ? "paused" : "resumed", changed ? "" : " (it was already)");
	return CLI_OK;
}

/* Holds (hold) or releases a task. */
static int hold_or_release(struct db *db, const char *id, bool hold)
{
	struct task t = {0};
	struct taskq_err err;
	int rc;

	if ((rc = cli_check_id(id)))
		return rc;
	if ((hold ? store_hold : store_release_hold)(db, id, &t, &err)) {
		task_cleanup(&t);
		return cli_fail(&err);
	}
	task_cleanup(&t);
	puts(hold ? "held" : "queued");
	return CLI_OK;
}

int cmd_hold(struct db *db, const char *id)
{
	return hold_or_release(db, id, true);
}

int cmd_unhold(struct db *db, const char *id)
{
	return hold_or_release(db, id, false);
}
