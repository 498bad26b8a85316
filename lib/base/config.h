/*
 * config: one table per program that names each setting once: its flag, its TASKQ_*
 * environment variable, its type, default, range and help (PgBouncer's key table). Flags beat
 * the environment, the environment beats defaults. --help prints the table.
 */
#ifndef TASKQ_CONFIG_H
#define TASKQ_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "base/err.h"

enum config_type { CFG_STR, CFG_INT, CFG_BOOL };

struct config_opt {
	const char *flag; /* "db" for --db */
	const char *env;  /* "TASKQ_DATABASE_URL", or NULL */
	enum config_type type;
	const char *def; /* default as text, NULL for none */
	long min, max;   /* CFG_INT range */
	const char *help;
	void *target; /* const char ** (CFG_STR, borrowed from argv/environ/def) or long * */
};

/*
 * Applies defaults, then the configuration file (when the table has a "config" option and it
 * is set by flag or variable: "key = value" lines, keys as the flags), then the environment,
 * then flags (--name VALUE or --name=VALUE, anywhere
 * on the line; CFG_BOOL flags take no value). Positional arguments are moved, in order, to the
 * front of argv[1..]; *npos receives their count. Returns TASKQ_INVAL with a message for an
 * unknown flag, a missing value or a bad number. "--help" sets *help and stops.
 */
enum taskq_rc config_parse(const struct config_opt *opts, size_t nopts, int argc, char **argv,
			   int *npos, int *help, struct taskq_err *err);

/* Frees the strings read from a configuration file (their options point into them). */
void config_cleanup(void);

/*
 * Reload (SIGHUP; main thread only). Parses the same argv again, with the environment as the
 * process got it and the configuration file as it is now, into the options' targets, which
 * must all lie in the struct cfg of size bytes. An option named in fixed (NULL-terminated
 * flag names: what takes a restart) whose value changed keeps its old one, and *changed_fixed
 * (may be NULL) receives the count (each is logged). On a
 * parse error the targets keep their old values. On success the caller checks and applies
 * the new values, then calls config_reload_done(true) (keep them) or
 * config_reload_done(false) (a check failed: put the old values back).
 */
enum taskq_rc config_reload(const struct config_opt *opts, size_t nopts, void *cfg, size_t size,
			    const char *const *fixed, int argc, char **argv, int *changed_fixed,
			    struct taskq_err *err);
void config_reload_done(bool keep);
/* Whether option flag's value differs from the one before config_reload (for CFG_STR:
 * string contents). Only between config_reload and config_reload_done. */
bool config_changed(const struct config_opt *opts, size_t nopts, const char *flag);

/* Parses a whole decimal number in [min, max] (strtol-based, no trailing bytes). */
enum taskq_rc config_parse_long(const char *s, long min, long max, long *out);

void config_usage(FILE *out, const char *synopsis, const struct config_opt *opts, size_t nopts);

#endif
