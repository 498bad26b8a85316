/* config: parsing flags and TASKQ_* variables against a program's option table. */
#include "base/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/strlist.h"
#include "base/xalloc.h"

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
		if (!strcmp(val, "1") || !strcmp(val, "on") || !strcmp(val, "true") ||
		    !strcmp(val, "yes"))
			*(long *)o->target = 1;
		else if (!strcmp(val, "0") || !strcmp(val, "off") || !strcmp(val, "false") ||
			 !strcmp(val, "no"))
			*(long *)o->target = 0;
		else
			return taskq_fail(err, TASKQ_INVAL, "%s: '%s' is not on/off", from, val);
		return TASKQ_OK;
	case CFG_INT:
		if (config_parse_long(val, o->min, o->max, (long *)o->target) != TASKQ_OK)
			return taskq_fail(err, TASKQ_INVAL,
					  "%s: '%s' is not a whole number in %ld..%ld", from, val,
					  o->min, o->max);
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

/* Strings read from a configuration file, by generation: those of the first parse live until
 * config_cleanup() (a CFG_FIXED option may point into them for good); those of a reload live
 * until the next successful reload replaces them. */
static struct strlist g_start, g_current, g_reading, *g_into = &g_start;

static const char *keep(const char *s, size_t n)
{
	return strlist_add_owned(g_into, xstrndup(s, n));
}

void config_cleanup(void)
{
	strlist_free(&g_start);
	strlist_free(&g_current);
	strlist_free(&g_reading);
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
			rc = taskq_fail(err, TASKQ_INVAL, "%s:%d: expected key = value", path,
					lineno);
			break;
		}
		v = eq + 1;
		vn = kn - (size_t)(v - k);
		kn = (size_t)(eq - k);
		trim(&k, &kn);
		trim(&v, &vn);
		o = find(opts, nopts, k, kn);
		if (!o || !strcmp(o->flag, "config")) {
			rc = taskq_fail(err, TASKQ_INVAL, "%s:%d: unknown key '%.*s'", path, lineno,
					(int)kn, k);
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
		/* the name only: a mistyped --token=SECRET must not show the secret */
		if (!o)
			return taskq_fail(err, TASKQ_INVAL, "unknown option '--%.*s' (see --help)",
					  (int)(len > 64 ? 64 : len), name);
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
	int w = 14;

	for (size_t i = 0; i < nopts; i++)
		if ((int)strlen(opts[i].flag) > w)
			w = (int)strlen(opts[i].flag);
	fprintf(out, "usage: %s\n\noptions (flag, environment, default):\n", synopsis);
	for (size_t i = 0; i < nopts; i++) {
		const struct config_opt *o = &opts[i];
		fprintf(out, "  --%-*s %-22s %-10s %s\n", w, o->flag, o->env ? o->env : "",
			o->def ? o->def : "-", o->help);
	}
}

/* The reload in progress: the values before it, and where the targets live. */
static struct {
	unsigned char *old;
	void *cfg;
	size_t size;
} g_reload;

static void *old_target(const struct config_opt *o)
{
	return g_reload.old + ((unsigned char *)o->target - (unsigned char *)g_reload.cfg);
}

static bool value_differs(const struct config_opt *o)
{
	if (o->type == CFG_STR) {
		const char *a = *(const char **)o->target, *b = *(const char **)old_target(o);
		return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
	}
	return *(long *)o->target != *(long *)old_target(o);
}

bool config_changed(const struct config_opt *opts, size_t nopts, const char *flag)
{
	const struct config_opt *o = find(opts, nopts, flag, strlen(flag));
	return o && g_reload.old && value_differs(o);
}

enum taskq_rc config_reload(const struct config_opt *opts, size_t nopts, void *cfg, size_t size,
			    const char *const *fixed, int argc, char **argv, int *changed_fixed,
			    struct taskq_err *err)
{
	enum taskq_rc rc;
	int npos, help, kept = 0;

	free(g_reload.old);
	g_reload.old = xmalloc(size);
	memcpy(g_reload.old, cfg, size);
	g_reload.cfg = cfg;
	g_reload.size = size;
	g_into = &g_reading;
	rc = config_parse(opts, nopts, argc, argv, &npos, &help, err);
	g_into = &g_start;
	if (rc != TASKQ_OK) {
		config_reload_done(false);
		return rc;
	}
	for (const char *const *f = fixed; f && *f; f++) {
		const struct config_opt *o = find(opts, nopts, *f, strlen(*f));
		if (!o || !value_differs(o))
			continue;
		log_warn("event=reload_kept option=%s msg=\"a new value takes a restart\"",
			 o->flag);
		memcpy(o->target, old_target(o),
		       o->type == CFG_STR ? sizeof(char *) : sizeof(long));
		kept++;
	}
	if (changed_fixed)
		*changed_fixed = kept;
	return TASKQ_OK;
}

void config_reload_done(bool keep_new)
{
	if (!g_reload.old)
		return;
	if (keep_new) {
		strlist_free(&g_current);
		g_current = g_reading;
	} else {
		memcpy(g_reload.cfg, g_reload.old, g_reload.size);
		strlist_free(&g_reading);
	}
	g_reading = (struct strlist){NULL, 0};
	free(g_reload.old);
	g_reload.old = NULL;
}

int config_start(const char *program, const struct config_opt *opts, size_t nopts, int argc,
		 char **argv, config_check_fn check)
{
	const struct config_opt *log_file = find(opts, nopts, "log-file", strlen("log-file"));
	struct taskq_err err;
	char msg[200];
	int npos, help;

	if (config_parse(opts, nopts, argc, argv, &npos, &help, &err)) {
		fprintf(stderr, "%s: %s\n", program, err.msg);
		return 2;
	}
	if (help || npos > 0) {
		snprintf(msg, sizeof msg, "%s [options]", program);
		config_usage(help ? stdout : stderr, msg, opts, nopts);
		return help ? -1 : 2;
	}
	if (!check(msg, sizeof msg)) {
		fprintf(stderr, "%s: %s\n", program, msg);
		return 2;
	}
	if (log_file && log_file_set(*(const char **)log_file->target) < 0) {
		fprintf(stderr, "%s: cannot open --log-file %s\n", program,
			*(const char **)log_file->target);
		return 2;
	}
	return 0;
}

bool config_reload_checked(const struct config_opt *opts, size_t nopts, void *cfg, size_t size,
			   const char *const *fixed, int argc, char **argv, int *changed_fixed,
			   config_check_fn check)
{
	struct taskq_err err;
	char msg[200];

	if (config_reload(opts, nopts, cfg, size, fixed, argc, argv, changed_fixed, &err)) {
		log_error("event=reload_failed msg=\"%s\"", err.msg);
		return false;
	}
	if (!check(msg, sizeof msg)) {
		log_error("event=reload_failed msg=\"%s\"", msg);
		config_reload_done(false);
		return false;
	}
	return true;
}
