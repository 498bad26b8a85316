/*
 * taskq: the command-line client. Talks to PostgreSQL directly through lib/store (the same
 * verbs as the HTTP API), for admins and scripts: migrate, submit, status, watch, cancel,
 * retry, list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "migrate.h"
#include "store.h"
#include "taskjson.h"
#include "xalloc.h"

#ifndef TASKQ_SQL_DIR
#define TASKQ_SQL_DIR "/usr/local/share/taskq/sql"
#endif

static struct {
	const char *db, *sql_dir, *queue, *state, *kind;
	long priority, delay, limit;
} g_cfg;

static const struct config_opt g_opts[] = {
	{"db", "TASKQ_DATABASE_URL", CFG_STR, NULL, 0, 0,
	 "PostgreSQL conninfo or URL (default: libpq's PG* environment)", &g_cfg.db},
	{"sql-dir", "TASKQ_SQL_DIR", CFG_STR, TASKQ_SQL_DIR, 0, 0, "migrations directory (migrate)",
	 &g_cfg.sql_dir},
	{"queue", NULL, CFG_STR, NULL, 0, 0, "queue (submit, list)", &g_cfg.queue},
	{"priority", NULL, CFG_INT, "0", -1000, 1000, "priority, higher runs first (submit)",
	 &g_cfg.priority},
	{"delay", NULL, CFG_INT, "0", 0, 31536000, "seconds before the task may run (submit)",
	 &g_cfg.delay},
	{"state", NULL, CFG_STR, NULL, 0, 0, "only tasks in this state (list)", &g_cfg.state},
	{"kind", NULL, CFG_STR, NULL, 0, 0, "only tasks of this kind (list)", &g_cfg.kind},
	{"limit", NULL, CFG_INT, "20", 1, 500, "how many tasks (list)", &g_cfg.limit},
};
#define NOPTS (sizeof g_opts / sizeof g_opts[0])

static const char synopsis[] =
	"taskq [options] COMMAND [ARGS]\n\n"
	"commands:\n"
	"  migrate                 apply the schema migrations (idempotent)\n"
	"  submit KIND [PAYLOAD]   submit a task (PAYLOAD: a JSON object); prints its id\n"
	"  status ID               print the task as JSON\n"
	"  watch ID                follow the task's progress until it finishes\n"
	"  cancel ID               cancel a queued task, or ask a running one to stop\n"
	"  retry ID                queue a failed or cancelled task again\n"
	"  list                    newest tasks first (--state, --queue, --kind, --limit)";

static void print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static int fail(const struct taskq_err *err)
{
	fprintf(stderr, "taskq: %s\n", err->msg);
	return err->rc == TASKQ_NOTFOUND ? 3 : 1;
}

static int need_id(const char *id)
{
	if (!id || !task_id_valid(id)) {
		fprintf(stderr, "taskq: a task id (UUID) is required\n");
		return 0;
	}
	return 1;
}

static int cmd_submit(struct db *db, const char *kind, const char *payload_arg)
{
	struct task_new n;
	struct task t = {0};
	struct taskq_err err;
	json_object *payload = NULL;
	char **kinds;
	int nk, known = 0;
	bool created;

	task_new_init(&n);
	n.kind = kind;
	n.queue = g_cfg.queue ? g_cfg.queue : "default";
	n.priority = (int)g_cfg.priority;
	n.delay_s = (double)g_cfg.delay;
	if (!task_name_valid(kind) || !task_name_valid(n.queue)) {
		fprintf(stderr, "taskq: bad kind or queue name\n");
		return 2;
	}
	if (payload_arg) {
		if (taskjson_parse(payload_arg, strlen(payload_arg), &payload, &err))
			return fail(&err);
		if (!json_object_is_type(payload, json_type_object)) {
			json_object_put(payload);
			fprintf(stderr, "taskq: the payload must be a JSON object\n");
			return 2;
		}
		n.payload = json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN);
	}
	if (store_kinds(db, &kinds, &nk, &err)) {
		json_object_put(payload);
		return fail(&err);
	}
	for (int i = 0; i < nk; i++) {
		known |= !strcmp(kinds[i], kind);
		free(kinds[i]);
	}
	free(kinds);
	if (!known) {
		json_object_put(payload);
		fprintf(stderr, "taskq: unknown task kind '%s'\n", kind);
		return 2;
	}
	if (store_submit(db, &n, &t, &created, &err)) {
		json_object_put(payload);
		return fail(&err);
	}
	store_wake(db, &err);
	puts(t.id);
	task_cleanup(&t);
	json_object_put(payload);
	return 0;
}

static int cmd_status(struct db *db, const char *id)
{
	struct task t = {0};
	struct taskq_err err;

	if (!need_id(id))
		return 2;
	if (store_get(db, id, &t, &err))
		return fail(&err);
	print_json(taskjson_encode(&t));
	task_cleanup(&t);
	return 0;
}

static void draw_bar(const struct task *t, int tty)
{
	char bar[31];
	int filled = t->progress * 30 / 100;

	for (int i = 0; i < 30; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[30] = '\0';
	if (tty)
		fprintf(stdout, "\r\033[K[%s] %3d%% %-9s %.60s", bar, t->progress,
			task_state_name(t->state), t->message ? t->message : "");
	else
		fprintf(stdout, "%3d%% %s %s\n", t->progress, task_state_name(t->state),
			t->message ? t->message : "");
	fflush(stdout);
}

static int cmd_watch(struct db *db, const char *id)
{
	struct taskq_err err;
	long long seen = -1;
	int tty = isatty(STDOUT_FILENO), code;

	if (!need_id(id))
		return 2;
	for (;;) {
		struct task t = {0};
		struct timespec ts = {0, 200000000L};

		if (store_get(db, id, &t, &err))
			return fail(&err);
		if (t.version != seen) {
			draw_bar(&t, tty);
			seen = t.version;
		}
		if (task_state_final(t.state)) {
			if (tty)
				putchar('\n');
			if (t.state == TASK_SUCCEEDED)
				printf("result: %s\n", t.result ? t.result : "null");
			else
				printf("%s: %s\n", task_state_name(t.state), t.error ? t.error : "");
			code = t.state == TASK_SUCCEEDED ? 0 : 1;
			task_cleanup(&t);
			return code;
		}
		task_cleanup(&t);
		nanosleep(&ts, NULL);
	}
}

static int cmd_cancel(struct db *db, const char *id)
{
	struct task t = {0};
	struct taskq_err err;
	enum cancel_outcome oc;

	if (!need_id(id))
		return 2;
	if (store_cancel(db, id, &t, &oc, &err))
		return fail(&err);
	printf("%s\n", oc == CANCEL_DONE ? "cancelled" : oc == CANCEL_REQUESTED ? "cancel requested"
								   : "already finished");
	task_cleanup(&t);
	return oc == CANCEL_FINISHED ? 4 : 0;
}

static int cmd_retry(struct db *db, const char *id)
{
	struct task t = {0};
	struct taskq_err err;
	enum taskq_rc rc;

	if (!need_id(id))
		return 2;
	rc = store_retry(db, id, &t, &err);
	task_cleanup(&t);
	if (rc)
		return fail(&err);
	store_wake(db, &err);
	puts("queued");
	return 0;
}

static int cmd_list(struct db *db)
{
	struct task_filter f = {.state = g_cfg.state, .queue = g_cfg.queue, .kind = g_cfg.kind,
				.limit = (int)g_cfg.limit};
	struct task_list l = {0};
	struct taskq_err err;

	if (f.state && task_state_parse(f.state) < 0) {
		fprintf(stderr, "taskq: unknown state '%s'\n", f.state);
		return 2;
	}
	if (store_list(db, &f, &l, &err))
		return fail(&err);
	printf("%-36s  %-10s %-12s %-10s %4s  %s\n", "ID", "STATE", "KIND", "QUEUE", "PCT", "CREATED");
	for (size_t i = 0; i < l.n; i++)
		printf("%-36s  %-10s %-12.12s %-10.10s %3d%%  %s\n", l.v[i].id, task_state_name(l.v[i].state),
		       l.v[i].kind, l.v[i].queue, l.v[i].progress, l.v[i].created_at);
	task_list_cleanup(&l);
	return 0;
}

int main(int argc, char **argv)
{
	struct taskq_err err;
	struct db *db;
	int npos, help, rc;
	const char *cmd;

	if (config_parse(g_opts, NOPTS, argc, argv, &npos, &help, &err)) {
		fprintf(stderr, "taskq: %s\n", err.msg);
		return 2;
	}
	if (help || npos == 0) {
		config_usage(help ? stdout : stderr, synopsis, g_opts, NOPTS);
		return help ? 0 : 2;
	}
	cmd = argv[1];
	db = store_open(g_cfg.db, "taskq-cli");
	if (!strcmp(cmd, "migrate"))
		rc = migrate_run(db, g_cfg.sql_dir);
	else if (!strcmp(cmd, "submit") && npos >= 2)
		rc = cmd_submit(db, argv[2], npos >= 3 ? argv[3] : NULL);
	else if (!strcmp(cmd, "status"))
		rc = cmd_status(db, npos >= 2 ? argv[2] : NULL);
	else if (!strcmp(cmd, "watch"))
		rc = cmd_watch(db, npos >= 2 ? argv[2] : NULL);
	else if (!strcmp(cmd, "cancel"))
		rc = cmd_cancel(db, npos >= 2 ? argv[2] : NULL);
	else if (!strcmp(cmd, "retry"))
		rc = cmd_retry(db, npos >= 2 ? argv[2] : NULL);
	else if (!strcmp(cmd, "list"))
		rc = cmd_list(db);
	else {
		config_usage(stderr, synopsis, g_opts, NOPTS);
		rc = 2;
	}
	db_free(db);
	return rc;
}
