/*
 * cmdout: a command program's stdout and stderr, turned into progress, a result and an error
 * tail (the rules are in cmdout.h and in worker/kinds/command.c's header). Pure code over
 * bytes: it must not touch processes, descriptors or the kind API, nor keep more than the
 * bounded tails, one line and one JSON value being read.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdout.h"
#include "base/utf8.h"
#include "base/xalloc.h"
#include "model/signal.h"

#define MSG_MAX 512

/* The last cap bytes of a stream; the buffer is compacted once it is full. */
struct tail {
	size_t cap, len;
	char buf[2 * CMDOUT_OUT_TAIL];
};

struct cmdout {
	void (*progress)(void *arg, int pct, const char *msg);
	void (*output)(void *arg, const char *text, size_t len);
	void *arg;
	char *line; /* the stdout line being read, with room for '\n' and NUL; owned */
	size_t linelen, linecap;
	struct tail outtail, errtail;
	json_tokener *tok; /* owned */
	bool open;         /* tok holds the start of a value that the next lines may complete */
	size_t openbytes;
	json_object *value; /* the last JSON value so far; owned */
	char msg[MSG_MAX];  /* the last progress message */
	void (*checkpoint)(void *arg, const char *json);
	char wait_name[SIGNAL_NAME_MAX + 1]; /* the last wait line's ("": none) */
	double wait_timeout_s;
	bool wait_run;
	char protocol_error[160]; /* the first bad wait or checkpoint line ("": none) */
};

static void tail_put(struct tail *t, const char *p, size_t n)
{
	if (n > t->cap) {
		p += n - t->cap;
		n = t->cap;
	}
	if (t->len + n > sizeof t->buf) {
		size_t keep = t->cap - n;
		memmove(t->buf, t->buf + t->len - keep, keep);
		t->len = keep;
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

/* The kept bytes; borrowed until the next tail_put. */
static const char *tail_get(const struct tail *t, size_t *n)
{
	*n = t->len < t->cap ? t->len : t->cap;
	return t->buf + t->len - *n;
}

/* Copies program output into out (NUL-terminated) as text PostgreSQL stores: NUL and invalid
 * bytes become '?', a character cut at the start is dropped; with one_line, runs of line
 * breaks become " | " and other control characters spaces. */
static void clean_text(const char *in, size_t n, char *out, size_t outsize, bool one_line)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0;

	while (i < n && i < 3 && (s[i] & 0xc0) == 0x80)
		i++;
	while (i < n && o + 4 < outsize) {
		size_t len = s[i] ? utf8_char_len(s + i, n - i) : 0;

		if (one_line && (s[i] == '\n' || s[i] == '\r')) {
			while (i < n && (s[i] == '\n' || s[i] == '\r'))
				i++;
			memcpy(out + o, " | ", 3);
			o += 3;
		} else if (len == 0 || (one_line && s[i] < 0x20)) {
			out[o++] = len ? ' ' : '?';
			i++;
		} else {
			memcpy(out + o, s + i, len);
			o += len;
			i += len;
		}
	}
	out[o] = '\0';
}

/* Whether jsonb takes v: no NaN or infinite number, no U+0000 in a string. */
static bool storable(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_double:
		return isfinite(json_object_get_double(v));
	case json_type_string:
		return !memchr(json_object_get_string(v), '\0',
			       (size_t)json_object_get_string_len(v));
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (!storable(json_object_array_get_idx(v, i)))
				return false;
		return true;
	case json_type_object: {
		json_object_object_foreach(v, key, val) {
			(void)key;
			if (!storable(val))
				return false;
		}
		return true;
	}
	default:
		return true;
	}
}

/* Feeds one output line (with its '\n' and a NUL after it) to the JSON reader: it continues
 * the value an earlier line left open, or else is tried as the start of a new one. The
 * tokener is strict: trailing bytes after a value are an error, not a second value. */
static void json_line(struct cmdout *co, const char *s, size_t n)
{
	for (bool fresh = !co->open;; fresh = true) {
		const char *c = s + strspn(s, " \t\r\n");
		json_object *v;
		enum json_tokener_error e;

		if (fresh) {
			/* plain text skips the tokener, which allocates a locale on every call */
			if (!*c || !strchr("{[\"-0123456789tfn", *c)) {
				co->open = false;
				return;
			}
			json_tokener_reset(co->tok);
			co->openbytes = 0;
		}
		co->openbytes += n;
		v = json_tokener_parse_ex(co->tok, s, (int)n);
		e = json_tokener_get_error(co->tok);
		co->open = e == json_tokener_continue && co->openbytes <= CMDOUT_VALUE_MAX;
		if (co->open)
			return;
		if (v && e == json_tokener_success && storable(v)) {
			json_object_put(co->value);
			co->value = v;
			return;
		}
		json_object_put(v);
		if (fresh)
			return;
	}
}

