/* log: formatting and writing one log line. */
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Atomic enum log_level g_log_level = LOG_INFO;
static const char *g_prog = "taskq";
static atomic_bool g_json;
static char g_file[4096]; /* --log-file, or "" for stderr as it came */

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

void log_set_program(const char *name)
{
	g_prog = name;
}

bool log_format_valid(const char *format)
{
	return !strcmp(format, "text") || !strcmp(format, "json");
}

int log_format_set(const char *format)
{
	if (!strcmp(format, "text") || !strcmp(format, "json")) {
		atomic_store(&g_json, !strcmp(format, "json"));
		return 0;
	}
	return -1;
}

/* Opens path for appending and puts it on fd 2 with dup2(), which swaps the file under the
 * writers in one step: a line is written whole to the old file or to the new one. */
static int open_onto_stderr(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		return -1;
	if (dup2(fd, STDERR_FILENO) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

int log_file_set(const char *path)
{
	if (!path || !*path) {
		g_file[0] = '\0';
		return 0;
	}
	if (strlen(path) >= sizeof g_file || open_onto_stderr(path) < 0)
		return -1;
	snprintf(g_file, sizeof g_file, "%s", path);
	return 0;
}

int log_reopen(void)
{
	if (!g_file[0])
		return 0;
	if (open_onto_stderr(g_file) < 0) {
		log_error("event=log_reopen_failed path=\"%s\" errno=%d", g_file, errno);
		return -1;
	}
	log_info("event=log_reopened");
	return 0;
}

/* The key=value pairs of a text line (after its time stamp) as one JSON object per line:
 * keys [a-z_]+, values bare up to a space or "quoted" up to the next quote. Anything that does
 * not parse goes, from there on, into "rest". Returns the length written to out. */
static size_t to_json(const char *ts, char *pairs, char *out, size_t size)
{
	json_object *o = json_object_new_object();
	char *p = pairs;
	const char *text;
	size_t n;

	json_object_object_add(o, "time", json_object_new_string(ts));
	while (*p) {
		size_t k = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
		char *v, *end;

		if (k == 0 || p[k] != '=')
			break;
		p[k] = '\0';
		v = p + k + 1;
		if (*v == '"' && (end = strchr(v + 1, '"')) && (end[1] == ' ' || end[1] == '\0')) {
			v++;
		} else if (*v == '"') {
			p[k] = '=';
			break;
		} else {
			end = v + strcspn(v, " ");
		}
		char save = *end;
		*end = '\0';
		json_object_object_add(o, p, json_object_new_string(v));
		p = end + (save ? 1 : 0);
		if (save == '"')
			p += *p == ' ';
		p += strspn(p, " ");
	}
	if (*p)
		json_object_object_add(o, "rest", json_object_new_string(p));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	n = strlen(text);
	if (n > size - 2)
		n = size - 2;
	memcpy(out, text, n);
	out[n++] = '\n';
	json_object_put(o);
	return n;
}

static void vlog(enum log_level level, const char *task_id, const char *fmt, va_list ap)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int k;

	if (level < atomic_load_explicit(&g_log_level, memory_order_relaxed))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	k = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s prog=%s ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     ts.tv_nsec / 1000000, level_names[level], g_prog);
	n = k > 0 ? (size_t)k : 0;
	if (task_id && n < sizeof line) {
		k = snprintf(line + n, sizeof line - n, "task=%s ", task_id);
		n += k > 0 ? (size_t)k : 0;
	}
	if (n < sizeof line) {
		k = vsnprintf(line + n, sizeof line - n, fmt, ap);
		n += k > 0 ? (size_t)k : 0;
	}
	if (n >= sizeof line - 1)
		n = sizeof line - 2;
	/* one event, one line, no terminal escapes: fold every control character a message
	 * carried (newlines, ESC, DEL) into a space */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = ' ';
	line[n++] = '\n';
	if (atomic_load_explicit(&g_json, memory_order_relaxed)) {
		char out[4096], stamp[32];
		line[n - 1] = '\0';
		snprintf(stamp, sizeof stamp, "%.24s", line);
		n = to_json(stamp, line + 25, out, sizeof out);
		if (write(STDERR_FILENO, out, n) < 0)
			return;
		return;
	}
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(level, NULL, fmt, ap);
	va_end(ap);
}

void log_task(enum log_level level, const char *task_id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(level, task_id, fmt, ap);
	va_end(ap);
}

const char *log_value(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; src && *src && i + 1 < size; src++)
		dst[i++] = *src == '"' ? '\'' : *src == '\\' ? '/' : *src;
	if (size)
		dst[i] = '\0';
	return dst;
}
