/* query: percent-decoding key=value pairs of a query string, and checking them against the
 * parameters a route declares (see query.h). It knows no route: fcgi/params.c declares them. */
#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/err.h"
#include "base/hex.h"

/* Decodes n bytes of s into out (QUERY_MAX_VALUE + 1 bytes); -1 on a bad input. */
static int decode(const char *s, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int b;
			if (i + 2 >= n || (b = hex_byte(s + i + 1)) < 0)
				return -1;
			c = (char)b;
			if (c == '\0')
				return -1;
			i += 2;
		}
		if (o >= QUERY_MAX_VALUE)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

int query_each(const char *query, int (*fn)(const char *key, const char *val, void *ctx), void *ctx)
{
	char key[QUERY_MAX_VALUE + 1], val[QUERY_MAX_VALUE + 1];
	const char *p = query ? query : "";

	while (*p) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		int rc;

		if (len > 0) {
			if (decode(p, klen, key) < 0)
				return -1;
			if (decode(eq ? eq + 1 : "", eq ? len - klen - 1 : 0, val) < 0)
				return -1;
			if ((rc = fn(key, val, ctx)) != 0)
				return rc;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return 0;
}

/* ---- the rule -------------------------------------------------------------------------- */

struct check {
	const struct query_param *params;
	unsigned long seen; /* bit i: params[i] was named */
	char *msg;
	size_t size;
};

/* The parameter called key among params, or NULL; *i is its index. */
static const struct query_param *find(const struct query_param *params, const char *key, int *i)
{
	for (*i = 0; params && params[*i].name; (*i)++)
		if (!strcmp(params[*i].name, key))
			return &params[*i];
	return NULL;
}

/* "wait, view_token", or "none". */
static void names(const struct query_param *params, char *out, size_t size)
{
	size_t used = 0;

	snprintf(out, size, "none");
	for (int i = 0; params && params[i].name && used < size; i++)
		used += (size_t)snprintf(out + used, size - used, "%s%s", i ? ", " : "",
					 params[i].name);
}

static int check_pair(const char *key, const char *val, void *ctx)
{
	struct check *c = ctx;
	const struct query_param *p;
	char k[41], takes[160];
	long v;
	int i;

	if (!(p = find(c->params, key, &i))) {
		names(c->params, takes, sizeof takes);
		snprintf(c->msg, c->size, "unknown query parameter '%s'; this route takes %s",
			 err_snippet(k, sizeof k, key, 40), takes);
		return 1;
	}
	if (i >= (int)(8 * sizeof c->seen) || c->seen & 1ul << i) {
		snprintf(c->msg, c->size, "query parameter '%s' is given more than once", p->name);
		return 1;
	}
	c->seen |= 1ul << i;
	if (p->valid ? !p->valid(val) : config_parse_long(val, p->min, p->max, &v) != TASKQ_OK) {
		if (p->valid)
			snprintf(c->msg, c->size, "%s must be %s", p->name, p->what);
		else
			snprintf(c->msg, c->size, "%s must be an integer %ld..%ld", p->name, p->min,
				 p->max);
		return 1;
	}
	return 0;
}

int query_check(const char *query, const struct query_param *params, char *msg, size_t size)
{
	struct check c = {params, 0, msg, size};
	int rc = query_each(query, check_pair, &c);

	if (rc < 0)
		snprintf(msg, size,
			 "malformed query string: a bad %%-escape, an encoded NUL, or a key or "
			 "value over %d bytes",
			 QUERY_MAX_VALUE);
	return rc ? -1 : 0;
}

struct lookup {
	const char *name;
	char *out;
	bool found;
};

static int get_pair(const char *key, const char *val, void *ctx)
{
	struct lookup *l = ctx;

	if (strcmp(key, l->name) != 0)
		return 0;
	snprintf(l->out, QUERY_MAX_VALUE + 1, "%s", val);
	l->found = true;
	return 1;
}

bool query_get(const char *query, const char *name, char *out)
{
	struct lookup l = {name, out, false};

	out[0] = '\0';
	query_each(query, get_pair, &l);
	return l.found;
}

long query_long(const char *query, const char *name, long dflt)
{
	char val[QUERY_MAX_VALUE + 1];

	return query_get(query, name, val) ? strtol(val, NULL, 10) : dflt;
}
