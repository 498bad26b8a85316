/*
 * fuzz_query: query strings through query_each(), with the argument checks of the list and
 * get routes (copies of list_arg and wait_arg in fcgi/h_tasks.c) as callbacks, and the
 * value checks (task_state_parse, task_name_valid, task_id_valid, token_*) on every value.
 *
 * Input: the first byte selects the callback and where a callback stops the walk, the rest
 * is the query string (cut at a NUL byte, as FastCGI's QUERY_STRING would be).
 * Oracles: every key and value handed out is NUL-terminated within QUERY_MAX_VALUE bytes;
 * an independent decoder predicts each pair and the return value exactly.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "fuzz.h"
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

/* ---- the callbacks -------------------------------------------------------------------- */

struct walk {
	const struct pair *want;
	size_t nwant, seen, stop_at;
	int mode;
	/* list_arg's state */
	struct task_filter f;
	char state[16], queue[72], kind[72], before[40], owner[72];
	char msg[160];
	long wait;
};

static void check_str(const char *s)
{
	CHECK(s != NULL);
	CHECK(memchr(s, '\0', QUERY_MAX_VALUE + 1) != NULL);
}

/* One text parameter of list_arg: when valid, val copied into buf (size bytes), which must
 * hold all of it, lo to hi bytes, and *to pointed at the copy; returns 1 when not valid. */
static int keep(const char *val, bool valid, char *buf, size_t size, int lo, int hi,
		const char **to)
{
	int n;

	if (!valid)
		return 1;
	n = snprintf(buf, size, "%s", val);
	CHECK(n >= lo && n <= hi && (size_t)n < size);
	*to = buf;
	return 0;
}

/* fcgi/h_tasks.c list_arg, with checks that nothing it keeps was cut */
static int list_arg(const char *key, const char *val, struct walk *a)
{
	long limit;
	int bad;

	if (!strcmp(key, "state")) {
		bad = keep(val, task_state_parse(val) >= 0, a->state, sizeof a->state, 0,
			   sizeof a->state - 1, &a->f.state);
		CHECK(bad || task_state_parse(a->state) >= 0);
	} else if (!strcmp(key, "queue")) {
		bad = keep(val, task_name_valid(val), a->queue, sizeof a->queue, 1, 64,
			   &a->f.queue);
	} else if (!strcmp(key, "kind")) {
		bad = keep(val, task_name_valid(val), a->kind, sizeof a->kind, 1, 64, &a->f.kind);
	} else if (!strcmp(key, "before")) {
		bad = keep(val, task_id_valid(val), a->before, sizeof a->before, TASK_ID_LEN,
			   TASK_ID_LEN, &a->f.before);
	} else if (!strcmp(key, "owner")) {
		bad = keep(val, token_owner_valid(val), a->owner, sizeof a->owner, 1, 64,
			   &a->f.owner);
	} else if (!strcmp(key, "limit")) {
		bad = config_parse_long(val, 1, 500, &limit) != TASKQ_OK;
		CHECK(bad || (limit >= 1 && limit <= 500));
		if (!bad)
			a->f.limit = (int)limit;
	} else {
		snprintf(a->msg, sizeof a->msg, "unknown query parameter '%.40s'", key);
		return 1;
	}
	if (bad)
		snprintf(a->msg, sizeof a->msg, "bad value for query parameter '%s'", key);
	return bad;
}

/* fcgi/h_tasks.c wait_arg */
static int wait_arg(const char *key, const char *val, struct walk *a)
{
	if (strcmp(key, "wait") != 0)
		return 1;
	if (config_parse_long(val, 0, 1000000, &a->wait) != TASKQ_OK)
		return 2;
	CHECK(a->wait >= 0 && a->wait <= 1000000);
	if (a->wait > 30)
		a->wait = 30;
	return 0;
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
	switch (w->mode) {
	case 1:
		return list_arg(key, val, w) ? 7 : 0;
	case 2:
		return wait_arg(key, val, w) ? 7 : 0;
	case 3:
		return w->seen == w->stop_at ? 7 : 0;
	default:
		return 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pair want[MAXPAIRS];
	struct walk w = {0};
	char *q;
	int rc, wrc;
	size_t nwant;

	if (size < 1 || size > 16384)
		return -1;
	q = strndup((const char *)data + 1, size - 1);
	if (!q)
		abort();
	wrc = ref_pairs(q, want, &nwant);
	w.want = want;
	w.nwant = nwant;
	w.mode = data[0] & 3;
	w.stop_at = (data[0] >> 2) + 1;

	rc = query_each(q, each, &w);
	if (rc == 7) {
		CHECK(w.mode != 0 && w.seen >= 1);
	} else {
		CHECK(rc == wrc);
		CHECK(w.seen == nwant);
	}
	if (w.mode == 1 && rc == 0) {
		CHECK(!w.f.state || task_state_parse(w.f.state) >= 0);
		CHECK(!w.f.queue || task_name_valid(w.f.queue));
		CHECK(!w.f.kind || task_name_valid(w.f.kind));
		CHECK(!w.f.before || task_id_valid(w.f.before));
		CHECK(!w.f.owner || token_owner_valid(w.f.owner));
	}
	CHECK(query_each(NULL, each, &w) == 0);
	free(q);
	return 0;
}
