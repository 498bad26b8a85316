/* Unit tests: a command program's output (worker/kinds/cmdout.c): progress lines, output lines,
 * the result rule, the stdout fallback, the line cap, the tails, and input split at any byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kinds/cmdout.h"
#include "units.h"
#include "base/xalloc.h"

#define S(lit) lit, sizeof lit - 1 /* a literal that may hold NUL bytes, and its length */

static const size_t steps[] = {0, 1, 2, 3, 5, 64}; /* bytes per feed; 0: all at once */

/* The progress calls, as "P msg;" (msg "-" for NULL); the output chunks, each as "[chunk]". */
struct plog {
	char buf[1024];
	size_t len;
	char out[1024];
	size_t olen;
};

static void on_progress(void *arg, int pct, const char *msg)
{
	struct plog *l = arg;
	int n = snprintf(l->buf + l->len, sizeof l->buf - l->len, "%d %s;", pct, msg ? msg : "-");

	ck_assert(n > 0 && (size_t)n < sizeof l->buf - l->len);
	l->len += (size_t)n;
}

static void on_output(void *arg, const char *text, size_t len)
{
	struct plog *l = arg;
	int n = snprintf(l->out + l->olen, sizeof l->out - l->olen, "[%.*s]", (int)len, text);

	ck_assert(n > 0 && (size_t)n < sizeof l->out - l->olen);
	l->olen += (size_t)n;
}

/* A reader that has taken out (n bytes), step bytes per call (0: all at once), and its end;
 * its progress calls go to *l. The caller frees it. */
static struct cmdout *feed(const char *out, size_t n, size_t step, struct plog *l)
{
	struct cmdout *co = cmdout_new(on_progress, on_output, l);

	memset(l, 0, sizeof *l);
	ck_assert_ptr_nonnull(co);
	for (size_t off = 0; off < n;) {
		size_t take = step && step < n - off ? step : n - off;
		cmdout_stdout(co, out + off, take);
		off += take;
	}
	cmdout_end(co);
	return co;
}

/* Runs out through a reader, step bytes per call; returns the result as plain JSON text (the
 * caller frees it) and the progress calls in *l. */
