/* query: percent-decoding key=value pairs of a query string. */
#include "query.h"

#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes n bytes of s into out (QUERY_MAX_VALUE + 1 bytes); -1 on a bad input. */
static int decode(const char *s, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;
			if (i + 2 >= n)
				return -1;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi * 16 + lo);
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

int query_each(const char *query, int (*fn)(const char *key, const char *val, void *ctx),
	       void *ctx)
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
