/* httpstream: an http body relayed as output chunks (see httpstream.h). */
#include "httpstream.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/xalloc.h"

enum mode { UNKNOWN, EVENTS, RAW };

struct buf {
	char *p;
	size_t len, cap;
};

struct httpstream {
	void (*emit)(void *arg, const char *text, size_t len);
	void *arg;
	enum mode mode;
	bool after_cr; /* EVENTS: the last line ended with CR: an LF next belongs to it */
	int bom;       /* EVENTS: bytes of a leading byte order mark seen; 3: past the start */
	struct buf line, data; /* EVENTS: the line being read; the event's data so far */
	struct buf hold;       /* RAW: the start of a character split between pieces */
};

/* Appends what fits under max bytes. */
static void buf_put(struct buf *b, const char *p, size_t n, size_t max)
{
	if (n > max - b->len)
		n = max - b->len;
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

struct httpstream *httpstream_new(void (*emit)(void *arg, const char *text, size_t len), void *arg)
{
	struct httpstream *s = xcalloc(1, sizeof *s);

	s->emit = emit;
	s->arg = arg;
	return s;
}

void httpstream_free(struct httpstream *s)
{
	if (!s)
		return;
	free(s->line.p);
	free(s->data.p);
	free(s->hold.p);
	free(s);
}

/* The end of an event (a blank line): its data goes out. */
static void dispatch(struct httpstream *s)
{
	if (s->data.len > 0) {
		s->data.len--; /* the '\n' after the last data line */
		if (!(s->data.len == 6 && !memcmp(s->data.p, "[DONE]", 6)))
			s->emit(s->arg, s->data.p, s->data.len);
	}
	s->data.len = 0;
}

/* One complete line of the event stream (without its end). */
static void event_line(struct httpstream *s, const char *l, size_t n)
{
	const char *colon;
	size_t name;

	if (n == 0) {
		dispatch(s);
		return;
	}
	if (l[0] == ':')
		return; /* a comment */
	colon = memchr(l, ':', n);
	name = colon ? (size_t)(colon - l) : n;
	if (name != 4 || memcmp(l, "data", 4))
		return; /* event, id, retry and unknown fields: nothing for the output */
	if (colon) {
		colon++;
		if (colon < l + n && *colon == ' ')
			colon++;
		buf_put(&s->data, colon, (size_t)(l + n - colon), HTTPSTREAM_EVENT_MAX);
	}
	buf_put(&s->data, "\n", 1, HTTPSTREAM_EVENT_MAX + 1);
}

static void events(struct httpstream *s, const char *p, size_t n)
{
	/* a byte order mark at the start goes, even split between pieces */
	while (s->bom < 3 && n > 0) {
		if ((unsigned char)*p != (unsigned char)"\xef\xbb\xbf"[s->bom]) {
			s->bom = 3;
			break;
		}
		s->bom++;
		p++;
		n--;
	}
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && s->after_cr) {
			s->after_cr = false;
			continue;
		}
		s->after_cr = p[i] == '\r';
		if (p[i] == '\r' || p[i] == '\n') {
			event_line(s, s->line.p ? s->line.p : "", s->line.len);
			s->line.len = 0;
		} else {
			size_t run = i;
			while (run < n && p[run] != '\r' && p[run] != '\n')
				run++;
			buf_put(&s->line, p + i, run - i, HTTPSTREAM_EVENT_MAX);
			i = run - 1;
		}
	}
}

/* How many of the n bytes at p end before a character that is still incomplete. */
static size_t whole_chars(const unsigned char *p, size_t n)
{
	for (size_t back = 0; back < 4 && back < n; back++) {
		unsigned char c = p[n - 1 - back];
		if ((c & 0xc0) != 0x80) {
			size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
			return need > back + 1 ? n - 1 - back : n;
		}
	}
	return n; /* no lead byte near the end: nothing to wait for */
}

static void raw(struct httpstream *s, const char *p, size_t n)
{
	char *joined = NULL;
	size_t whole;

	if (s->hold.len > 0) { /* the held start of a character goes first */
		joined = xmalloc(s->hold.len + n);
		memcpy(joined, s->hold.p, s->hold.len);
		memcpy(joined + s->hold.len, p, n);
		n += s->hold.len;
		p = joined;
		s->hold.len = 0;
	}
	whole = whole_chars((const unsigned char *)p, n);
	if (whole > 0)
		s->emit(s->arg, p, whole);
	if (whole < n)
		buf_put(&s->hold, p + whole, n - whole, 8);
	free(joined);
}

void httpstream_data(struct httpstream *s, const char *content_type, const char *data, size_t len)
{
	if (s->mode == UNKNOWN)
		s->mode = content_type && !strncasecmp(content_type, "text/event-stream", 17)
				  ? EVENTS
				  : RAW;
	if (s->mode == EVENTS)
		events(s, data, len);
	else
		raw(s, data, len);
}

void httpstream_end(struct httpstream *s)
{
	if (s->mode == EVENTS) {
		if (s->line.len > 0)
			event_line(s, s->line.p, s->line.len);
		dispatch(s);
	} else if (s->hold.len > 0) {
		s->emit(s->arg, s->hold.p, s->hold.len); /* cleaned to U+FFFD by the output */
	}
	s->line.len = s->data.len = s->hold.len = 0;
}
