/*
 * cli: what the taskq commands share: the parsed options, the exit codes, and the few output
 * helpers every command uses. Commands live one job per file (verbs.c, watch.c, list.c,
 * stats.c, migrate.c …); cli/taskq.c parses the command line and dispatches, cli/who.c says
 * whom a token makes it act as. No SQL here: every command goes through lib/store.
 */
#ifndef TASKQ_CLI_H
#define TASKQ_CLI_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "store/db.h"
#include "base/err.h"

/*
 * Exit codes (the man page's EXIT STATUS has the same table). watch and submit --wait exit
 * with the task's outcome (0, 1, 2), so the other failures keep codes of their own and a
 * script can tell "the task failed" from "taskq could not ask"; above 63, sysexits(3)'s.
 */
enum cli_exit {
	CLI_OK = 0,          /* done; watch: the task succeeded */
	CLI_TASK_FAILED = 1, /* watch: the task failed */
	CLI_CANCELLED = 2,   /* watch: the task was cancelled */
	CLI_NOTFOUND = 3,    /* no such task (or another owner's), token, schedule, limit */
	CLI_WRONG_STATE = 4, /* cancel of a finished task, retry of one not failed or cancelled */
	CLI_ERROR = 5,       /* the database failed the request (not for the data); a migration */
	CLI_USAGE = 64,      /* the command line: unknown command or option, missing argument */
	CLI_DATAERR = 65,    /* a value refused: JSON, a field, a kind, an id, a check */
	CLI_NOINPUT = 66,    /* submit --file: the file cannot be opened or read */
	CLI_TEMPFAIL = 75,   /* the database is unreachable: try again later */
	CLI_NOPERM = 77,     /* the token is unknown, expired or revoked, or not an admin's */
};

/* The options of the command line (see the table in cli/taskq.c); strings borrowed from argv,
 * the environment or the defaults, except owner with a token (cli/who.c's). Numbers stay
 * text: the task's fields are checked by the HTTP API's rules (cli/taskbody.c). */
struct cli_opts {
	const char *db, *sql_dir, *queue, *state, *kind, *owner, *expires, *note, *file, *tz,
		*after, *after_policy, *token, *before, *wait_for;
	const char *priority, *delay, *max_attempts, *timeout, *dedupe_key, *concurrency_key,
		*limit, *backfill, *ordering;
	const char *debounce_ms, *max_delay_ms, *on_conflict, *start_by; /* flow control */
	long wait, admin, read_only;
	bool as_owner; /* acting with an owner's token: that owner's rights, no admin's */
};

/* Prints "taskq: <msg>" on stderr and returns the exit code for err->rc. */
int cli_fail(const struct taskq_err *err);
/* Prints "taskq: <fmt …>" on stderr and returns code (an enum cli_exit). */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cli_error with CLI_USAGE: for a wrong command line. */
#define cli_usage_error(...) cli_error(CLI_USAGE, __VA_ARGS__)
/* cli_error with CLI_DATAERR: for a value refused. */
#define cli_data_error(...) cli_error(CLI_DATAERR, __VA_ARGS__)
/* cli_error with CLI_NOINPUT: an input file unreadable. */
#define cli_input_error(...) cli_error(CLI_NOINPUT, __VA_ARGS__)
/* CLI_OK when id is a task id; else says so on stderr and returns CLI_USAGE (no id) or
 * CLI_DATAERR (not a UUID). */
int cli_check_id(const char *id);
/* CLI_OK when task id is owner's; else says "no such task" (as the API does for another
 * owner's task) and returns CLI_NOTFOUND, or the error's code. */
int cli_check_owner(struct db *db, const char *owner, const char *id);
/* CLI_OK when kind is registered, else the exit code (after saying so). */
int cli_check_kind(struct db *db, const char *kind);
/* True when no live worker serves queue (taskq.served_queues); false also when that cannot
 * be read. */
bool cli_queue_unserved(struct db *db, const char *queue);
/* Prints o pretty on out and puts it. */
void cli_print_json(FILE *out, json_object *o);
/* Prints JSON text (a task's result) pretty on out, or as it is when it does not parse. */
void cli_print_json_text(FILE *out, const char *text);
/* Writes s (NULL: nothing) on out, at most max characters (UTF-8 code points; a cut never
 * splits one), as text safe for a terminal: control characters (escape sequences from a task's
 * message, say) become spaces, except newlines and tabs when multiline. Returns the characters
 * written. */
size_t cli_put_text(FILE *out, const char *s, size_t max, bool multiline);

/* The commands. Each returns its exit code. */
int cmd_submit(struct db *db, const struct cli_opts *o, const char *kind, const char *payload);
int cmd_limit(struct db *db, char **args);
int cmd_schedule(struct db *db, const struct cli_opts *o, char **args);
int cmd_submit_file(struct db *db, const struct cli_opts *o, const char *path);
int cmd_status(struct db *db, const char *id);
int cmd_cancel(struct db *db, const char *id);
int cmd_retry(struct db *db, const char *id);
/* taskq signal ID NAME [JSON]: sends the task signal NAME with the payload JSON. */
int cmd_signal(struct db *db, const char *id, const char *name, const char *payload);
/* queue pause|resume NAME */
int cmd_queue(struct db *db, char **args);
int cmd_hold(struct db *db, const char *id);
int cmd_unhold(struct db *db, const char *id);
int cmd_list(struct db *db, const struct cli_opts *o);
int cmd_history(struct db *db, const char *id);
/* Per queue counts: of owner's tasks (NULL: all); the workers too, for an admin. */
int cmd_stats(struct db *db, const struct cli_opts *o);
/* token create OWNER | list | revoke ID|PREFIX */
int cmd_token(struct db *db, const struct cli_opts *o, const char *verb, const char *arg);
/* db must LISTEN on taskq_task (store_open_watcher). */
int cmd_watch(struct db *db, const char *id);
/* owner weight OWNER W | list */
int cmd_owner(struct db *db, char **args);
/* queue aging QUEUE SECONDS */
int cmd_queue_aging(struct db *db, char **args);

#endif
