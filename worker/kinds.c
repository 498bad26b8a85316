/* kinds: the table of task kinds (see kinds.h): built-in ones and the command kinds of the
 * configuration. */
#include "kinds.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model/task.h"
#include "base/xalloc.h"

#define MAX_KINDS 128
#define COMMAND_DEFAULT_TIMEOUT_S 3600

static const struct kind *const g_builtin[] = {&kind_sleep, &kind_noop, &kind_http, NULL};

/* One generation of the table. A running task holds a reference to the table its kind came
 * from, so a reload (SIGHUP) that drops or changes a command kind frees it only when the last
 * task that runs it has finished. */
struct kind_table {
	const struct kind *kinds[MAX_KINDS + 1];
	struct kind commands[MAX_KINDS]; /* owned names and paths */
	int ncommands;
	int refs; /* under g_lock */
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kind_table *g_table;
static struct kind_table g_builtin_table = {.refs = 1};

static void table_free(struct kind_table *t)
{
	for (int i = 0; i < t->ncommands; i++) {
		free((char *)t->commands[i].name);
		free((char *)t->commands[i].path);
	}
	free(t);
}

struct kind_table *kinds_acquire(void)
{
	struct kind_table *t;

	pthread_mutex_lock(&g_lock);
	if (!g_table) {
		for (int i = 0; g_builtin[i]; i++)
			g_builtin_table.kinds[i] = g_builtin[i];
		g_table = &g_builtin_table;
	}
	t = g_table;
	t->refs++;
	pthread_mutex_unlock(&g_lock);
	return t;
}

void kinds_release(struct kind_table *t)
{
	bool last;

	if (!t)
		return;
	pthread_mutex_lock(&g_lock);
	last = --t->refs == 0;
	pthread_mutex_unlock(&g_lock);
	if (last && t != &g_builtin_table)
		table_free(t);
}

const struct kind *const *kinds_list(const struct kind_table *t)
{
	return t->kinds;
}

const struct kind *kinds_lookup(const struct kind_table *t, const char *name)
{
	for (const struct kind *const *k = t->kinds; *k; k++)
		if (!strcmp((*k)->name, name))
			return *k;
	return NULL;
}

void kinds_cleanup(void)
{
	struct kind_table *t;

	pthread_mutex_lock(&g_lock);
	t = g_table;
	g_table = NULL;
	pthread_mutex_unlock(&g_lock);
	kinds_release(t);
}

/* Adds one "name=/abs/path" entry of len bytes to t. */
static enum taskq_rc add_command(struct kind_table *t, const char *entry, size_t len,
				 struct taskq_err *err)
{
	const char *eq = memchr(entry, '=', len);
	char *name, *path;

	if (!eq || eq == entry || (size_t)(eq - entry) + 1 >= len)
		return taskq_fail(err, TASKQ_INVAL,
				  "commands: expected name=/absolute/path, got '%.*s'", (int)len,
				  entry);
	name = xstrndup(entry, (size_t)(eq - entry));
	path = xstrndup(eq + 1, len - (size_t)(eq - entry) - 1);
	if (!task_name_valid(name) || path[0] != '/' || kinds_lookup(t, name)) {
		taskq_fail(err, TASKQ_INVAL,
			   "commands: '%s' needs a kind name not taken and an absolute path", name);
		free(name);
		free(path);
		return TASKQ_INVAL;
	}
	t->commands[t->ncommands++] = (struct kind){.name = name,
						    .default_timeout_s = COMMAND_DEFAULT_TIMEOUT_S,
						    .run = kind_command_run,
						    .path = path};
	return TASKQ_OK;
}

enum taskq_rc kinds_init(const char *commands, struct taskq_err *err)
{
	struct kind_table *t = xcalloc(1, sizeof *t), *old;
	int n = 0;

	for (int i = 0; g_builtin[i]; i++)
		t->kinds[n++] = g_builtin[i];
	for (const char *c = commands ? commands : ""; *c;) {
		size_t len = strcspn(c, ",");
		if (len > 0) {
			if (n >= MAX_KINDS) {
				table_free(t);
				return taskq_fail(err, TASKQ_INVAL, "commands: more than %d kinds",
						  MAX_KINDS);
			}
			if (add_command(t, c, len, err) != TASKQ_OK) {
				table_free(t);
				return TASKQ_INVAL;
			}
			t->kinds[n++] = &t->commands[t->ncommands - 1];
		}
		c += len + (c[len] == ',');
	}
	t->refs = 1;
	pthread_mutex_lock(&g_lock);
	old = g_table;
	g_table = t;
	pthread_mutex_unlock(&g_lock);
	kinds_release(old);
	return TASKQ_OK;
}
