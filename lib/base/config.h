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

/* The options every daemon has, the same in each table: its configuration file (path: the
 * default one, for --help), its database and its log settings. */
/* clang-format off */
#define CONFIG_OPT_CONFIG(path, target)                                                         \
	{"config", "TASKQ_CONFIG", CFG_STR, NULL, 0, 0,                                         \
	 "file of key = value lines, keys as these flags (" path ")", (target)}
#define CONFIG_OPT_DB(target)                                                                   \
	{"db", "TASKQ_DATABASE_URL", CFG_STR, NULL, 0, 0,                                       \
	 "PostgreSQL conninfo or URL (default: libpq's PG* environment)", (target)}
#define CONFIG_OPTS_LOG(level, format, file)                                                    \
	{"log-level", "TASKQ_LOG_LEVEL", CFG_STR, "info", 0, 0, "debug, info, warn or error",   \
	 (level)},                                                                              \
	{"log-format", "TASKQ_LOG_FORMAT", CFG_STR, "text", 0, 0,                               \
	 "text (key=value) or json (one object per line)", (format)},                           \
	{"log-file", "TASKQ_LOG_FILE", CFG_STR, NULL, 0, 0,                                     \
	 "append the log to this file instead of stderr (reopened on SIGUSR1)", (file)}
/* clang-format on */

/* A daemon's checks beyond each option's type and range: false with a message in err. */
typedef bool (*config_check_fn)(char *err, size_t errsize);

/*
 * A daemon's start: config_parse, --help or a stray argument (usage), check, then the table's
 * "log-file" option (when it has one) opened with log_file_set. Complaints go to stderr as
 * "program: message". Returns 0 to go on, -1 after --help (exit 0), 2 after a complaint.
 */
int config_start(const char *program, const struct config_opt *opts, size_t nopts, int argc,
		 char **argv, config_check_fn check);

/*
 * config_reload, then check; on either failure it logs event=reload_failed, puts the old
 * values back and returns false. On true the caller applies the new values and calls
 * config_reload_done(true), or config_reload_done(false) when applying them failed.
 */
bool config_reload_checked(const struct config_opt *opts, size_t nopts, void *cfg, size_t size,
			   const char *const *fixed, int argc, char **argv, int *changed_fixed,
			   config_check_fn check);

#endif
