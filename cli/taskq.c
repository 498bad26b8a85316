/*
 * taskq: the command-line client. Parses the options and dispatches to the commands (one job
 * per file: verbs.c, watch.c, list.c, stats.c, migrate.c), which talk to PostgreSQL directly
 * through lib/store with the same verbs as the HTTP API, as an admin or with a token's rights
 * (who.c). Nothing else lives here.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/config.h"
#include "base/xalloc.h"
#include "migrate.h"
#include "store/live.h"
#include "who.h"

#ifndef TASKQ_SQL_DIR
#define TASKQ_SQL_DIR "/usr/local/share/taskq/sql"
#endif

static struct cli_opts g_cli;

static const struct config_opt g_opts[] = {
	{"db", "TASKQ_DATABASE_URL", CFG_STR, NULL, 0, 0,
	 "PostgreSQL conninfo or URL (default: libpq's PG* environment)", &g_cli.db},
	{"token", "TASKQ_TOKEN", CFG_STR, NULL, 0, 0,
	 "act with this bearer token's rights: an owner's token as that owner (never printed)",
	 &g_cli.token},
	{"sql-dir", "TASKQ_SQL_DIR", CFG_STR, TASKQ_SQL_DIR, 0, 0,
	 "SQL directory: schema/ and functions/ (migrate)", &g_cli.sql_dir},
	{"queue", NULL, CFG_STR, NULL, 0, 0, "queue (submit, schedule add, list)", &g_cli.queue},
	{"priority", NULL, CFG_STR, "0", 0, 0,
	 "-1000 to 1000, higher runs first (submit, schedule add)", &g_cli.priority},
	{"delay", NULL, CFG_STR, "0", 0, 0, "seconds before the task may run, to 31536000 (submit)",
	 &g_cli.delay},
	{"max-attempts", NULL, CFG_STR, "3", 0, 0,
	 "attempts before the task fails, 1 to 100 (submit, schedule add)", &g_cli.max_attempts},
	{"timeout", NULL, CFG_STR, NULL, 0, 0,
	 "seconds an attempt may run, 1 to 86400; default none (submit, schedule add)",
	 &g_cli.timeout},
	{"dedupe-key", NULL, CFG_STR, NULL, 0, 0,
	 "a live task of the owner with this key is answered instead (submit)", &g_cli.dedupe_key},
	{"concurrency-key", NULL, CFG_STR, NULL, 0, 0,
	 "tasks with this key run within the key's concurrency limit (submit)",
	 &g_cli.concurrency_key},
	{"ordering", NULL, CFG_STR, NULL, 0, 0,
	 "strict: the key's tasks start in submit order, none after a failed one (submit)",
	 &g_cli.ordering},
	{"after", NULL, CFG_STR, NULL, 0, 0,
	 "run after these tasks (ID[,ID...]) have succeeded; until then it is blocked (submit)",
	 &g_cli.after},
	{"after-policy", NULL, CFG_STR, NULL, 0, 0,
	 "success (default: a failed or cancelled parent cancels it) or always (submit)",
	 &g_cli.after_policy},
	{"debounce-ms", NULL, CFG_STR, NULL, 0, 0,
	 "with --dedupe-key: a submit while the key's task is queued moves its start to now + this"
	 " and gives it this payload (submit)",
	 &g_cli.debounce_ms},
	{"max-delay-ms", NULL, CFG_STR, NULL, 0, 0,
	 "with --debounce-ms: never start later than this after the first submit (submit)",
	 &g_cli.max_delay_ms},
	{"on-conflict", NULL, CFG_STR, NULL, 0, 0,
	 "with --dedupe-key: keep (default: the live task answers) or supersede (it is cancelled"
	 " and this one queued) (submit)",
	 &g_cli.on_conflict},
	{"start-by", NULL, CFG_STR, NULL, 0, 0,
	 "seconds: a task not started this long after it became runnable is cancelled (submit)",
	 &g_cli.start_by},
	{"wait-for", NULL, CFG_STR, NULL, 0, 0,
	 "wait for this signal before the first run: NAME, or a JSON object {\"signal\", "
	 "\"timeout_s\", \"on_timeout\"} as POST /api/tasks takes it (submit)",
	 &g_cli.wait_for},
	{"file", NULL, CFG_STR, NULL, 0, 0,
	 "tasks to submit, one JSON object a line (- for stdin), in statements of 1,000 (submit)",
	 &g_cli.file},
	{"wait", NULL, CFG_BOOL, "off", 0, 0, "follow the task as watch does, exit as it (submit)",
	 &g_cli.wait},
	{"state", NULL, CFG_STR, NULL, 0, 0, "only tasks in this state (list)", &g_cli.state},
	{"kind", NULL, CFG_STR, NULL, 0, 0, "only tasks of this kind (list)", &g_cli.kind},
	{"limit", NULL, CFG_STR, "20", 0, 0, "how many tasks, 1 to 500 (list)", &g_cli.limit},
	{"before", NULL, CFG_STR, NULL, 0, 0,
	 "the page after this one: the id of a page's \"next:\" line (list)", &g_cli.before},
	{"owner", NULL, CFG_STR, NULL, 0, 0,
	 "act as this owner: the new task's (submit), only its tasks (list, status, watch, history, cancel, retry, stats)",
	 &g_cli.owner},
	{"admin", NULL, CFG_BOOL, "off", 0, 0,
	 "the new token sees every owner's tasks (token create)", &g_cli.admin},
	{"read-only", NULL, CFG_BOOL, "off", 0, 0,
	 "the new token sees every owner's tasks and changes nothing (token create)",
	 &g_cli.read_only},
	{"expires", NULL, CFG_STR, NULL, 0, 0,
	 "the new token expires after 90 (seconds), 15m, 1.5h, 30d (token create)", &g_cli.expires},
	{"note", NULL, CFG_STR, NULL, 0, 0, "what the new token is for (token create)",
	 &g_cli.note},
	{"tz", NULL, CFG_STR, NULL, 0, 0,
	 "the time zone the cron expression is read in, default UTC (schedule add)", &g_cli.tz},
	{"backfill", NULL, CFG_STR, "0", 0, 0,
	 "missed fire times run after downtime besides the latest, to 1000 (schedule add)",
	 &g_cli.backfill},
};
#define NOPTS (sizeof g_opts / sizeof g_opts[0])

static const char synopsis[] =
	"taskq [options] COMMAND [ARGS]\n\n"
	"commands:\n"
	"  migrate                 apply the schema steps not applied yet, then every function\n"
	"                          (safe to run again)\n"
	"  submit KIND [PAYLOAD]   submit a task (PAYLOAD: a JSON object); prints its id;\n"
	"                          --queue, --priority, --delay, --max-attempts, --timeout,\n"
	"                          --dedupe-key, --concurrency-key, --ordering as POST /api/tasks\n"
	"                          takes them;\n"
	"                          with --wait, then follows it as watch does; with --after\n"
	"                          ID[,ID...], it runs once those tasks have succeeded\n"
	"  submit --file F         submit the tasks of F (JSON lines, as POST /api/tasks takes\n"
	"                          them, \"after\" may name earlier lines by their index from 0;\n"
	"                          all checked first); prints their ids in order\n"
	"  status ID               print the task as JSON\n"
	"  watch ID                follow the task (a progress bar on a terminal, else a line per\n"
	"                          change) and print its result or error\n"
	"  history ID              the task's events: claims, retries, the outcome\n"
	"  cancel ID               cancel a queued task, or ask a running one to stop\n"
	"  retry ID                queue a failed or cancelled task again\n"
	"  signal ID NAME [JSON]   send the task signal NAME (JSON: its payload); a task that\n"
	"                          waits for it runs again (submit --wait-for NAME waits first)\n"
	"  hold ID                 keep a queued task from starting until unhold\n"
	"  unhold ID               queue a held task again\n"
	"  queue pause|resume NAME no task of a paused queue starts (running ones finish);\n"
	"                          resume lets them start again\n"
	"  list                    newest tasks first (--state, --queue, --kind, --limit); when\n"
	"                          more follow, \"next: ID\" on stderr: --before ID lists them\n"
	"  stats                   per queue counts (delayed and blocked apart), the longest wait\n"
	"                          of a runnable task, finished in the last minute, the workers\n"
	"                          serving it; the live workers\n"
	"  token create OWNER      a new bearer token for the HTTP API (--admin or --read-only,\n"
	"                          --expires, --note);\n"
	"                          printed once, only its hash is stored\n"
	"  token list              the tokens (never the tokens themselves)\n"
	"  token revoke ID|PREFIX  revoke a token; taskq-fcgi honours it at once\n"
	"  schedule add NAME CRON KIND [PAYLOAD]\n"
	"                          a recurring schedule (--tz, --queue, --priority,\n"
	"                          --max-attempts, --timeout, --backfill, --owner); replaces one\n"
	"                          of that name\n"
	"  schedule list           the schedules, their next and last fire times\n"
	"  schedule rm NAME        remove a schedule\n"
	"  limit set queue|key NAME N SECONDS\n"
	"                          at most N task starts in any SECONDS, across every worker\n"
	"  limit set owner OWNER N at most N unfinished tasks of OWNER, however they are made\n"
	"                          (OWNER *: every owner without a cap of its own; N 0: no cap)\n"
	"  limit list              the rate limits and the starts in their current window; the\n"
	"                          caps on owners' unfinished tasks\n"
	"  limit rm queue|key|owner NAME\n"
	"                          remove a rate limit, or an owner's cap\n"
	"  owner weight OWNER W    OWNER's share of the starts when owners compete for workers\n"
	"                          (0.01-100; every other owner's is 1)\n"
	"  owner list              the owners with a weight of their own\n"
	"  queue aging QUEUE SECONDS\n"
	"                          QUEUE's waiting tasks gain one step of priority per SECONDS\n"
	"                          of wait (0: no aging)\n\n"
	"The CLI talks to PostgreSQL directly: whoever can connect is an admin, unless a token\n"
	"(--token, TASKQ_TOKEN) says otherwise: an owner's token acts as that owner, as the HTTP\n"
	"API does, and may not run token, limit, owner or queue (migrate takes no token).\n\n"
	"exit status: 0 ok (watch, submit --wait: the task succeeded), 1 the task failed,\n"
	"2 it was cancelled, 3 not found, 4 wrong state (cancel of a finished task, retry of\n"
	"one not failed or cancelled), 5 database error, 64 usage (unknown command or option,\n"
	"missing argument), 65 a value refused (bad JSON, field, kind, id), 66 the --file\n"
	"cannot be read, 75 database unreachable or the owner at its cap of unfinished tasks\n"
	"(try again), 77 the token is refused";

static int run_migrate(struct db *db, char **a)
{
	(void)a;
	return migrate_run(db, g_cli.sql_dir);
}

static int run_submit(struct db *db, char **a)
{
	if (g_cli.file && !a[0])
		return cmd_submit_file(db, &g_cli, g_cli.file);
	if (g_cli.file || !a[0])
		return cli_usage_error(
			"usage: taskq submit KIND [PAYLOAD] | taskq submit --file F");
	return cmd_submit(db, &g_cli, a[0], a[1]);
}

static int run_status(struct db *db, char **a)
{
	return cmd_status(db, a[0]);
}

static int run_watch(struct db *db, char **a)
{
	return cmd_watch(db, a[0]);
}

static int run_history(struct db *db, char **a)
{
	return cmd_history(db, a[0]);
}

static int run_cancel(struct db *db, char **a)
{
	return cmd_cancel(db, a[0]);
}

static int run_retry(struct db *db, char **a)
{
	return cmd_retry(db, a[0]);
}

static int run_signal(struct db *db, char **a)
{
	return cmd_signal(db, a[0], a[1], a[2]);
}

static int run_hold(struct db *db, char **a)
{
	return cmd_hold(db, a[0]);
}

static int run_unhold(struct db *db, char **a)
{
	return cmd_unhold(db, a[0]);
}

static int run_queue(struct db *db, char **a)
{
	return cmd_queue(db, a);
}

static int run_list(struct db *db, char **a)
{
	(void)a;
	return cmd_list(db, &g_cli);
}

static int run_stats(struct db *db, char **a)
{
	(void)a;
	return cmd_stats(db, &g_cli);
}

static int run_schedule(struct db *db, char **a)
{
	return cmd_schedule(db, &g_cli, a);
}

static int run_limit(struct db *db, char **a)
{
	return cmd_limit(db, a);
}

static int run_owner(struct db *db, char **a)
{
	return cmd_owner(db, a);
}

static int run_token(struct db *db, char **a)
{
	return cmd_token(db, &g_cli, a[0], a[1]);
}

static const struct command {
	const char *name;
	int min_args, max_args;
	int (*run)(struct db *db, char **args); /* args: max_args entries, NULL when absent */
	const char *usage;
	bool by_id; /* args[0] is a task id: --owner limits the command to that owner's tasks */
	bool admin_only; /* an owner's token may not run it (as the API's admin routes) */
	bool reads;      /* it changes nothing (a read-only token may run it); the commands with
			  * subcommands read in their "list" only */
} g_commands[] = {
	{"migrate", 0, 0, run_migrate, "", false, false, false},
	{"submit", 0, 2, run_submit, " KIND [PAYLOAD] | --file F", false, false, false},
	{"status", 1, 1, run_status, " ID", true, false, true},
	{"watch", 1, 1, run_watch, " ID", true, false, true},
	{"history", 1, 1, run_history, " ID", true, false, true},
	{"cancel", 1, 1, run_cancel, " ID", true, false, false},
	{"retry", 1, 1, run_retry, " ID", true, false, false},
	{"signal", 2, 3, run_signal, " ID NAME [JSON]", true, false, false},
	{"hold", 1, 1, run_hold, " ID", true, false, false},
	{"unhold", 1, 1, run_unhold, " ID", true, false, false},
	{"queue", 2, 3, run_queue, " pause|resume NAME | aging QUEUE SECONDS", false, true, false},
	{"list", 0, 0, run_list, "", false, false, true},
	{"stats", 0, 0, run_stats, "", false, false, true},
	{"token", 1, 2, run_token, " create OWNER | list | revoke ID|PREFIX", false, true, false},
	{"schedule", 1, 5, run_schedule, " add NAME CRON KIND [PAYLOAD] | list | rm NAME", false,
	 false, false},
	{"limit", 1, 5, run_limit, " set queue|key NAME N SECONDS | list | rm queue|key NAME",
	 false, true, false},
	{"owner", 1, 3, run_owner, " weight OWNER W | list", false, true, false},
};

