/*
 * httpwait: what an upstream's answer says about when it may be called again: a Retry-After
 * (delay-seconds or an HTTP date) on a 429 or a 503, or a rate-limit budget that the answer
 * says is spent (RateLimit-Remaining: 0 with RateLimit-Reset, or the older
 * X-RateLimit-Remaining: 0 with X-RateLimit-Reset), on any answer. Pure: it reads the header
 * values the http kind's client captured (worker/kinds/httpreq.c) against the time it is
 * given. It must not decide what a wait does to the task or the host (worker/kinds/http.c
 * does) nor record anything.
 */
#ifndef TASKQ_HTTPWAIT_H
#define TASKQ_HTTPWAIT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define HTTPWAIT_VALUE_MAX 64 /* a captured header value is cut there */
#define HTTPWAIT_MAX_S 1e9    /* a longer wait is read as this */

/* The header values of one answer; "" when the header was absent. */
struct http_wait_headers {
	char retry_after[HTTPWAIT_VALUE_MAX];
	char rl_remaining[HTTPWAIT_VALUE_MAX], rl_reset[HTTPWAIT_VALUE_MAX];   /* RateLimit-* */
	char xrl_remaining[HTTPWAIT_VALUE_MAX], xrl_reset[HTTPWAIT_VALUE_MAX]; /* X-RateLimit-* */
};

/* Captures one raw header line ("Name: value\r\n", len bytes) into h when it is one of the
 * five; true when it was. */
bool httpwait_capture(struct http_wait_headers *h, const char *line, size_t len);

/* Seconds a Retry-After value asks for: delay-seconds (digits only), or an HTTP date (the
 * formats of curl_getdate: RFC 1123, RFC 850, asctime) less now. -1 when it is neither
 * (malformed); 0 for "0" or a date that is not in the future. */
double httpwait_retry_after(const char *v, time_t now);

/* Seconds a rate-limit reset value asks for: digits only; a value of 1,000,000,000 or more is
 * a Unix time (GitHub's X-RateLimit-Reset), less now; a smaller one is seconds to wait (the
 * IETF draft's RateLimit-Reset). -1 when malformed; 0 for 0 or a time not in the future. */
double httpwait_reset(const char *v, time_t now);

struct http_wait {
	double wait_s;    /* > 0: the answer asks for this many seconds (at most HTTPWAIT_MAX_S) */
	char reason[224]; /* what asked: "429 Retry-After: 3",
			   * "200 X-RateLimit-Remaining: 0, X-RateLimit-Reset: 1700000000" */
};

/* Whether an answer with this status and these headers asks to wait, and how long (*out).
 * A Retry-After counts on a 429 or a 503 (malformed, 0 or past: as if absent); then the
 * unprefixed rate-limit pair, then the X- pair, on any status, when its remaining is 0 and its
 * reset is in the future. */
bool httpwait_parse(long status, const struct http_wait_headers *h, time_t now,
		    struct http_wait *out);

/* Whether an answer that asks to wait (httpwait_parse) leaves the attempt unanswered, so that
 * the task waits too: a 429, a 503, or a 403 whose rate-limit budget is spent (GitHub's
 * rate-limit answer). Any other answer is the attempt's outcome; only the host waits. */
bool httpwait_holds_task(long status);

#endif
