/*
 * batch: taskq submit --file TASKS.jsonl. One task per line, each an object as POST /api/tasks
 * takes it ("-" reads stdin). Every line is checked before anything is inserted (a bad one
 * stops the run with its line number, nothing lands); then the tasks go in statements of up
 * to 1,000 (taskq.submit_many: all or nothing per statement), with a progress bar on a
 * terminal. The ids are printed in the order of the lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "store/live.h"
#include "store/tasks.h"
#include "store/batch.h"
#include "model/taskjson.h"
#include "cred/token.h"
#include "base/xalloc.h"

#define CHUNK 1000
#define MAX_LINE (1 << 20)

struct line_task {
	json_object *obj; /* the parsed line; n borrows from it */
	struct task_new n;
	char *payload_text;
};

struct file_tasks {
	struct line_task *t;
	size_t n, cap;
	char (*id)[TASK_ID_LEN + 1]; /* the ids submitted, when a task names earlier ones */
};

static void file_tasks_free(struct file_tasks *f)
{
	for (size_t i = 0; i < f->n; i++) {
		json_object_put(f->t[i].obj);
		free(f->t[i].payload_text);
	}
	free(f->t);
	free(f->id);
}

/* An index in after names a task of the file; a statement holds tasks [from, from + n):
 * an earlier statement's task becomes its id, one of this statement an index within it. */
static void rebase_after(struct file_tasks *f, size_t i, size_t from)
{
	json_object *after = f->t[i].n.after;

	for (size_t k = 0; f->t[i].n.after_index && k < json_object_array_length(after); k++) {
		json_object *e = json_object_array_get_idx(after, k);
		int64_t x;

		if (!json_object_is_type(e, json_type_int))
			continue;
		x = json_object_get_int64(e);
		json_object_array_put_idx(after, k,
					  (size_t)x < from
						  ? json_object_new_string(f->id[x])
						  : json_object_new_int64(x - (int64_t)from));
	}
	f->t[i].n.after_index = false; /* rebased once */
}

static bool known_kind(char **kinds, int nkinds, const char *kind)
{
	for (int i = 0; i < nkinds; i++)
		if (!strcmp(kinds[i], kind))
			return true;
	return false;
}

/* Reads and checks every line; CLI_OK, or the exit code after saying which line is bad. */
static int read_tasks(FILE *in, const char *owner, char **kinds, int nkinds, struct file_tasks *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	int rc = CLI_OK;

	while (rc == CLI_OK && (len = getline(&line, &cap, in)) >= 0) {
		struct taskq_err err;
		struct line_task lt = {0};

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[strspn(line, " \t")] == '\0')
			continue;
		if (len > MAX_LINE) {
			rc = cli_data_error("line %ld: longer than %d bytes", lineno, MAX_LINE);
		} else if (taskjson_parse(line, (size_t)len, &lt.obj, &err) ||
			   !json_object_is_type(lt.obj, json_type_object)) {
			rc = cli_data_error("line %ld: not a JSON object%s%s", lineno,
					    lt.obj ? "" : ": ", lt.obj ? "" : err.msg);
		} else if (taskjson_parse_submit(lt.obj, &lt.n, &lt.payload_text, &err)) {
			rc = cli_data_error("line %ld: %s", lineno, err.msg);
		} else if (!known_kind(kinds, nkinds, lt.n.kind)) {
			rc = cli_data_error("line %ld: unknown task kind '%s'", lineno, lt.n.kind);
		} else if (taskjson_after_forward(&lt.n, f->n) >= 0) {
			rc = cli_data_error(
				"line %ld: after[%ld] is not the index of an earlier task"
				" of the file",
				lineno, taskjson_after_forward(&lt.n, f->n));
		} else {
			if (owner)
				lt.n.owner = owner;
			if (f->n == f->cap) {
				f->cap = f->cap ? f->cap * 2 : 1024;
				f->t = xrealloc(f->t, f->cap * sizeof *f->t);
			}
			f->t[f->n++] = lt;
			continue;
		}
		json_object_put(lt.obj);
		free(lt.payload_text);
	}
	free(line);
	if (rc == CLI_OK && ferror(in))
		rc = cli_input_error("cannot read the file");
	return rc;
}

