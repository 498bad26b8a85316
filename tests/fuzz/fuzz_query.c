/*
 * fuzz_query: query strings through query_each(), and through query_check() with the
 * parameters the routes declare (fcgi/params.c), with the value checks (task_state_parse,
 * task_name_valid, task_id_valid, token_*) on every value.
 *
 * Input: the first byte selects the routes' parameters and where a callback stops the walk,
 * the rest is the query string (cut at a NUL byte, as FastCGI's QUERY_STRING would be).
 * Oracles: every key and value handed out is NUL-terminated within QUERY_MAX_VALUE bytes;
 * an independent decoder predicts each pair and the return value exactly; an independent
 * reading of the rule (known names, each once, integers in range, texts their check takes)
 * predicts query_check's verdict, and after a pass query_get and query_long give the values.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "params.h"
#include "query.h"
#include "model/task.h"
#include "cred/token.h"

FUZZ_TARGET(query);

#define MAXPAIRS 4096

struct pair {
	char key[QUERY_MAX_VALUE + 1], val[QUERY_MAX_VALUE + 1];
};

/* ---- the reference decoder ----------------------------------------------------------- */

static int hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool ref_decode(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (n - i < 3 || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0)
				return false;
			c = hex(s[i + 1]) * 16 + hex(s[i + 2]);
			if (c == 0)
				return false;
			i += 2;
		}
		if (o == QUERY_MAX_VALUE)
			return false;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return true;
}

/* The pairs query_each must hand out, in order; -1 when it must fail before the walk
 * reaches pair number *n (and then the first *n are still handed out). */
static int ref_pairs(const char *q, struct pair *v, size_t *n)
{
	*n = 0;
	while (*q) {
		size_t len = strcspn(q, "&");
		if (len) {
			const char *eq = memchr(q, '=', len);
			size_t kl = eq ? (size_t)(eq - q) : len;
			if (*n == MAXPAIRS)
				abort();
			if (!ref_decode(q, kl, v[*n].key) ||
			    !ref_decode(eq ? eq + 1 : "", eq ? len - kl - 1 : 0, v[*n].val))
				return -1;
			(*n)++;
		}
		q += len;
		if (*q)
			q++;
	}
	return 0;
}

/* ---- the walk ------------------------------------------------------------------------ */

struct walk {
	const struct pair *want;
	size_t nwant, seen, stop_at;
	int stop;
};

static void check_str(const char *s)
{
	CHECK(s != NULL);
	CHECK(memchr(s, '\0', QUERY_MAX_VALUE + 1) != NULL);
}

static int each(const char *key, const char *val, void *ctx)
{
	struct walk *w = ctx;

	check_str(key);
	check_str(val);
	CHECK(w->seen < w->nwant);
	CHECK(!strcmp(key, w->want[w->seen].key));
	CHECK(!strcmp(val, w->want[w->seen].val));
	w->seen++;

	/* the validators on whatever came in */
	(void)task_state_parse(val);
	(void)task_name_valid(val);
	(void)task_id_valid(val);
	(void)token_owner_valid(val);
	if (token_well_formed(val))
		CHECK(strlen(val) == TOKEN_LEN);
	return w->stop && w->seen == w->stop_at ? 7 : 0;
}

/* ---- the rule, read independently ------------------------------------------------------- */

/* Whether s is what strtol reads whole (blanks, a sign, digits) with a value in min..max. */
static bool ref_int(const char *s, long min, long max, long *out)
{
	long long v = 0;
	bool neg = false, digits = false;

	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	for (; *s >= '0' && *s <= '9'; s++) {
		digits = true;
		if (v < 1000000000000LL)
			v = v * 10 + (*s - '0');
	}
	if (!digits || *s)
		return false;
	v = neg ? -v : v;
	*out = (long)v;
	return v >= min && v <= max;
}

/* query_check's verdict on pairs v[0..n) (wrc: the walk's), by the rule as documented. */
static int ref_check(const struct query_param *params, const struct pair *v, size_t n, int wrc)
{
	for (size_t i = 0; i < n; i++) {
		const struct query_param *p = NULL;
		long x;

		for (int k = 0; params && params[k].name; k++)
			if (!strcmp(params[k].name, v[i].key))
				p = &params[k];
		if (!p)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(v[j].key, v[i].key))
				return -1;
		if (p->valid ? !p->valid(v[i].val) : !ref_int(v[i].val, p->min, p->max, &x))
			return -1;
	}
	return wrc < 0 ? -1 : 0;
}

/* After a pass: every declared parameter reads back as sent, integers within range. */
static void check_values(const char *q, const struct query_param *params, const struct pair *v,
			 size_t n)
{
	char out[QUERY_MAX_VALUE + 1];

	for (int k = 0; params && params[k].name; k++) {
		const struct pair *sent = NULL;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(v[i].key, params[k].name))
				sent = &v[i];
		CHECK(query_get(q, params[k].name, out) == (sent != NULL));
		CHECK(sent ? !strcmp(out, sent->val) : out[0] == '\0');
		if (!params[k].valid) {
			long x = query_long(q, params[k].name, -12345);
			CHECK(sent ? x >= params[k].min && x <= params[k].max : x == -12345);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pair want[MAXPAIRS];
	static const struct query_param *const sets[] = {params_task_list, params_task_get,
							 params_view,      params_task_stream,
							 params_feed,      NULL};
	const struct query_param *params;
	struct walk w = {0};
	char *q, msg[256];
	int rc, wrc, crc;
	size_t nwant;

	if (size < 1 || size > 16384)
		return -1;
	q = strndup((const char *)data + 1, size - 1);
	if (!q)
		abort();
	wrc = ref_pairs(q, want, &nwant);
	w.want = want;
	w.nwant = nwant;
	w.stop = data[0] & 1;
	w.stop_at = (data[0] >> 4) + 1;
	params = sets[(data[0] >> 1) % 6];

	rc = query_each(q, each, &w);
	if (rc == 7) {
		CHECK(w.stop && w.seen == w.stop_at);
	} else {
		CHECK(rc == wrc);
		CHECK(w.seen == nwant);
	}

	msg[0] = '\0';
	crc = query_check(q, params, msg, sizeof msg);
	CHECK(crc == 0 || crc == -1);
	if (crc != ref_check(params, want, nwant, wrc))
		fuzz_fail("query_check(%.200s) = %d (%s), the rule says otherwise", q, crc, msg);
	if (crc == 0)
		check_values(q, params, want, nwant);
	else
		CHECK(msg[0] != '\0' && memchr(msg, '\0', sizeof msg));
	CHECK(query_each(NULL, each, &w) == 0);
	CHECK(query_check(NULL, params, msg, sizeof msg) == 0);
	free(q);
	return 0;
}
