/* query: percent-decoding key=value pairs of a query string. */
#include "query.h"

#include <string.h>

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
