/* config: parsing flags and TASKQ_* variables against a program's option table. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

enum taskq_rc config_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return TASKQ_INVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return TASKQ_INVAL;
	*out = v;
	return TASKQ_OK;
}

static enum taskq_rc set_value(const struct config_opt *o, const char *val, const char *from,
			       struct taskq_err *err)
{
	switch (o->type) {
	case CFG_STR:
		*(const char **)o->target = val;
		return TASKQ_OK;
	case CFG_BOOL:
		if (!strcmp(val, "1") || !strcmp(val, "on") || !strcmp(val, "true") || !strcmp(val, "yes"))
			*(long *)o->target = 1;
		else if (!strcmp(val, "0") || !strcmp(val, "off") || !strcmp(val, "false") || !strcmp(val, "no"))
			*(long *)o->target = 0;
		else
			return taskq_fail(err, TASKQ_INVAL, "%s: '%s' is not on/off", from, val);
		return TASKQ_OK;
	case CFG_INT:
		if (config_parse_long(val, o->min, o->max, (long *)o->target) != TASKQ_OK)
			return taskq_fail(err, TASKQ_INVAL, "%s: '%s' is not a whole number in %ld..%ld",
					  from, val, o->min, o->max);
		return TASKQ_OK;
	}
	return TASKQ_INTERNAL;
}

static const struct config_opt *find(const struct config_opt *opts, size_t n, const char *name,
				     size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(opts[i].flag) == len && !strncmp(opts[i].flag, name, len))
			return &opts[i];
	return NULL;
}

/* Strings read from a configuration file live until config_cleanup(). */
static char **g_file_values;
static size_t g_nfile_values;

static const char *keep(const char *s, size_t n)
{
	char *v = xstrndup(s, n);
	g_file_values = xrealloc(g_file_values, (g_nfile_values + 1) * sizeof *g_file_values);
	g_file_values[g_nfile_values++] = v;
	return v;
}

void config_cleanup(void)
{
	for (size_t i = 0; i < g_nfile_values; i++)
		free(g_file_values[i]);
	free(g_file_values);
	g_file_values = NULL;
	g_nfile_values = 0;
}

static void trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/* Applies "key = value" lines (keys are flag names; '#' starts a comment line). */
static enum taskq_rc load_file(const struct config_opt *opts, size_t nopts, const char *path,
			       struct taskq_err *err)
{
	FILE *f = fopen(path, "r");
	char line[4096], where[300];
	int lineno = 0;
	enum taskq_rc rc = TASKQ_OK;

	if (!f)
		return taskq_fail(err, TASKQ_INVAL, "cannot read configuration file %s", path);
	while (rc == TASKQ_OK && fgets(line, sizeof line, f)) {
		const char *k = line, *v, *eq;
		size_t kn, vn;
		const struct config_opt *o;

		lineno++;
		kn = strlen(line);
		trim(&k, &kn);
		if (kn == 0 || *k == '#')
			continue;
		eq = memchr(k, '=', kn);
		if (!eq) {
			rc = taskq_fail(err, TASKQ_INVAL, "%s:%d: expected key = value", path, lineno);
			break;
		}
		v = eq + 1;
		vn = kn - (size_t)(v - k);
		kn = (size_t)(eq - k);
		trim(&k, &kn);
		trim(&v, &vn);
		o = find(opts, nopts, k, kn);
		if (!o || !strcmp(o->flag, "config")) {
			rc = taskq_fail(err, TASKQ_INVAL, "%s:%d: unknown key '%.*s'", path, lineno, (int)kn, k);
			break;
		}
		snprintf(where, sizeof where, "%s:%d", path, lineno);
		rc = set_value(o, keep(v, vn), where, err);
	}
	fclose(f);
	return rc;
}

/* The --config file named on the command line (or by the option's variable), or NULL. */
static const char *config_path(const struct config_opt *opts, size_t nopts, int argc, char **argv)
{
	const struct config_opt *o = find(opts, nopts, "config", 6);
	const char *path = NULL;

	if (!o)
		return NULL;
	if (o->env && getenv(o->env) && *getenv(o->env))
		path = getenv(o->env);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			path = argv[i + 1];
		else if (!strncmp(argv[i], "--config=", 9))
			path = argv[i] + 9;
	}
	return path;
}

enum taskq_rc config_parse(const struct config_opt *opts, size_t nopts, int argc, char **argv,
			   int *npos, int *help, struct taskq_err *err)
{
	const char *file = config_path(opts, nopts, argc, argv);
	enum taskq_rc rc;
	int pos = 0;

	*help = 0;
	for (size_t i = 0; i < nopts; i++)
		if (opts[i].def && (rc = set_value(&opts[i], opts[i].def, opts[i].flag, err)))
			return rc;
	if (file && (rc = load_file(opts, nopts, file, err)))
		return rc;
	for (size_t i = 0; i < nopts; i++) {
		const char *env = opts[i].env ? getenv(opts[i].env) : NULL;
		if (env && *env && (rc = set_value(&opts[i], env, opts[i].env, err)))
			return rc;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *val;
		const struct config_opt *o;
		size_t len;

		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (!strcmp(a, "--"))
				continue;
			argv[1 + pos++] = argv[i];
			continue;
		}
		name = a + 2;
		if (!strcmp(name, "help")) {
			*help = 1;
			return TASKQ_OK;
		}
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		o = find(opts, nopts, name, len);
		if (!o)
			return taskq_fail(err, TASKQ_INVAL, "unknown option '%s' (see --help)", a);
		if (o->type == CFG_BOOL && !eq) {
			*(long *)o->target = 1;
			continue;
		}
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return taskq_fail(err, TASKQ_INVAL, "option --%s needs a value", o->flag);
		if ((rc = set_value(o, val, a, err)))
			return rc;
	}
	*npos = pos;
	return TASKQ_OK;
}

void config_usage(FILE *out, const char *synopsis, const struct config_opt *opts, size_t nopts)
{
	fprintf(out, "usage: %s\n\noptions (flag, environment, default):\n", synopsis);
	for (size_t i = 0; i < nopts; i++) {
		const struct config_opt *o = &opts[i];
		fprintf(out, "  --%-14s %-22s %-10s %s\n", o->flag, o->env ? o->env : "",
			o->def ? o->def : "-", o->help);
	}
}