static char *run(const char *out, size_t n, size_t step, struct plog *l)
{
	struct cmdout *co = feed(out, n, step, l);
	json_object *result = cmdout_result(co);
	char *text = xstrdup(json_object_to_json_string_ext(
		result, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(result);
	cmdout_free(co);
	return text;
}

/* An output (len bytes), the progress calls it makes and its result as plain JSON. */
struct ocase {
	const char *name, *out;
	size_t len;
	const char *progress, *result;
};

/* Checks each case's result and progress calls at every step size. */
static void check_cases(const struct ocase *c, size_t n)
{
	for (; n > 0; c++, n--)
		for (size_t i = 0; i < N_OF(steps); i++) {
			struct plog l;
			char *got = run(c->out, c->len, steps[i], &l);

			ck_assert_msg(!strcmp(got, c->result), "%s (step %zu): result %s, want %s",
				      c->name, steps[i], got, c->result);
			ck_assert_msg(!strcmp(l.buf, c->progress), "%s (step %zu): progress \"%s\"",
				      c->name, steps[i], l.buf);
			free(got);
		}
}

START_TEST(progress_lines)
{
	static const struct ocase cases[] = {
		{"zero", S("progress 0\n"), "0 -;", "{\"stdout\":\"\"}"},
		{"with message", S("progress 100 done\n"), "100 done;", "{\"stdout\":\"\"}"},
		{"no message keeps the last", S("progress 50 half way\nprogress 60\n"),
		 "50 half way;60 half way;", "{\"stdout\":\"\"}"},
		{"empty message keeps the last", S("progress 5 a\nprogress 6 \n"), "5 a;6 a;",
		 "{\"stdout\":\"\"}"},
		{"CRLF", S("progress 50\r\nprogress 51 x\r\n"), "50 -;51 x;", "{\"stdout\":\"\"}"},
		{"leading zero", S("progress 042\n"), "42 -;", "{\"stdout\":\"\"}"},
		{"no newline at the end", S("progress 7"), "7 -;", "{\"stdout\":\"\"}"},
		{"message on one line", S("progress 7 tab\there\n"), "7 tab here;",
		 "{\"stdout\":\"\"}"},
		{"message as clean UTF-8",
		 S("progress 8 a\xff"
		   "b caf\xc3\xa9\n"),
		 "8 a?b caf\xc3\xa9;", "{\"stdout\":\"\"}"},
		{"out of range", S("progress 101\n"), "", "{\"stdout\":\"progress 101\\n\"}"},
		{"negative", S("progress -1\n"), "", "{\"stdout\":\"progress -1\\n\"}"},
		{"overflow", S("progress 99999999999999999999\n"), "",
		 "{\"stdout\":\"progress 99999999999999999999\\n\"}"},
		{"junk after the number", S("progress 5x\n"), "",
		 "{\"stdout\":\"progress 5x\\n\"}"},
		{"a fraction", S("progress 1.5\n"), "", "{\"stdout\":\"progress 1.5\\n\"}"},
		{"no number", S("progress \n"), "", "{\"stdout\":\"progress \\n\"}"},
		{"two spaces", S("progress  5\n"), "", "{\"stdout\":\"progress  5\\n\"}"},
		{"capital P", S("Progress 5\n"), "", "{\"stdout\":\"Progress 5\\n\"}"},
		{"not at the start", S(" progress 5\n"), "", "{\"stdout\":\" progress 5\\n\"}"},
		{"between output lines", S("a\nprogress 30 b\nc\n"), "30 b;",
		 "{\"stdout\":\"a\\nc\\n\"}"},
	};
	check_cases(cases, N_OF(cases));
}
END_TEST

START_TEST(results)
{
	static const struct ocase cases[] = {
		{"single-line object", S("hello\n{\"a\":1}\nbye\n"), "", "{\"a\":1}"},
		{"pretty-printed", S("{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": \"x\"\n}\n"), "",
		 "{\"a\":[1,2],\"b\":\"x\"}"},
		{"several values: the last", S("{\"a\":1}\n[2]\n\"three\"\ntrue\n4\n"), "", "4"},
		{"whitespace and CR around", S("  {\"a\":1}  \r\n"), "", "{\"a\":1}"},
		{"no newline at the end", S("{\"a\":1}"), "", "{\"a\":1}"},
		{"progress inside a value", S("{\"a\":1,\nprogress 50\n\"b\":2}\n"), "50 -;",
		 "{\"a\":1,\"b\":2}"},
		{"interrupted by text", S("{\"x\":1}\n{\"a\":\nhello\n}\n"), "", "{\"x\":1}"},
		{"interrupted by a new value", S("{\"a\"\n{\"b\":2}\n"), "", "{\"b\":2}"},
		{"trailing bytes", S("{\"ok\":1}\n{\"a\":1} and more\n"), "", "{\"ok\":1}"},
		{"two values on a line", S("{\"ok\":1}\n1 2\n"), "", "{\"ok\":1}"},
		{"NaN", S("{\"ok\":1}\n[NaN]\n"), "", "{\"ok\":1}"},
		{"bare NaN is text", S("{\"ok\":1}\nNaN\n"), "", "{\"ok\":1}"},
		{"Infinity", S("{\"ok\":1}\n{\"a\":Infinity}\n"), "", "{\"ok\":1}"},
		{"-Infinity", S("{\"ok\":1}\n-Infinity\n"), "", "{\"ok\":1}"},
		{"overflow to infinity", S("{\"ok\":1}\n[1e999]\n"), "", "{\"ok\":1}"},
		{"U+0000", S("{\"ok\":1}\n{\"s\":\"a\\u0000b\"}\n"), "", "{\"ok\":1}"},
		{"U+0000 deep", S("{\"ok\":1}\n[1,{\"k\":[\"\\u0000\"]}]\n"), "", "{\"ok\":1}"},
		{"null", S("{\"ok\":1}\nnull\n"), "", "{\"ok\":1}"},
		{"invalid UTF-8 in a string", S("{\"ok\":1}\n\"\xff\"\n"), "", "{\"ok\":1}"},
		{"NUL byte in a value", S("{\"ok\":1}\n{\"a\":\0001}\n"), "", "{\"ok\":1}"},
		{"unclosed at the end", S("{\"ok\":1}\n{\"a\":1\n"), "", "{\"ok\":1}"},
	};
	check_cases(cases, N_OF(cases));
}
END_TEST

START_TEST(stdout_fallback)
{
	static const struct ocase cases[] = {
		{"nothing", S(""), "", "{\"stdout\":\"\"}"},
		{"text, cleaned", S("hello\ncaf\xc3\xa9 \xff\0!\r\nno newline at the end"), "",
		 "{\"stdout\":\"hello\\ncaf\xc3\xa9 ?\?!\\nno newline at the end\\n\"}"},
		{"invalid sequences", S("\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82\n"), "",
		 "{\"stdout\":\"?? ??? ???? ??\\n\"}"},
		{"tabs stay", S("a\tb\n"), "", "{\"stdout\":\"a\\tb\\n\"}"},
		{"text only", S("NaN\nInfinity\n}\n"), "",
		 "{\"stdout\":\"NaN\\nInfinity\\n}\\n\"}"},
	};
	check_cases(cases, N_OF(cases));
}
END_TEST

/* Only the end of stdout is kept, and a character the cut splits is dropped, not garbled. */
START_TEST(stdout_fallback_keeps_the_end)
{
	char out[1 + 2 * 3000 + 1] = "x", *got;
	json_object *v;
	const char *s;
	struct plog l;

	for (size_t i = 0; i < 3000; i++)
		memcpy(out + 1 + 2 * i, "\xc3\xa9", 2);
	out[sizeof out - 1] = '\n';
	got = run(out, sizeof out, 0, &l);
	ck_assert_ptr_nonnull(v = json_tokener_parse(got));
	s = json_object_get_string(json_object_object_get(v, "stdout"));
	ck_assert(strlen(s) <= CMDOUT_OUT_TAIL && strlen(s) >= CMDOUT_OUT_TAIL - 4);
	for (size_t i = 0; s[i] && s[i] != '\n'; i += 2)
		ck_assert_msg(!memcmp(s + i, "\xc3\xa9", 2), "byte %zu", i);
	json_object_put(v);
	free(got);
}
END_TEST

/* {"ok":1}, then a value open over lines of 1000-byte strings; *n gets the length. */
static char *big_value(size_t lines, size_t *n)
{
	char *s = xmalloc(11 + lines * 1004 + 3), *p = mempcpy(s, "{\"ok\":1}\n[\n", 11);

	for (size_t i = 0; i < lines; i++) {
		*p++ = '"';
		p = (char *)memset(p, 'x', 1000) + 1000;
		p = mempcpy(p, "\",\n", 3);
	}
	p = mempcpy(p, "1]\n", 3);
	*n = (size_t)(p - s);
	return s;
}

START_TEST(value_size_limit)
{
	size_t n, m;
	char *under = big_value(1000, &n), *over = big_value(1100, &m);

	ck_assert_uint_lt(n - 9, CMDOUT_VALUE_MAX);
	ck_assert_uint_gt(m - 9, CMDOUT_VALUE_MAX);
	for (size_t i = 0; i < 2; i++) {
		struct plog l;
		char *got = run(under, n, steps[i], &l);
		json_object *v = json_tokener_parse(got);

		ck_assert_msg(v && json_object_array_length(v) == 1001, "step %zu", steps[i]);
		json_object_put(v);
		free(got);
		got = run(over, m, steps[i], &l);
		ck_assert_str_eq(got, "{\"ok\":1}");
		free(got);
	}
	free(over);
	free(under);
}
END_TEST

/* A line past the cap is cut: the rest of it is neither output nor part of the next line,
 * and a value on one such line is given up. */
START_TEST(line_cap)
{
	size_t n = 9 + CMDOUT_LINE_MAX + 20;
	char *out = xmalloc(n), *got, err[256];
	struct cmdout *co;
	struct plog l;

	memcpy(out, "{\"ok\":1}\n", 9);
	out[9] = '"';
	memset(out + 10, 'x', CMDOUT_LINE_MAX + 10);
	memcpy(out + n - 10, "LOST\"\nend\n", 10);
	for (size_t i = 0; i < N_OF(steps); i++) {
		got = run(out, n, steps[i], &l);
		ck_assert_str_eq(got, "{\"ok\":1}");
		free(got);
		co = feed(out, n, steps[i], &l);
		cmdout_fail_message(co, "exit status 1", err, sizeof err);
		ck_assert_msg(!strstr(err, "LOST") && !strcmp(err + strlen(err) - 10, "xxxx | end"),
			      "%s", err);
		cmdout_free(co);
	}
	free(out);
}
END_TEST

/* Depth: 32 levels are taken, 33 are not. */
START_TEST(value_depth_limit)
{
	static const char deep[] = "{\"ok\":1}\n[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
				   "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n";
	static const char deeper[] = "{\"ok\":1}\n[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
				     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n";
	struct plog l;
	char *got = run(deep, sizeof deep - 1, 0, &l);

	ck_assert_uint_eq(strlen(got), 64);
	ck_assert(!strncmp(got, deep + 9, 64));
	free(got);
	got = run(deeper, sizeof deeper - 1, 0, &l);
	ck_assert_str_eq(got, "{\"ok\":1}");
	free(got);
}
END_TEST

/* The same output fed in pieces of every size from 1 to 40 bytes gives what it gives at once. */
START_TEST(split_anywhere)
{
	static const char out[] =
		"start \xe2\x82\xac\r\nprogress 10 one\r\n{\n \"a\": [1, \"\xc3\xa9\"],\n"
		"progress 20\n \"b\": {\"c\": null}\n}\ntrailing text \xf0\x9f\x98\x80\n"
		"progress 30 three";
	struct plog l0, l;
	char *want = run(out, sizeof out - 1, 0, &l0);

	ck_assert_str_eq(want, "{\"a\":[1,\"\xc3\xa9\"],\"b\":{\"c\":null}}");
	ck_assert_str_eq(l0.buf, "10 one;20 one;30 three;");
	for (size_t step = 1; step <= 40; step++) {
		char *got = run(out, sizeof out - 1, step, &l);
		ck_assert_msg(!strcmp(got, want), "step %zu: %s", step, got);
		ck_assert_msg(!strcmp(l.buf, l0.buf), "step %zu: %s", step, l.buf);
		free(got);
	}
	free(want);
}
END_TEST

/* stdout, stderr, the size of the message and the message for "exit status 1". */
struct fcase {
	const char *name, *out, *err;
	size_t errsize;
	const char *want;
};

START_TEST(fail_messages)
{
	static const struct fcase cases[] = {
		{"no output", "", "", 256, "exit status 1"},
		{"blank output", " \n\r\n", "\n", 256, "exit status 1"},
		{"the output's tail without stderr", "out1\nout2\n", "", 256,
		 "exit status 1: out1 | out2"},
		{"stderr's tail first", "out\n", "  err1\r\n\nerr2\n\n", 256,
		 "exit status 1: err1 | err2"},
		{"progress is not output", "progress 5 x\n", "", 256, "exit status 1"},
		{"control characters", "", "a\tb\001c\xff", 256, "exit status 1: a b c?"},
		{"the end kept", "", "first line\nthe last line says most", 40,
		 "exit status 1: …last line says most"},
		{"a cut character dropped", "", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
		 26, "exit status 1: …\xc3\xa9\xc3\xa9"},
	};
	for (size_t i = 0; i < N_OF(cases); i++) {
		struct cmdout *co = cmdout_new(NULL, NULL, NULL);
		char err[256];

		ck_assert_ptr_nonnull(co);
		cmdout_stdout(co, cases[i].out, strlen(cases[i].out));
		cmdout_stderr(co, cases[i].err, strlen(cases[i].err));
		cmdout_end(co);
		cmdout_fail_message(co, "exit status 1", err, cases[i].errsize);
		ck_assert_msg(!strcmp(err, cases[i].want), "%s: \"%s\"", cases[i].name, err);
		cmdout_free(co);
	}
}
END_TEST

/* stderr keeps its last CMDOUT_ERR_TAIL bytes, however it arrives. */
START_TEST(stderr_tail_keeps_the_end)
{
	char err[3 * CMDOUT_ERR_TAIL + 7], msg[8192], want[8192];
	size_t n = sizeof err;

	for (size_t i = 0; i < n; i++)
		err[i] = (char)('a' + i % 26);
	memcpy(err + n - 3, "END", 3);
	snprintf(want, sizeof want, "exit status 2: %.*s", CMDOUT_ERR_TAIL,
		 err + n - CMDOUT_ERR_TAIL);
	for (size_t step = 1; step <= 4097; step += 1024) {
		struct cmdout *co = cmdout_new(NULL, NULL, NULL);

		ck_assert_ptr_nonnull(co);
		cmdout_stdout(co, "out\n", 4);
		for (size_t off = 0; off < n; off += step)
			cmdout_stderr(co, err + off, step < n - off ? step : n - off);
		cmdout_fail_message(co, "exit status 2", msg, sizeof msg);
		ck_assert_msg(!strcmp(msg, want), "step %zu: %s", step, msg);
		cmdout_free(co);
	}
}
END_TEST

/* cmdout_result moves the value out; cmdout_end twice is harmless; free(NULL) is a no-op. */
START_TEST(ownership)
{
	struct cmdout *co = cmdout_new(NULL, NULL, NULL);
	json_object *a, *b;

	ck_assert_ptr_nonnull(co);
	cmdout_stdout(co, "x\n[1]", 5);
	cmdout_end(co);
	cmdout_end(co);
	a = cmdout_result(co);
	b = cmdout_result(co);
	ck_assert_str_eq(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN), "[1]");
	ck_assert_str_eq(json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN),
			 "{\"stdout\":\"x\\n[1]\\n\"}");
	json_object_put(a);
	json_object_put(b);
	cmdout_free(co);
	cmdout_free(NULL);
}
END_TEST