/* "progress P[ message]", P an integer 0..100: true with *pct and *msg (into line, or NULL). */
static bool progress_line(const char *line, int *pct, const char **msg)
{
	char *end;
	long p;

	if (strncmp(line, "progress ", 9) || line[9] < '0' || line[9] > '9')
		return false;
	errno = 0;
	p = strtol(line + 9, &end, 10);
	if (errno || p > 100 || (*end && *end != ' '))
		return false;
	*pct = (int)p;
	*msg = *end ? end + 1 : NULL;
	return true;
}

/* "wait NAME [TIMEOUT_S [fail|run]]" (after "wait "): kept as the wait, or a protocol
 * error. */
static void wait_line(struct cmdout *co, const char *s)
{
	char name[SIGNAL_NAME_MAX + 2] = "", *end;
	size_t n = strcspn(s, " ");
	double t = 0;
	bool run = false, ok = n <= SIGNAL_NAME_MAX;

	if (ok) {
		memcpy(name, s, n);
		ok = signal_name_valid(name);
	}
	s += n;
	if (ok && *s == ' ') {
		errno = 0;
		t = strtod(s + 1, &end);
		ok = !errno && end != s + 1 && isfinite(t) && t > 0 && t <= SIGNAL_WAIT_MAX_S;
		s = end;
		if (ok && (!strcmp(s, " run") || !strcmp(s, " fail"))) {
			run = !strcmp(s, " run");
			s += strlen(s);
		}
	}
	if (!ok || *s) {
		if (!co->protocol_error[0])
			snprintf(co->protocol_error, sizeof co->protocol_error,
				 "bad wait line: want \"wait NAME [TIMEOUT_S [fail|run]]\", NAME "
				 "being " SIGNAL_NAME_RULE);
		return;
	}
	memcpy(co->wait_name, name, sizeof co->wait_name);
	co->wait_timeout_s = t;
	co->wait_run = run;
}

