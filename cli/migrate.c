/*
 * migrate: finds and reads the files `taskq migrate` applies, and says what it did. First the
 * schema chain, DIR/schema/NNN_name.sql: each step not yet recorded, in number order, each in
 * a transaction of its own (store_migrate). Then the functions, views and triggers: every file
 * DIR/functions/order.txt lists, in its order, all of them every time, in one transaction
 * (store_migrate_functions). No SQL of its own: lib/store* runs the files.
 *
 * Why a transaction per schema step: a step that adds a value to an enum type cannot use it
 * (nor can a later step, nor the functions) before it commits; and a step that fails names
 * itself and leaves the steps before it recorded. Why one transaction for the functions: a
 * session never sees half of a release's functions, and a file that fails changes nothing.
 */
#include "migrate.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/config.h"
#include "base/strlist.h"
#include "base/xalloc.h"
#include "store/migrate.h"

#define ORDER_FILE "order.txt"

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads a whole file; the caller frees it. NULL on failure. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = xmalloc((size_t)n + 1);
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
		}
	}
	fclose(f);
	return buf;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && !strcmp(s + n - t, tail);
}

/* "012_name.sql" → 12; -1 when the name is not a schema step. */
static int version_of(const char *name)
{
	char digits[4];
	long v;

	if (strlen(name) < 9 || !ends_with(name, ".sql") || name[3] != '_')
		return -1;
	memcpy(digits, name, 3);
	digits[3] = '\0';
	return config_parse_long(digits, 1, 999, &v) == TASKQ_OK ? (int)v : -1;
}

/* The names in dir that keep(name) accepts, sorted. 0, or 1 with a message. */
static int list_dir(const char *dir, bool (*keep)(const char *), struct strlist *out)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d) {
		fprintf(stderr, "taskq: cannot open directory %s\n", dir);
		return CLI_ERROR;
	}
	while ((e = readdir(d)) != NULL)
		if (keep(e->d_name))
			strlist_add(out, e->d_name);
	closedir(d);
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, by_name);
	return 0;
}

static bool is_step(const char *name)
{
	return version_of(name) > 0;
}

static bool is_sql(const char *name)
{
	return name[0] != '.' && ends_with(name, ".sql");
}

/* A name order.txt may list: a .sql file of the directory itself, nothing else. */
static bool plain_sql_name(const char *s)
{
	if (!is_sql(s))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '.' || *s == '-'))
			return false;
	return true;
}

static int apply_schema(struct db *db, const char *top)
{
	char dir[4096];
	struct strlist steps = {0};
	size_t applied = 0;
	int status = 0;

	snprintf(dir, sizeof dir, "%s/schema", top);
	if (list_dir(dir, is_step, &steps))
		return CLI_ERROR;
	if (steps.n == 0) {
		fprintf(stderr, "taskq: no schema steps (NNN_name.sql) in %s\n", dir);
		status = CLI_ERROR;
	}
	/* two files of one number: one of them would never be applied where the other was */
	for (size_t i = 1; i < steps.n && status == 0; i++)
		if (version_of(steps.v[i]) == version_of(steps.v[i - 1])) {
			fprintf(stderr, "taskq: %s and %s have the same number\n", steps.v[i - 1],
				steps.v[i]);
			status = CLI_ERROR;
		}
	for (size_t i = 0; i < steps.n && status == 0; i++) {
		char path[4096 + 256];
		struct taskq_err err;
		bool did;
		char *sql;

		snprintf(path, sizeof path, "%s/%s", dir, steps.v[i]);
		if (!(sql = slurp(path))) {
			fprintf(stderr, "taskq: cannot read %s\n", path);
			status = CLI_ERROR;
			break;
		}
		if (store_migrate(db, version_of(steps.v[i]), steps.v[i], sql, &did, &err) !=
		    TASKQ_OK) {
			fprintf(stderr, "taskq: schema step %s failed: %s\n", steps.v[i], err.msg);
			status = err.rc == TASKQ_DB_DOWN ? CLI_TEMPFAIL : CLI_ERROR;
		} else if (did) {
			printf("applied schema/%s\n", steps.v[i]);
			applied++;
		}
		free(sql);
	}
	if (status == 0)
		printf("schema up to date (%zu applied, %zu known)\n", applied, steps.n);
	strlist_free(&steps);
	return status;
}

/* The file names order.txt of dir lists, in its order: one a line, '#' starts a comment
 * line. 0, or 1 with a message. */
static int read_order(const char *dir, struct strlist *out)
{
	char path[4096 + 64];
	char *text, *line, *next;
	int status = 0;

	snprintf(path, sizeof path, "%s/%s", dir, ORDER_FILE);
	if (!(text = slurp(path))) {
		fprintf(stderr, "taskq: cannot read %s\n", path);
		return CLI_ERROR;
	}
	for (line = text; line && status == 0; line = next) {
		char *end;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		end = line + strlen(line);
		while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
		if (!*line || *line == '#')
			continue;
		if (!plain_sql_name(line) || strlist_has(out, line)) {
			fprintf(stderr, "taskq: %s: %s %.200s\n", path,
				plain_sql_name(line) ? "listed twice:" : "not a file name.sql:",
				line);
			status = CLI_ERROR;
		} else {
			strlist_add(out, line);
		}
	}
	free(text);
	return status;
}

static int apply_functions(struct db *db, const char *top)
{
	char dir[4096];
	struct strlist order = {0}, present = {0};
	char **sqls = NULL;
	size_t loaded = 0, failed;
	struct taskq_err err;
	int status = 0;

	snprintf(dir, sizeof dir, "%s/functions", top);
	if (read_order(dir, &order) || list_dir(dir, is_sql, &present)) {
		status = CLI_ERROR;
		goto out;
	}
	for (size_t i = 0; i < present.n; i++)
		if (!strlist_has(&order, present.v[i])) {
			fprintf(stderr, "taskq: %s/%s is not listed in %s\n", dir, present.v[i],
				ORDER_FILE);
			status = CLI_ERROR;
		}
	if (status == 0 && order.n == 0) {
		fprintf(stderr, "taskq: %s/%s lists no file\n", dir, ORDER_FILE);
		status = CLI_ERROR;
	}
	if (status)
		goto out;
	sqls = xcalloc(order.n, sizeof *sqls);
	for (; loaded < order.n; loaded++) {
		char path[4096 + 256];

		snprintf(path, sizeof path, "%s/%s", dir, order.v[loaded]);
		if (!(sqls[loaded] = slurp(path))) {
			fprintf(stderr, "taskq: cannot read %s\n", path);
			status = CLI_ERROR;
			goto out;
		}
	}
	if (store_migrate_functions(db, (const char *const *)sqls, order.n, &failed, &err) !=
	    TASKQ_OK) {
		if (failed < order.n)
			fprintf(stderr,
				"taskq: functions/%s failed (nothing of functions/ applied): %s\n",
				order.v[failed], err.msg);
		else
			fprintf(stderr, "taskq: applying functions/ failed: %s\n", err.msg);
		status = err.rc == TASKQ_DB_DOWN ? CLI_TEMPFAIL : CLI_ERROR;
		goto out;
	}
	printf("functions applied (%zu files of functions/, in one transaction)\n", order.n);
out:
	for (size_t i = 0; i < loaded; i++)
		free(sqls[i]);
	free(sqls);
	strlist_free(&order);
	strlist_free(&present);
	return status;
}

int migrate_run(struct db *db, const char *dir)
{
	int status = apply_schema(db, dir);

	return status ? status : apply_functions(db, dir);
}