/* The checkpoint callback's calls, as "json;" each. */
static void on_checkpoint(void *arg, const char *json)
{
	struct plog *l = arg;
	int n = snprintf(l->buf + l->len, sizeof l->buf - l->len, "%s;", json);

	ck_assert(n > 0 && (size_t)n < sizeof l->buf - l->len);
	l->len += (size_t)n;
}

/* "wait NAME [TIMEOUT_S [fail|run]]": the last one kept, a malformed one a protocol error;
 * "checkpoint JSON": each handed over compact, in order; neither is output nor a result. */
START_TEST(wait_and_checkpoint_lines)
{
	static const struct {
		const char *line, *name;
		double timeout;
		bool run, bad;
	} cases[] = {
		{"wait approve\n", "approve", 0, false, false},
		{"wait a.b-c_9 30\n", "a.b-c_9", 30, false, false},
		{"wait go 1.5 run\n", "go", 1.5, true, false},
		{"wait go 10 fail\r\n", "go", 10, false, false},
		{"wait Go\n", NULL, 0, false, true},
		{"wait go 0\n", NULL, 0, false, true},
		{"wait go -3\n", NULL, 0, false, true},
		{"wait go 10 maybe\n", NULL, 0, false, true},
		{"wait go ten\n", NULL, 0, false, true},
		{"wait \n", NULL, 0, false, true},
		{"wait go 31536001\n", NULL, 0, false, true},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct cmdout *co = cmdout_new(NULL, NULL, NULL);
		const char *name;
		double t;
		bool run, got;

		ck_assert_ptr_nonnull(co);
		cmdout_stdout(co, cases[i].line, strlen(cases[i].line));
		cmdout_end(co);
		got = cmdout_wait(co, &name, &t, &run);
		ck_assert_msg(got == !cases[i].bad, "%s", cases[i].line);
		ck_assert_msg((cmdout_protocol_error(co) != NULL) == cases[i].bad, "%s",
			      cases[i].line);
		if (got) {
			ck_assert_str_eq(name, cases[i].name);
			ck_assert(t == cases[i].timeout && run == cases[i].run);
		}
		cmdout_free(co);
	}
	for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
		static const char out[] =
			"checkpoint {\"next\": 2}\nprogress 40 two\n"
			"checkpoint [1, \"x\"]\nwait first\nwait second 5\n{\"r\":1}\n";
		struct plog l = {0};
		struct cmdout *co = cmdout_new(NULL, NULL, &l);
		const char *name;
		double t;
		bool run;
		json_object *result;

		ck_assert_ptr_nonnull(co);
		cmdout_on_checkpoint(co, on_checkpoint);
		for (size_t off = 0, n = sizeof out - 1; off < n;) {
			size_t take = steps[k] && steps[k] < n - off ? steps[k] : n - off;
			cmdout_stdout(co, out + off, take);
			off += take;
		}
		cmdout_end(co);
		ck_assert_str_eq(l.buf, "{\"next\":2};[1,\"x\"];");
		ck_assert(cmdout_wait(co, &name, &t, &run) && !strcmp(name, "second") && t == 5);
		ck_assert_ptr_null(cmdout_protocol_error(co));
		result = cmdout_result(co);
		ck_assert_str_eq(json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN),
				 "{\"r\":1}");
		json_object_put(result);
		cmdout_free(co);
	}
	{
		struct cmdout *co = cmdout_new(NULL, NULL, NULL);

		ck_assert_ptr_nonnull(co);
		cmdout_stdout(co, S("checkpoint {oops\ncheckpoint null\n"));
		cmdout_end(co);
		ck_assert_ptr_nonnull(cmdout_protocol_error(co));
		cmdout_free(co);
	}
}
END_TEST

/* "output TEXT" lines: TEXT and a line break, a JSON string decoded as it is, "output" alone a
 * line break; they are neither the result nor the stdout tail, and progress goes on. */
START_TEST(output_lines)
{
	static const char out[] = "output hello world\r\n"
				  "output \"tok\"\n"
				  "progress 50 half\n"
				  "output\n"
				  "output \"a\\nb \\u00e9\"\n"
				  "outputs are not output lines\n"
				  "output [1]\n"
				  "{\"r\": 1}\n";

	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		struct plog l;
		char *result = run(S(out), steps[i], &l);

		ck_assert_str_eq(l.out, "[hello world\n][tok][\n][a\nb \xc3\xa9][[1]\n]");
		ck_assert_str_eq(l.buf, "50 half;");
		ck_assert_str_eq(result, "{\"r\":1}");
		free(result);
	}
}
END_TEST

UNITS_SUITE(cmdout, 60, progress_lines, output_lines, results, stdout_fallback,
	    stdout_fallback_keeps_the_end, value_size_limit, line_cap, value_depth_limit,
	    split_anywhere, fail_messages, stderr_tail_keeps_the_end, ownership,
	    wait_and_checkpoint_lines)
