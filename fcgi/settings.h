/*
 * settings: taskq-fcgi's configuration (flags, TASKQ_* variables, the --config file) and its
 * reload on SIGHUP. g_cfg is read and written by the main thread only; request threads read
 * what a reload may change through the modules that own it (auth, limits, fair, watch) or
 * settings_max_body().
 */
#ifndef TASKQ_FCGI_SETTINGS_H
#define TASKQ_FCGI_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

struct fcgi_settings {
	const char *config, *db, *read_db, *listen, *publish, *log_level, *log_format, *log_file,
		*auth, *fair, *group_commit;
	long threads, max_body, max_batch, backlog, max_waiters;
	long auth_ttl, owner_rate, owner_burst, wake_gap_ms, view_ttl;
};
extern struct fcgi_settings g_cfg;

/* Parses and checks the configuration, opens --log-file: 0, or the exit status to leave with
 * (2: bad usage, printed), or -1 after --help. */
int settings_load(int argc, char **argv);
/* Hands the values to the modules (first: at start, before any thread). */
void settings_apply(bool first);
/* The SIGHUP action: re-read, check, apply; a bad configuration changes nothing (logged). */
void settings_reload(void *arg);
/* The request body bound, for request threads. */
size_t settings_max_body(void);
/* The most tasks a batch may carry. */
size_t settings_max_batch(void);
/* Seconds the view token of a submit's answer lives (0: none). */
long settings_view_ttl(void);

#endif