/* "checkpoint JSON" (after "checkpoint "): handed to the callback, or a protocol error. */
static void checkpoint_line(struct cmdout *co, const char *s)
{
	enum json_tokener_error e;
	json_object *v = json_tokener_parse_verbose(s, &e);

	if (!v || !storable(v)) {
		if (!co->protocol_error[0])
			snprintf(co->protocol_error, sizeof co->protocol_error,
				 "bad checkpoint line: want \"checkpoint JSON\", one JSON value "
				 "(not null) on the line");
	} else if (co->checkpoint) {
		co->checkpoint(co->arg,
			       json_object_to_json_string_ext(
				       v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	json_object_put(v);
}

/* "output TEXT" (or "output" alone): hands over the chunk it streams. TEXT that is one JSON
 * string (it starts with '"') is that string decoded, as it is (a token, a text with its own
 * line breaks); any other TEXT is that line, with its line break. true when it was one. */
static bool output_line(struct cmdout *co)
{
	const char *text = co->line + 7;
	size_t len = co->linelen - 7;
	json_object *v;

	if (strncmp(co->line, "output", 6) || (co->line[6] != ' ' && co->line[6] != '\0'))
		return false;
	if (co->line[6] == '\0') {
		text = co->line + 6; /* the line break alone */
		len = 0;
	}
	if (!co->output)
		return true;
	if (len > 0 && text[0] == '"' && (v = json_tokener_parse(text)) != NULL) {
		if (json_object_is_type(v, json_type_string)) {
			co->output(co->arg, json_object_get_string(v),
				   (size_t)json_object_get_string_len(v));
			json_object_put(v);
			return true;
		}
		json_object_put(v);
	}
	co->line[co->linelen] = '\n';
	co->output(co->arg, text, len + 1);
	co->line[co->linelen] = '\0';
	return true;
}

/* Handles the complete stdout line in co->line (without its '\n'). */
static void out_line(struct cmdout *co)
{
	const char *msg;
	int pct;

	if (co->linelen > 0 && co->line[co->linelen - 1] == '\r')
		co->linelen--;
	co->line[co->linelen] = '\0';
	if (!strncmp(co->line, "wait ", 5)) {
		wait_line(co, co->line + 5);
	} else if (!strncmp(co->line, "checkpoint ", 11)) {
		checkpoint_line(co, co->line + 11);
	} else if (progress_line(co->line, &pct, &msg)) {
		if (msg && *msg)
			clean_text(msg, strlen(msg), co->msg, sizeof co->msg, true);
		if (co->progress)
			co->progress(co->arg, pct, co->msg[0] ? co->msg : NULL);
	} else if (!output_line(co)) {
		co->line[co->linelen++] = '\n';
		co->line[co->linelen] = '\0';
		tail_put(&co->outtail, co->line, co->linelen);
		json_line(co, co->line, co->linelen);
	}
	co->linelen = 0;
}

/* Appends to the current line what fits under CMDOUT_LINE_MAX; the rest of the line is lost. */
static void line_append(struct cmdout *co, const char *p, size_t n)
{
	if (n > CMDOUT_LINE_MAX - co->linelen)
		n = CMDOUT_LINE_MAX - co->linelen;
	if (co->linelen + n + 2 > co->linecap) {
		while (co->linelen + n + 2 > co->linecap)
			co->linecap = co->linecap ? co->linecap * 2 : 256;
		if (co->linecap > CMDOUT_LINE_MAX + 2)
			co->linecap = CMDOUT_LINE_MAX + 2;
		co->line = xrealloc(co->line, co->linecap);
	}
	memcpy(co->line + co->linelen, p, n);
	co->linelen += n;
}

struct cmdout *cmdout_new(void (*progress)(void *arg, int pct, const char *msg),
			  void (*output)(void *arg, const char *text, size_t len), void *arg)
{
	struct cmdout *co = xcalloc(1, sizeof *co);

	co->progress = progress;
	co->output = output;
	co->arg = arg;
	co->outtail.cap = CMDOUT_OUT_TAIL;
	co->errtail.cap = CMDOUT_ERR_TAIL;
	if (!(co->tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH))) {
		free(co);
		return NULL;
	}
	json_tokener_set_flags(co->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	return co;
}

void cmdout_free(struct cmdout *co)
{
	if (!co)
		return;
	json_object_put(co->value);
	json_tokener_free(co->tok);
	free(co->line);
	free(co);
}

void cmdout_stdout(struct cmdout *co, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;

		line_append(co, p, take);
		if (nl) {
			out_line(co);
			take++;
		}
		p += take;
		n -= take;
	}
}

void cmdout_stderr(struct cmdout *co, const char *p, size_t n)
{
	tail_put(&co->errtail, p, n);
}

void cmdout_end(struct cmdout *co)
{
	if (co->linelen > 0)
		out_line(co);
}

json_object *cmdout_result(struct cmdout *co)
{
	json_object *result = co->value;
	char text[CMDOUT_OUT_TAIL + 4]; /* the cleaner stops 4 bytes short of the end */
	const char *s;
	size_t n;

	co->value = NULL;
	if (result)
		return result;
	s = tail_get(&co->outtail, &n);
	clean_text(s, n, text, sizeof text, false);
	result = json_object_new_object();
	json_object_object_add(result, "stdout", json_object_new_string(text));
	return result;
}

void cmdout_fail_message(const struct cmdout *co, const char *what, char *err, size_t errsize)
{
	const struct tail *t = co->errtail.len ? &co->errtail : &co->outtail;
	char text[3 * CMDOUT_OUT_TAIL + 1];
	size_t n, room = strlen(what) + 8 < errsize ? errsize - strlen(what) - 8 : 0;
	const char *s = tail_get(t, &n);

	for (; n > 0 && strchr(" \t\r\n", *s); n--)
		s++;
	while (n > 0 && strchr(" \t\r\n", s[n - 1]))
		n--;
	clean_text(s, n, text, sizeof text, true);
	s = text;
	n = strlen(text);
	if (n > room) {
		for (s = text + n - room; (*s & 0xc0) == 0x80; s++)
			;
		snprintf(err, errsize, "%s: …%s", what, s);
	} else {
		snprintf(err, errsize, "%s%s%s", what, n ? ": " : "", text);
	}
}

void cmdout_on_checkpoint(struct cmdout *co, void (*fn)(void *arg, const char *json))
{
	co->checkpoint = fn;
}

bool cmdout_wait(const struct cmdout *co, const char **name, double *timeout_s, bool *run)
{
	if (!co->wait_name[0])
		return false;
	*name = co->wait_name;
	*timeout_s = co->wait_timeout_s;
	*run = co->wait_run;
	return true;
}

const char *cmdout_protocol_error(const struct cmdout *co)
{
	return co->protocol_error[0] ? co->protocol_error : NULL;
}
