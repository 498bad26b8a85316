/* Unit tests: the http kind's streamed body cut into output chunks
 * (worker/kinds/httpstream.c): Server-Sent Events (data lines, line ends, comments, fields,
 * [DONE], a last event without its blank line) and other bodies (pieces as they come, a
 * UTF-8 character split between pieces), fed whole and split at any byte. */
#include <stdio.h>
#include <string.h>

#include "kinds/httpstream.h"
#include "units.h"

#define S(lit) lit, sizeof lit - 1

/* The chunks, each as "[chunk]". */
struct clog {
	char buf[2048];
	size_t len;
};

static void on_chunk(void *arg, const char *text, size_t len)
{
	struct clog *l = arg;
	int n = snprintf(l->buf + l->len, sizeof l->buf - l->len, "[%.*s]", (int)len, text);

	ck_assert(n > 0 && (size_t)n < sizeof l->buf - l->len);
	l->len += (size_t)n;
}

/* Feeds body (n bytes) step bytes at a time (0: whole) with content type ct, then its end. */
static void feed(const char *ct, const char *body, size_t n, size_t step, struct clog *l)
{
	struct httpstream *s = httpstream_new(on_chunk, l);

	memset(l, 0, sizeof *l);
	for (size_t off = 0; off < n;) {
		size_t take = step && step < n - off ? step : n - off;
		httpstream_data(s, ct, body + off, take);
		off += take;
	}
	httpstream_end(s);
	httpstream_free(s);
}

static const size_t steps[] = {0, 1, 2, 3, 7};

START_TEST(events)
{
	static const struct {
		const char *body;
		size_t n;
		const char *want;
	} cases[] = {
		{S("data: {\"t\":1}\n\ndata: {\"t\":2}\n\n"), "[{\"t\":1}][{\"t\":2}]"},
		/* several data lines are one event, joined with \n; one space after the colon goes */
		{S("data: a\ndata:b\ndata:  c\n\n"), "[a\nb\n c]"},
		/* CRLF and CR line ends; a byte order mark first */
		{S("\xef\xbb\xbf"
		   "data: x\r\n\r\ndata: y\r\rdata: z\r\n\n"),
		 "[x][y][z]"},
		/* comments, other fields and events without data give nothing */
		{S(": keep-alive\n\nevent: ping\nid: 7\nretry: 10\n\nevent: msg\ndata: m\n\n"),
		 "[m]"},
		/* [DONE] is not output; what follows it still is */
		{S("data: 1\n\ndata: [DONE]\n\ndata: 2\n\n"), "[1][2]"},
		/* "data" without a colon is an empty data line */
		{S("data\n\n"), "[]"},
		/* the last event without its blank line, and a last line without its end */
		{S("data: p\n\ndata: q\n"), "[p][q]"},
		{S("data: p\n\ndata: r"), "[p][r]"},
		{S(""), ""},
	};

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
		for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
			struct clog l;
			feed("text/event-stream; charset=utf-8", cases[c].body, cases[c].n,
			     steps[i], &l);
			ck_assert_msg(!strcmp(l.buf, cases[c].want), "case %zu step %zu: %s", c,
				      steps[i], l.buf);
		}
}
END_TEST

START_TEST(other_bodies)
{
	struct clog l;

	/* whole: one chunk; the content type is read at the first piece only */
	feed("text/plain", S("caf\xc3\xa9 ok"), 0, &l);
	ck_assert_str_eq(l.buf, "[caf\xc3\xa9 ok]");
	feed(NULL, S("data: not an event\n\n"), 0, &l);
	ck_assert_str_eq(l.buf, "[data: not an event\n\n]");
	/* a character split between pieces goes out whole with the next piece */
	feed("text/plain",
	     S("ab\xc3\xa9"
	       "cd\xe2\x82\xac"),
	     3, &l);
	ck_assert_str_eq(l.buf, "[ab][\xc3\xa9"
				"cd][\xe2\x82\xac]");
	feed("text/plain", S("\xf0\x9f\x98\x80!"), 1, &l);
	ck_assert_str_eq(l.buf, "[\xf0\x9f\x98\x80][!]");
	/* a character still cut when the body ends goes out as it is (the output cleans it) */
	feed("text/plain", S("x\xe2\x82"), 0, &l);
	ck_assert_str_eq(l.buf, "[x][\xe2\x82]");
}
END_TEST

UNITS_SUITE(httpstream, 0, events, other_bodies)
