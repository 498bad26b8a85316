/* refjson: the reference JSON checker of the fuzz targets (see refjson.h). */
#include "refjson.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "model/taskjson.h"

struct rp {
	const unsigned char *s;
	size_t n, i;
	int inval;      /* a \u0000 or an out-of-range number was seen */
	int top_scalar; /* the top-level value is a number or literal */
	int repeat;     /* an object names a key twice */
};

static void ws(struct rp *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
			       p->s[p->i] == '\r'))
		p->i++;
}

/* Length of the UTF-8 character at s[i] that PostgreSQL accepts, or 0. */
static size_t utf8_len(const unsigned char *s, size_t n, size_t i)
{
	unsigned char c = s[i];
	size_t k;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		k = 2;
	else if (c >= 0xe0 && c <= 0xef)
		k = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n - i < k || s[i + 1] < lo || s[i + 1] > hi)
		return 0;
	for (size_t j = 2; j < k; j++)
		if ((s[i + j] & 0xc0) != 0x80)
			return 0;
	return k;
}

static int hexd(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int r_string(struct rp *p)
{
	p->i++; /* the opening quote */
	while (p->i < p->n) {
		unsigned char c = p->s[p->i];
		if (c == '"') {
			p->i++;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			if (++p->i >= p->n)
				return 0;
			c = p->s[p->i];
			if (c == 'u') {
				if (p->n - p->i < 5)
					return 0;
				for (int j = 1; j <= 4; j++)
					if (!hexd(p->s[p->i + j]))
						return 0;
				if (!memcmp(p->s + p->i + 1, "0000", 4))
					p->inval = 1;
				p->i += 5;
			} else if (strchr("\"\\/bfnrt", c) && c) {
				p->i++;
			} else {
				return 0;
			}
			continue;
		}
		size_t k = utf8_len(p->s, p->n, p->i);
		if (!k)
			return 0;
		p->i += k;
	}
	return 0;
}

/* digits of an integer without sign compared with the largest magnitude allowed */
static int int_fits(const unsigned char *d, size_t n, int neg)
{
	const char *lim = neg ? "9223372036854775808" : "18446744073709551615";
	size_t ln = strlen(lim);
	if (n != ln)
		return n < ln;
	return memcmp(d, lim, n) <= 0;
}

static int r_number(struct rp *p)
{
	size_t start = p->i, intstart, expstart = 0;
	int neg = 0, isint = 1;

	if (p->s[p->i] == '-') {
		neg = 1;
		p->i++;
	}
	intstart = p->i;
	if (p->i >= p->n)
		return 0;
	if (p->s[p->i] == '0') {
		p->i++;
	} else if (p->s[p->i] >= '1' && p->s[p->i] <= '9') {
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
	} else {
		return 0;
	}
	size_t intend = p->i;
	if (p->i < p->n && p->s[p->i] == '.') {
		isint = 0;
		p->i++;
		if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
			return 0;
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		isint = 0;
		p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		expstart = p->i;
		if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
			return 0;
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
	}
	/* what json-c keeps as sent and jsonb takes: 64-bit integers, else at most 256 chars,
	 * an exponent within +-999 and a finite double */
	if (p->i - start > 256) {
		p->inval = 1;
	} else if (isint) {
		if (!int_fits(p->s + intstart, intend - intstart, neg))
			p->inval = 1;
	} else {
		char buf[260];
		memcpy(buf, p->s + start, p->i - start);
		buf[p->i - start] = '\0';
		if (expstart) {
			/* the exponent's digits without leading zeros: at most 3 of them, <= 999 */
			const unsigned char *d = p->s + expstart;
			while (d < p->s + p->i && *d == '0')
				d++;
			if (p->s + p->i - d > 3)
				p->inval = 1;
		}
		if (!isfinite(strtod(buf, NULL)))
			p->inval = 1;
	}
	return 1;
}

/* A decoded key: its bytes, malloc'd. */
struct key {
	unsigned char *b;
	size_t n;
};

static unsigned hex4(const unsigned char *s)
{
	unsigned v = 0;
	for (int j = 0; j < 4; j++)
		v = v * 16 + (unsigned)(s[j] <= '9' ? s[j] - '0' : (s[j] | 0x20) - 'a' + 10);
	return v;
}

static size_t put_utf8(unsigned char *o, unsigned c)
{
	if (c < 0x80) {
		o[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (unsigned char)(0xc0 | c >> 6);
		o[1] = (unsigned char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (unsigned char)(0xe0 | c >> 12);
		o[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		o[2] = (unsigned char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | c >> 18);
	o[1] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
	o[2] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
	o[3] = (unsigned char)(0x80 | (c & 0x3f));
	return 4;
}

/* The string s[a..b) (between its quotes, already checked by r_string) decoded: escapes, a
 * surrogate pair as one character, any other surrogate as U+FFFD (json-c's rule). */
static struct key decode_key(const unsigned char *s, size_t a, size_t b)
{
	struct key k = {xmalloc(b - a + 1), 0};

	for (size_t i = a; i < b;) {
		unsigned c, lo;
		if (s[i] != '\\') {
			k.b[k.n++] = s[i++];
			continue;
		}
		if (s[i + 1] != 'u') {
			const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
			k.b[k.n++] = (unsigned char)to[strchr(from, s[i + 1]) - from];
			i += 2;
			continue;
		}
		c = hex4(s + i + 2);
		i += 6;
		if (c >= 0xd800 && c < 0xdc00 && b - i >= 6 && s[i] == '\\' && s[i + 1] == 'u' &&
		    (lo = hex4(s + i + 2)) >= 0xdc00 && lo < 0xe000) {
			c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
			i += 6;
		} else if (c >= 0xd800 && c < 0xe000) {
			c = 0xfffd;
		}
		k.n += put_utf8(k.b + k.n, c); /* never longer than its escape */
	}
	return k;
}

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c = memcmp(x->b, y->b, x->n < y->n ? x->n : y->n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Whether two of the n keys are the same (sorts them); frees them. */
static int keys_repeat(struct key *k, size_t n)
{
	int rep = 0;

	if (n > 1)
		qsort(k, n, sizeof *k, key_cmp);
	for (size_t i = 1; i < n; i++)
		rep |= !key_cmp(&k[i - 1], &k[i]);
	for (size_t i = 0; i < n; i++)
		free(k[i].b);
	return rep;
}

static int r_value(struct rp *p, int depth);

static int r_members(struct rp *p, int depth, int obj, struct key **keys, size_t *nkeys)
{
	size_t cap = 0;

	p->i++;
	ws(p);
	if (p->i < p->n && p->s[p->i] == (obj ? '}' : ']')) {
		p->i++;
		return 1;
	}
	for (;;) {
		if (obj) {
			size_t at;
			ws(p);
			at = p->i + 1;
			if (p->i >= p->n || p->s[p->i] != '"' || !r_string(p))
				return 0;
			if (*nkeys == cap) {
				cap = cap ? 2 * cap : 8;
				*keys = xrealloc(*keys, cap * sizeof **keys);
			}
			(*keys)[(*nkeys)++] = decode_key(p->s, at, p->i - 1);
			ws(p);
			if (p->i >= p->n || p->s[p->i] != ':')
				return 0;
			p->i++;
		}
		if (!r_value(p, depth + 1))
			return 0;
		ws(p);
		if (p->i >= p->n)
			return 0;
		if (p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->s[p->i] == (obj ? '}' : ']')) {
			p->i++;
			return 1;
		}
		return 0;
	}
}

static int r_container(struct rp *p, int depth, int obj)
{
	struct key *keys = NULL;
	size_t nkeys = 0;
	int ok = r_members(p, depth, obj, &keys, &nkeys);

	if (keys_repeat(keys, nkeys))
		p->repeat = 1;
	free(keys);
	return ok;
}

static int r_value(struct rp *p, int depth)
{
	static const char *const lits[] = {"true", "false", "null"};

	ws(p);
	if (p->i >= p->n || depth > TASKJSON_MAX_DEPTH)
		return 0;
	switch (p->s[p->i]) {
	case '{':
		return r_container(p, depth, 1);
	case '[':
		return r_container(p, depth, 0);
	case '"':
		return r_string(p);
	default:
		break;
	}
	if (depth == 1)
		p->top_scalar = 1;
	if (p->s[p->i] == '-' || (p->s[p->i] >= '0' && p->s[p->i] <= '9'))
		return r_number(p);
	for (int k = 0; k < 3; k++) {
		size_t l = strlen(lits[k]);
		if (p->n - p->i >= l && !memcmp(p->s + p->i, lits[k], l)) {
			p->i += l;
			return 1;
		}
	}
	return 0;
}

enum ref ref_check(const uint8_t *s, size_t n, int *top_scalar)
{
	struct rp p = {s, n, 0, 0, 0, 0};
	int ok = r_value(&p, 1);

	ws(&p);
	*top_scalar = p.top_scalar;
	if (!ok || p.i != n)
		return REF_BAD;
	return p.inval ? REF_INVAL : p.repeat ? REF_BAD : REF_OK;
}