static void progress(bool tty, size_t done, size_t total)
{
	int width = 30, filled = total ? (int)(done * (size_t)width / total) : width;

	if (!tty)
		return;
	fprintf(stderr, "\r\033[Ksubmitting [%.*s%*s] %zu/%zu", filled,
		"##############################", width - filled, "", done, total);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

/* Inserts tasks [from, from + n) in one statement and prints their ids. */
static int submit_chunk(struct db *db, const char *owner, struct file_tasks *f, size_t from,
			size_t n, long *created)
{
	json_object *arr = json_object_new_array_ext((int)n);
	struct batch_row *rows = NULL;
	struct taskq_err err;
	int nrows = 0, rc = CLI_OK;

	for (size_t i = from; i < from + n; i++) {
		rebase_after(f, i, from);
		json_object_array_add(arr, taskjson_batch_element(&f->t[i].n));
	}
	/* with --owner, as that owner: its own tasks only may be parents */
	if (store_submit_many(db, owner ? owner : "anonymous", arr, owner, &rows, &nrows, &err)) {
		rc = cli_fail(&err);
	} else if ((size_t)nrows != n) {
		rc = cli_fail(&(struct taskq_err){TASKQ_INTERNAL, "a duplicate finished meanwhile; "
								  "submit the rest again"});
	} else {
		for (int i = 0; i < nrows; i++) {
			puts(rows[i].id);
			*created += rows[i].created;
			if (f->id) {
				memcpy(f->id[from + (size_t)i], rows[i].id, TASK_ID_LEN);
				f->id[from + (size_t)i][TASK_ID_LEN] = '\0';
			}
		}
	}
	store_batch_free(rows, nrows);
	json_object_put(arr);
	return rc;
}

int cmd_submit_file(struct db *db, const struct cli_opts *o, const char *path)
{
	FILE *in = strcmp(path, "-") ? fopen(path, "r") : stdin;
	struct file_tasks f = {0};
	struct taskq_err err;
	char **kinds = NULL;
	int nkinds = 0, rc;
	long created = 0;
	bool tty = isatty(STDERR_FILENO);

	if (!in)
		return cli_input_error("cannot open %s: %s", path, strerror(errno));
	if (o->owner && !token_owner_valid(o->owner))
		rc = cli_data_error("an owner is 1-64 of A-Z a-z 0-9 _ . @ : -");
	else if (store_kinds(db, &kinds, &nkinds, &err))
		rc = cli_fail(&err);
	else
		rc = read_tasks(in, o->owner, kinds, nkinds, &f);
	if (in != stdin)
		fclose(in);
	for (size_t i = 0; rc == CLI_OK && !f.id && i < f.n; i++)
		if (f.t[i].n.after_index && f.n > CHUNK)
			f.id = xcalloc(f.n, sizeof *f.id);
	for (size_t at = 0; rc == CLI_OK && at < f.n; at += CHUNK) {
		size_t n = f.n - at < CHUNK ? f.n - at : CHUNK;
		rc = submit_chunk(db, o->owner, &f, at, n, &created);
		fflush(stdout);
		progress(tty, at + n, f.n);
	}
	if (rc == CLI_OK && created > 0)
		store_wake(db, &err); /* best effort: the workers' poll picks them up anyway */
	if (rc == CLI_OK)
		fprintf(stderr, "taskq: %zu tasks, %ld new (the rest held a live dedupe key)\n",
			f.n, created);
	for (int i = 0; i < nkinds; i++)
		free(kinds[i]);
	free(kinds);
	file_tasks_free(&f);
	return rc;
}
