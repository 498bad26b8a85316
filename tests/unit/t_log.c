/* Unit tests: log lines — one line per event, control characters folded, JSON lines. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/log.h"
#include "units.h"

/* Runs one log_msg with stderr on a pipe; returns what it wrote. */
static void capture(char *out, size_t size, const char *msg)
{
	int fds[2], saved = dup(STDERR_FILENO);
	ssize_t n;

	ck_assert_int_eq(pipe(fds), 0);
	dup2(fds[1], STDERR_FILENO);
	log_msg(LOG_WARN, "%s", msg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	n = read(fds[0], out, size - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fds[0]);
}

START_TEST(text_lines_fold_control_characters)
{
	char out[512];

	log_set_program("units");
	log_format_set("text");
	capture(out, sizeof out, "event=x path=\"a\nb\x1b[31m\"");
	ck_assert_ptr_nonnull(strstr(out, "level=warn prog=units event=x path=\"a b [31m\"\n"));
	ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);
}
END_TEST

START_TEST(json_lines_carry_the_same_pairs)
{
	static const char *want[][2] = {{"level", "warn"},        {"prog", "units"},
					{"event", "request"},     {"req", "12"},
					{"path", "/api/tasks x"}, {"status", "200"}};
	char out[512], v[64];
	json_object *o, *f;

	log_set_program("units");
	ck_assert_int_eq(log_format_set("json"), 0);
	capture(out, sizeof out, "event=request req=12 path=\"/api/tasks x\" status=200");
	log_format_set("text");
	o = json_tokener_parse(out);
	ck_assert_ptr_nonnull(o);
	for (size_t i = 0; i < N_OF(want); i++) {
		ck_assert_msg(json_object_object_get_ex(o, want[i][0], &f), "%s missing",
			      want[i][0]);
		snprintf(v, sizeof v, "%s", json_object_get_string(f));
		ck_assert_str_eq(v, want[i][1]);
	}
	ck_assert(json_object_object_get_ex(o, "time", &f));
	json_object_put(o);
	ck_assert_int_eq(log_format_set("yaml"), -1);
}
END_TEST

START_TEST(json_lines_keep_what_does_not_parse)
{
	char out[512];
	json_object *o, *f;

	log_format_set("json");
	capture(out, sizeof out, "event=x msg=\"an \"odd\" one\" tail");
	log_format_set("text");
	o = json_tokener_parse(out);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "event", &f));
	ck_assert(json_object_object_get_ex(o, "rest", &f));
	ck_assert_ptr_nonnull(strstr(json_object_get_string(f), "odd"));
	json_object_put(o);
}
END_TEST

UNITS_SUITE(log, 0, text_lines_fold_control_characters, json_lines_carry_the_same_pairs,
	    json_lines_keep_what_does_not_parse)
