/*
 * fuzz_submit: request bodies through taskjson_parse() and taskjson_parse_submit().
 *
 * Oracles: an independent recursive-descent checker of what taskjson_parse must accept
 * (RFC 8259 JSON; UTF-8 that PostgreSQL stores; values nested at most TASKJSON_MAX_DEPTH
 * deep, counting scalars as json-c does; TASKQ_INVAL for \u0000 and for numbers that would
 * not be kept as sent); the ranges of a validated submit; a validated submit written back as
 * a body validates to the same task_new; the task JSON built from it (taskjson_encode)
 * serialises to text that taskjson_parse accepts again, with the same payload.
 */
#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/task.h"
#include "model/taskjson.h"
#include "base/xalloc.h"
#include "fuzz.h"

FUZZ_TARGET(submit);

/* ---- the reference checker ----------------------------------------------------------- */

enum ref { REF_OK, REF_INVAL, REF_BAD };

struct rp {
	const unsigned char *s;
	size_t n, i;
	int inval;      /* a \u0000 or an out-of-range number was seen */
	int top_scalar; /* the top-level value is a number or literal */
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

static int r_value(struct rp *p, int depth);

static int r_container(struct rp *p, int depth, int obj)
{
	p->i++;
	ws(p);
	if (p->i < p->n && p->s[p->i] == (obj ? '}' : ']')) {
		p->i++;
		return 1;
	}
	for (;;) {
		if (obj) {
			ws(p);
			if (p->i >= p->n || p->s[p->i] != '"' || !r_string(p))
				return 0;
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

static enum ref ref_check(const uint8_t *s, size_t n, int *top_scalar)
{
	struct rp p = {s, n, 0, 0, 0};
	int ok = r_value(&p, 1);

	ws(&p);
	*top_scalar = p.top_scalar;
	if (!ok || p.i != n)
		return REF_BAD;
	return p.inval ? REF_INVAL : REF_OK;
}

/* ---- the submit --------------------------------------------------------------------- */

static int streq_opt(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void check_new(const struct task_new *n, const char *payload_text)
{
	CHECK(n->kind && task_name_valid(n->kind));
	CHECK(n->queue && task_name_valid(n->queue));
	CHECK(n->priority >= -1000 && n->priority <= 1000);
	CHECK(isfinite(n->delay_s) && n->delay_s >= 0 && n->delay_s <= 31536000);
	CHECK(n->max_attempts >= 1 && n->max_attempts <= 100);
	CHECK(n->timeout_s == -1 || (n->timeout_s >= 1 && n->timeout_s <= 86400));
	CHECK(!n->dedupe_key || (strlen(n->dedupe_key) >= 1 && strlen(n->dedupe_key) <= 200));
	CHECK(!n->concurrency_key ||
	      (strlen(n->concurrency_key) >= 1 && strlen(n->concurrency_key) <= 200));
	CHECK(!n->callback_url ||
	      (strlen(n->callback_url) <= 2048 && (!strncmp(n->callback_url, "http://", 7) ||
						   !strncmp(n->callback_url, "https://", 8))));
	CHECK(n->payload);
	CHECK(payload_text ? n->payload == payload_text : !strcmp(n->payload, "{}"));
	if (n->after) {
		size_t len = json_object_array_length(n->after);
		bool index = false;

		CHECK(json_object_is_type(n->after, json_type_array));
		CHECK(len >= 1 && len <= TASK_AFTER_MAX);
		for (size_t i = 0; i < len; i++) {
			json_object *e = json_object_array_get_idx(n->after, i);
			if (json_object_is_type(e, json_type_int)) {
				CHECK(json_object_get_int64(e) >= 0 &&
				      json_object_get_int64(e) < TASKJSON_MAX_INDEX);
				index = true;
			} else {
				CHECK(json_object_is_type(e, json_type_string) &&
				      task_id_valid(json_object_get_string(e)));
			}
		}
		CHECK(index == n->after_index);
	} else {
		CHECK(!n->after_index && !n->after_always);
	}
}

/* The payload text is what goes to PostgreSQL as jsonb: it must pass the parser itself. */
static json_object *check_payload(const char *payload_text)
{
	json_object *v;
	struct taskq_err err;
	size_t len = strlen(payload_text);
	int top;

	if (taskjson_parse(payload_text, len, &v, &err) != TASKQ_OK)
		fuzz_fail("payload text rejected (%s): %.200s", err.msg, payload_text);
	CHECK(ref_check((const uint8_t *)payload_text, len, &top) == REF_OK);
	CHECK(json_object_is_type(v, json_type_object));
	return v;
}

/* key: the string value, when there is one */
static void add_string(json_object *b, const char *key, const char *value)
{
	if (value)
		json_object_object_add(b, key, json_object_new_string(value));
}

/* The validated submit written back as a body, the way a client would send it. */
static char *resubmit_body(const struct task_new *n, json_object *payload)
{
	json_object *b = json_object_new_object();
	char *text;

	add_string(b, "kind", n->kind);
	if (payload)
		json_object_object_add(b, "payload", json_object_get(payload));
	add_string(b, "queue", n->queue);
	json_object_object_add(b, "priority", json_object_new_int(n->priority));
	json_object_object_add(b, "delay_s", json_object_new_double(n->delay_s));
	json_object_object_add(b, "max_attempts", json_object_new_int(n->max_attempts));
	json_object_object_add(b, "timeout_s",
			       n->timeout_s >= 0 ? json_object_new_int(n->timeout_s) : NULL);
	add_string(b, "dedupe_key", n->dedupe_key);
	add_string(b, "concurrency_key", n->concurrency_key);
	add_string(b, "callback_url", n->callback_url);
	if (n->after) {
		json_object_object_add(b, "after", json_object_get(n->after));
		add_string(b, "after_policy", n->after_always ? "always" : "success");
	}
	text = xstrdup(json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN));
	json_object_put(b);
	return text;
}

static void check_resubmit(const struct task_new *n, json_object *payload)
{
	char *text = resubmit_body(n, payload), *ptext2 = NULL;
	json_object *body2;
	struct task_new n2;
	struct taskq_err err;

	if (taskjson_parse(text, strlen(text), &body2, &err) != TASKQ_OK)
		fuzz_fail("re-submitted body rejected (%s): %.300s", err.msg, text);
	if (taskjson_parse_submit(body2, &n2, &ptext2, &err) != TASKQ_OK)
		fuzz_fail("re-submitted body invalid (%s): %.300s", err.msg, text);
	CHECK(!strcmp(n->kind, n2.kind));
	CHECK(!strcmp(n->queue, n2.queue));
	CHECK(n->priority == n2.priority);
	CHECK(n->delay_s == n2.delay_s);
	CHECK(n->max_attempts == n2.max_attempts);
	CHECK(n->timeout_s == n2.timeout_s);
	CHECK(streq_opt(n->dedupe_key, n2.dedupe_key));
	CHECK(streq_opt(n->concurrency_key, n2.concurrency_key));
	CHECK(streq_opt(n->callback_url, n2.callback_url));
	CHECK(!strcmp(n->payload, n2.payload));
	CHECK(!n->after == !n2.after && n->after_index == n2.after_index &&
	      n->after_always == n2.after_always);
	if (n->after)
		CHECK(!strcmp(json_object_to_json_string_ext(n->after, JSON_C_TO_STRING_PLAIN),
			      json_object_to_json_string_ext(n2.after, JSON_C_TO_STRING_PLAIN)));
	free(ptext2);
	json_object_put(body2);
	free(text);
}

/* The task JSON of a task made from the submit must serialise to text that parses again. */
static void check_encode(const struct task_new *n, json_object *payload, uint8_t sel)
{
	struct task t = {0};
	json_object *o, *back, *v;
	struct taskq_err err;
	const char *text;
	static const int flags[] = {JSON_C_TO_STRING_PLAIN, JSON_C_TO_STRING_SPACED,
				    JSON_C_TO_STRING_PRETTY,
				    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE};

	snprintf(t.id, sizeof t.id, "0b3e8a1c-5f2d-4e6a-9c7b-1d2e3f4a5b6c");
	t.kind = xstrdup(n->kind);
	t.queue = xstrdup(n->queue);
	t.owner = xstrdup(n->owner);
	t.state = (enum task_state)(sel % 6); /* 5: an unknown state */
	t.progress = sel;
	t.message = sel & 1 ? xstrdup(n->dedupe_key) : NULL;
	t.payload = xstrdup(n->payload);
	t.result = sel & 2 ? xstrdup(n->payload) : NULL;
	t.error = sel & 4 ? xstrdup(n->concurrency_key) : NULL;
	t.attempts = 1;
	t.max_attempts = n->max_attempts;
	t.priority = n->priority;
	t.timeout_s = n->timeout_s;
	t.cancel_requested = sel & 8;
	t.created_at = xstrdup("2024-01-02T03:04:05.678Z");
	t.run_at = xstrdup("2024-01-02T03:04:05.678Z");
	t.version = (long long)n->priority * 1000003;
	t.dedupe_key = xstrdup(n->dedupe_key);
	t.concurrency_key = xstrdup(n->concurrency_key);
	t.callback_url = xstrdup(n->callback_url);
	t.callback_state = n->callback_url ? xstrdup("pending") : NULL;

	o = taskjson_encode(&t);
	text = json_object_to_json_string_ext(o, flags[(sel >> 4) & 3]);
	if (taskjson_parse(text, strlen(text), &back, &err) != TASKQ_OK)
		fuzz_fail("task JSON rejected (%s): %.300s", err.msg, text);
	CHECK(json_object_object_get_ex(back, "kind", &v) &&
	      !strcmp(json_object_get_string(v), n->kind));
	CHECK(json_object_object_get_ex(back, "queue", &v) &&
	      !strcmp(json_object_get_string(v), n->queue));
	CHECK(json_object_object_get_ex(back, "payload", &v) &&
	      json_object_is_type(v, json_type_object));
	if (payload)
		CHECK(json_object_equal(v, payload));
	if (n->dedupe_key)
		CHECK(json_object_object_get_ex(back, "dedupe_key", &v) &&
		      !strcmp(json_object_get_string(v), n->dedupe_key));
	json_object_put(back);
	json_object_put(o);
	task_cleanup(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *body = NULL, *payload = NULL;
	struct taskq_err err = {0};
	struct task_new n;
	char *payload_text = NULL;
	enum taskq_rc rc;
	enum ref want;
	int top_scalar;

	if (size > (1u << 20))
		return -1;
	rc = taskjson_parse((const char *)data, size, &body, &err);
	CHECK(rc == TASKQ_OK || rc == TASKQ_BAD_JSON || rc == TASKQ_INVAL);
	CHECK(rc == TASKQ_OK ? body != NULL : body == NULL);
	CHECK(rc == TASKQ_OK || (err.rc == rc && memchr(err.msg, '\0', sizeof err.msg)));

	/* the reference checker and taskjson_parse agree */
	want = memchr(data, '\0', size) ? REF_BAD : ref_check(data, size, &top_scalar);
	if (want != REF_BAD && rc == TASKQ_BAD_JSON && top_scalar) {
		/* json-c waits for more input after a bare top-level number or literal */
	} else if ((want == REF_OK && rc != TASKQ_OK) || (want == REF_INVAL && rc != TASKQ_INVAL) ||
		   (want == REF_BAD && rc != TASKQ_BAD_JSON)) {
		fuzz_fail("taskjson_parse: rc %d (%s), reference %s", rc, err.msg,
			  want == REF_OK      ? "ok"
			  : want == REF_INVAL ? "invalid field"
					      : "bad JSON");
	}
	if (rc != TASKQ_OK)
		return 0;

	rc = taskjson_parse_submit(body, &n, &payload_text, &err);
	CHECK(rc == TASKQ_OK || rc == TASKQ_BAD_JSON || rc == TASKQ_INVAL);
	if (rc == TASKQ_OK) {
		check_new(&n, payload_text);
		if (payload_text)
			payload = check_payload(payload_text);
		check_resubmit(&n, payload);
		check_encode(&n, payload, size ? data[size / 2] : 0);
		json_object_put(payload);
	} else {
		CHECK(payload_text == NULL);
	}
	free(payload_text);
	json_object_put(body);
	return 0;
}