int main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	struct taskq_err err;
	struct db *db;
	char *args[5] = {NULL, NULL, NULL, NULL, NULL};
	char **given = xcalloc((size_t)argc + 1, sizeof *given);
	int npos, help, nargs, rc;

	/* config_parse reorders argv; the copy still finds the token to wipe */
	memcpy(given, argv, (size_t)argc * sizeof *given);
	rc = config_parse(g_opts, NOPTS, argc, argv, &npos, &help, &err);
	who_take_token(&g_cli, argc, given);
	free(given);
	if (rc) {
		fprintf(stderr, "taskq: %s\n", err.msg);
		return CLI_USAGE;
	}
	if (help) {
		config_usage(stdout, synopsis, g_opts, NOPTS);
		return CLI_OK;
	}
	for (size_t i = 0; npos > 0 && i < sizeof g_commands / sizeof g_commands[0]; i++)
		if (!strcmp(argv[1], g_commands[i].name))
			cmd = &g_commands[i];
	nargs = npos - 1;
	if (cmd && (nargs < cmd->min_args || nargs > cmd->max_args))
		return cli_usage_error("usage: taskq [options] %s%s (see --help)", cmd->name,
				       cmd->usage);
	if (!cmd) {
		if (npos > 0)
			fprintf(stderr, "taskq: unknown command '%s'\n", argv[1]);
		config_usage(stderr, synopsis, g_opts, NOPTS);
		return CLI_USAGE;
	}
	for (int i = 0; i < nargs; i++)
		args[i] = argv[2 + i];
	/* following a task needs a connection that LISTENs for its changes */
	if (cmd->run == run_watch || (cmd->run == run_submit && g_cli.wait))
		db = store_open_watcher(g_cli.db, "taskq-cli-watch");
	else
		db = store_open(g_cli.db, "taskq-cli");
	/* migrate makes the schema that checks tokens: the connection's rights decide */
	rc = cmd->run == run_migrate
		     ? CLI_OK
		     : who_resolve(db, &g_cli, cmd->name, cmd->admin_only,
				   cmd->reads || (args[0] && !strcmp(args[0], "list")));
	if (rc == CLI_OK && cmd->by_id && g_cli.owner)
		rc = cli_check_owner(db, g_cli.owner, args[0]);
	if (rc == CLI_OK)
		rc = cmd->run(db, args);
	db_free(db);
	return rc;
}
