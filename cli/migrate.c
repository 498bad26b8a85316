/* migrate: finding, reading and applying migration files (through lib/store). */
#include "migrate.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "store/migrate.h"
#include "base/xalloc.h"

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

/* "012_name.sql" → 12; -1 when the name is not a migration. */
static int version_of(const char *name)
{
	char digits[4];
	long v;
	size_t n = strlen(name);

	if (n < 9 || strcmp(name + n - 4, ".sql") != 0 || name[3] != '_')
		return -1;
	memcpy(digits, name, 3);
	digits[3] = '\0';
	return config_parse_long(digits, 1, 999, &v) == TASKQ_OK ? (int)v : -1;
}

int migrate_run(struct db *db, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, applied = 0;
	int status = 0;

	if (!d) {
		fprintf(stderr, "taskq: cannot open migrations directory %s\n", dir);
		return 1;
	}
	while ((e = readdir(d)) != NULL) {
		if (version_of(e->d_name) < 0)
			continue;
		names = xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, by_name);

	for (size_t i = 0; i < n && status == 0; i++) {
		char path[4096];
		struct taskq_err err;
		bool did;
		char *sql;

		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (!(sql = slurp(path))) {
			fprintf(stderr, "taskq: cannot read %s\n", path);
			status = 1;
			break;
		}
		if (store_migrate(db, version_of(names[i]), names[i], sql, &did, &err) != TASKQ_OK) {
			fprintf(stderr, "taskq: migration %s failed: %s\n", names[i], err.msg);
			status = 1;
		} else if (did) {
			printf("applied %s\n", names[i]);
			applied++;
		}
		free(sql);
	}
	if (status == 0)
		printf("schema up to date (%zu applied, %zu known)\n", applied, n);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return status;
}
