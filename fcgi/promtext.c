/* promtext: the Prometheus text format 0.0.4 (see promtext.h). */
#include "promtext.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

void pt_init(struct ptext *t)
{
	memset(t, 0, sizeof *t);
	t->cap = 4096;
	t->buf = xmalloc(t->cap);
	t->buf[0] = '\0';
}

void pt_free(struct ptext *t)
{
	for (int i = 0; i < t->nseen; i++)
		free(t->seen[i]);
	free(t->buf);
	memset(t, 0, sizeof *t);
}

static void put(struct ptext *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		while (t->len + n + 1 > t->cap)
			t->cap *= 2;
		t->buf = xrealloc(t->buf, t->cap);
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static void puts_(struct ptext *t, const char *s)
{
	put(t, s, strlen(s));
}

void pt_append(struct ptext *t, const char *text, size_t len)
{
	put(t, text, len);
}

static bool name_chars(const char *s, bool colon)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			  (colon && c == ':') || (p != s && c >= '0' && c <= '9');
		if (!ok)
			return false;
	}
	return true;
}

bool pt_valid_metric_name(const char *s)
{
	return name_chars(s, true);
}

bool pt_valid_label_name(const char *s)
{
	return name_chars(s, false) && strncmp(s, "__", 2) != 0;
}

/* Length of the valid UTF-8 sequence at s (1–4), or 0 when it is not one. */
static int utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	int n;
	unsigned min;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, min = 0x80;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, min = 0x800;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, min = 0x10000;
	else
		return 0;
	unsigned cp = c & (0x3F >> (n - 1));
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

/* A label value between quotes: \ " and newline escaped, invalid UTF-8 as U+FFFD. */
static void put_label_value(struct ptext *t, const char *v)
{
	const unsigned char *s = (const unsigned char *)(v ? v : "");

	while (*s) {
		size_t run = 0;
		int n;

		/* copy the longest stretch that needs nothing */
		while (s[run] && s[run] != '\\' && s[run] != '"' && s[run] != '\n' &&
		       (n = utf8_len(s + run)) > 0)
			run += (size_t)n;
		if (run)
			put(t, (const char *)s, run);
		s += run;
		if (!*s)
			break;
		if (*s == '\\')
			puts_(t, "\\\\");
		else if (*s == '"')
			puts_(t, "\\\"");
		else if (*s == '\n')
			puts_(t, "\\n");
		else
			puts_(t, "\xEF\xBF\xBD"); /* one byte that starts no valid sequence */
		s++;
	}
}

bool pt_family(struct ptext *t, const char *name, const char *type, const char *help)
{
	static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
	bool type_ok = false;

	t->family = NULL;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		type_ok |= type && !strcmp(type, types[i]);
	if (!pt_valid_metric_name(name) || !type_ok || t->nseen >= PT_MAX_FAMILIES) {
		t->errors++;
		return false;
	}
	for (int i = 0; i < t->nseen; i++)
		if (!strcmp(t->seen[i], name)) {
			t->errors++;
			return false;
		}
	t->seen[t->nseen++] = xstrdup(name);
	t->family = t->seen[t->nseen - 1];
	puts_(t, "# HELP ");
	puts_(t, name);
	put(t, " ", 1);
	for (const char *p = help ? help : ""; *p; p++) {
		if (*p == '\\')
			puts_(t, "\\\\");
		else if (*p == '\n')
			puts_(t, "\\n");
		else
			put(t, p, 1);
	}
	puts_(t, "\n# TYPE ");
	puts_(t, name);
	put(t, " ", 1);
	puts_(t, type);
	put(t, "\n", 1);
	return true;
}

void pt_format_value(char *out, size_t size, double v)
{
	if (isnan(v))
		snprintf(out, size, "NaN");
	else if (isinf(v))
		snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(out, size, "%.0f", v);
	else {
		/* the shortest of %.15g … %.17g that reads back as the same double */
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(out, size, "%.*g", prec, v);
			if (strtod(out, NULL) == v)
				break;
		}
	}
}

/* name{labels[,extra_k="extra_v"]} value */
static void sample(struct ptext *t, const char *suffix, const char *const *labels,
		   const char *extra_k, const char *extra_v, const char *value)
{
	bool first = true;

	if (!t->family)
		return; /* no family open (refused): drop, never write a sample without TYPE */
	for (const char *const *l = labels; l && l[0]; l += 2)
		if (!pt_valid_label_name(l[0])) {
			t->errors++;
			return;
		}
	puts_(t, t->family);
	puts_(t, suffix ? suffix : "");
	for (const char *const *l = labels; l && l[0]; l += 2) {
		put(t, first ? "{" : ",", 1);
		first = false;
		puts_(t, l[0]);
		puts_(t, "=\"");
		put_label_value(t, l[1]);
		put(t, "\"", 1);
	}
	if (extra_k) {
		put(t, first ? "{" : ",", 1);
		first = false;
		puts_(t, extra_k);
		puts_(t, "=\"");
		put_label_value(t, extra_v);
		put(t, "\"", 1);
	}
	if (!first)
		put(t, "}", 1);
	put(t, " ", 1);
	puts_(t, value);
	put(t, "\n", 1);
}

void pt_sample(struct ptext *t, const char *suffix, const char *const *labels, double v)
{
	char value[40];

	pt_format_value(value, sizeof value, v);
	sample(t, suffix, labels, NULL, NULL, value);
}

void pt_sample_u64(struct ptext *t, const char *suffix, const char *const *labels,
		   unsigned long long v)
{
	char value[24];

	snprintf(value, sizeof value, "%llu", v);
	sample(t, suffix, labels, NULL, NULL, value);
}

void pt_histogram(struct ptext *t, const char *const *labels, const double *le, int nb,
		  const unsigned long long *counts, double sum)
{
	unsigned long long cum = 0;
	char bound[40], value[24];

	for (int i = 0; i <= nb; i++) {
		cum += counts[i];
		if (i < nb)
			pt_format_value(bound, sizeof bound, le[i]);
		snprintf(value, sizeof value, "%llu", cum);
		sample(t, "_bucket", labels, "le", i < nb ? bound : "+Inf", value);
	}
	pt_sample(t, "_sum", labels, sum);
	pt_sample_u64(t, "_count", labels, cum);
}
