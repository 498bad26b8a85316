/*
 * log: one line per event on stderr, key=value, written with a single write(2) so lines from
 * threads never interleave. Never log tokens, secrets or whole bodies.
 */
#ifndef TASKQ_LOG_H
#define TASKQ_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Atomic: SIGHUP may change it while threads log. */
extern _Atomic enum log_level g_log_level;

/* Parses "debug" / "info" / "warn" / "error"; returns -1 for anything else. */
int log_level_parse(const char *s);
void log_set_program(const char *name);
/* "text" (key=value, the default) or "json" (one JSON object per line, the same keys plus
 * "time"); -1 for anything else. */
int log_format_set(const char *format);
bool log_format_valid(const char *format);

/* Sends the log to a file instead of stderr (NULL or "": stderr as the process got it);
 * -1 with errno when it cannot be opened. The file is put on fd 2, so whatever else writes to
 * stderr (libpq notices) lands there too. */
int log_file_set(const char *path);
/* Reopens the --log-file (after logrotate moved it; SIGUSR1); 0 when there is none. */
int log_reopen(void);

/* fmt continues the line after "level=.. prog=..": write it as key=value pairs. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with task=<id> in front of the pairs. */
void log_task(enum log_level level, const char *task_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Copies text from outside (a URL, a path) into dst for a "quoted" value: a double quote
 * becomes ' and a backslash /, so that it cannot end the value and forge fields (control
 * characters are folded for every line anyway). Returns dst. */
const char *log_value(char *dst, size_t size, const char *src);

#define log_debug(...)                                                                     \
	do {                                                                               \
		if (atomic_load_explicit(&g_log_level, memory_order_relaxed) <= LOG_DEBUG) \
			log_msg(LOG_DEBUG, __VA_ARGS__);                                   \
	} while (0)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
