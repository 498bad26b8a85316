/* kinds: the table of task kinds: built-in ones and the command kinds of the configuration. */
#include "kinds.h"

#include <stdlib.h>
#include <string.h>

#include "task.h"
#include "xalloc.h"

#define MAX_KINDS 128
#define COMMAND_DEFAULT_TIMEOUT_S 3600

static const struct kind *const g_builtin[] = {&kind_sleep, &kind_noop, &kind_http, NULL};
static const struct kind *g_kinds[MAX_KINDS + 1];
static struct kind *g_commands; /* owned: the configured command kinds */
static int g_ncommands;

const struct kind *const *kinds_all(void)
{
	return g_kinds[0] ? g_kinds : g_builtin;
}

const struct kind *kinds_find(const char *name)
{
	for (const struct kind *const *k = kinds_all(); *k; k++)
		if (!strcmp((*k)->name, name))
			return *k;
	return NULL;
}

void kinds_cleanup(void)
{
	for (int i = 0; i < g_ncommands; i++) {
		free((char *)g_commands[i].name);
		free((char *)g_commands[i].path);
	}
	free(g_commands);
	g_commands = NULL;
	g_ncommands = 0;
	memset(g_kinds, 0, sizeof g_kinds);
}

/* Adds one "name=/abs/path" entry of len bytes. */
static enum taskq_rc add_command(const char *entry, size_t len, struct taskq_err *err)
{
	const char *eq = memchr(entry, '=', len);
	char *name, *path;

	if (!eq || eq == entry || (size_t)(eq - entry) + 1 >= len)
		return taskq_fail(err, TASKQ_INVAL, "commands: expected name=/absolute/path, got '%.*s'",
				  (int)len, entry);
	name = xstrndup(entry, (size_t)(eq - entry));
	path = xstrndup(eq + 1, len - (size_t)(eq - entry) - 1);
	if (!task_name_valid(name) || path[0] != '/' || kinds_find(name)) {
		taskq_fail(err, TASKQ_INVAL,
			   "commands: '%s' needs a kind name not taken and an absolute path", name);
		free(name);
		free(path);
		return TASKQ_INVAL;
	}
	g_commands[g_ncommands++] = (struct kind){
		.name = name, .default_timeout_s = COMMAND_DEFAULT_TIMEOUT_S,
		.run = kind_command_run, .path = path};
	return TASKQ_OK;
}

enum taskq_rc kinds_init(const char *commands, struct taskq_err *err)
{
	int n = 0;

	kinds_cleanup();
	g_commands = xcalloc(MAX_KINDS, sizeof *g_commands);
	for (int i = 0; g_builtin[i]; i++)
		g_kinds[n++] = g_builtin[i];
	for (const char *c = commands ? commands : ""; *c;) {
		size_t len = strcspn(c, ",");
		if (len > 0) {
			if (n >= MAX_KINDS) {
				kinds_cleanup();
				return taskq_fail(err, TASKQ_INVAL, "commands: more than %d kinds", MAX_KINDS);
			}
			if (add_command(c, len, err) != TASKQ_OK) {
				kinds_cleanup();
				return TASKQ_INVAL;
			}
			g_kinds[n++] = &g_commands[g_ncommands - 1];
		}
		c += len + (c[len] == ',');
	}
	return TASKQ_OK;
}
