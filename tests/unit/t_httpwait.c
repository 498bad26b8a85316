/* Unit tests: when an upstream's answer says to call it again (worker/kinds/httpwait.c):
 * Retry-After as seconds or an HTTP date, malformed values, the rate-limit headers, and which
 * answers hold their task. */
#include <curl/curl.h>
#include <string.h>

#include "kinds/httpwait.h"
#include "units.h"

/* 2015-10-21 07:28:00 UTC */
#define NOW ((time_t)1445412480)

START_TEST(retry_after_values)
{
	static const struct {
		const char *v;
		double want;
	} cases[] = {
		{"3", 3},
		{"0", 0},
		{"120", 120},
		{"00042", 42},
		{"99999999999999999999", HTTPWAIT_MAX_S},
		/* an HTTP date: IMF-fixdate, RFC 850, asctime */
		{"Wed, 21 Oct 2015 07:28:03 GMT", 3},
		{"Wednesday, 21-Oct-15 07:29:00 GMT", 60},
		{"Wed Oct 21 08:28:00 2015", 3600},
		{"Wed, 21 Oct 2015 07:27:00 GMT", 0}, /* in the past: no wait */
		{"Wed, 21 Oct 2015 07:28:00 GMT", 0},
		/* malformed */
		{"", -1},
		{"soon", -1},
		{"-3", -1},
		{"+3", -1},
		{"3.5", -1},
		{"3 seconds", -1},
		{"0x10", -1},
		{"1e3", -1},
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (size_t i = 0; i < N_OF(cases); i++)
		ck_assert_msg(httpwait_retry_after(cases[i].v, NOW) == cases[i].want,
			      "'%s': %f, not %f", cases[i].v, httpwait_retry_after(cases[i].v, NOW),
			      cases[i].want);
	curl_global_cleanup();
}
END_TEST

START_TEST(reset_values)
{
	ck_assert(httpwait_reset("30", NOW) == 30);
	ck_assert(httpwait_reset("0", NOW) == 0);
	ck_assert(httpwait_reset("1445412510", NOW) == 30); /* a Unix time */
	ck_assert(httpwait_reset("1445412000", NOW) == 0);  /* passed */
	ck_assert(httpwait_reset("", NOW) == -1);
	ck_assert(httpwait_reset("30s", NOW) == -1);
	ck_assert(httpwait_reset("Wed, 21 Oct 2015 07:28:03 GMT", NOW) == -1);
}
END_TEST

/* Captures the raw header lines into h (as libcurl hands them over). */
static void headers(struct http_wait_headers *h, const char *const *lines)
{
	memset(h, 0, sizeof *h);
	for (; *lines; lines++)
		httpwait_capture(h, *lines, strlen(*lines));
}

START_TEST(capture)
{
	struct http_wait_headers h;
	char long_line[200];

	headers(&h,
		(const char *const[]){"Retry-After:   3  \r\n", "content-type: text/plain\r\n",
				      "x-ratelimit-reset: 1445412510\r\n",
				      "RATELIMIT-REMAINING:0\r\n", "Retry-After-Ms: 5\r\n", NULL});
	ck_assert_str_eq(h.retry_after, "3");
	ck_assert_str_eq(h.rl_remaining, "0");
	ck_assert_str_eq(h.rl_reset, "");
	ck_assert_str_eq(h.xrl_remaining, "");
	ck_assert_str_eq(h.xrl_reset, "1445412510");
	ck_assert(!httpwait_capture(&h, "no colon here", 13));

	/* cut, and nothing but printable ASCII */
	memset(long_line, 'x', sizeof long_line);
	memcpy(long_line, "Retry-After: \x01", 14);
	headers(&h, (const char *const[]){NULL});
	ck_assert(httpwait_capture(&h, long_line, sizeof long_line));
	ck_assert_uint_eq(strlen(h.retry_after), HTTPWAIT_VALUE_MAX - 1);
	ck_assert_int_eq(h.retry_after[0], '?');
}
END_TEST

START_TEST(answers)
{
	struct http_wait_headers h;
	struct http_wait w;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	headers(&h, (const char *const[]){"Retry-After: 3\r\n", NULL});
	ck_assert(httpwait_parse(429, &h, NOW, &w));
	ck_assert(w.wait_s == 3);
	ck_assert_str_eq(w.reason, "429 Retry-After: 3");
	ck_assert(httpwait_parse(503, &h, NOW, &w));
	ck_assert_str_eq(w.reason, "503 Retry-After: 3");
	/* Retry-After on other answers is not a throttle (a redirect's, a 413's) */
	ck_assert(!httpwait_parse(200, &h, NOW, &w));
	ck_assert(!httpwait_parse(301, &h, NOW, &w));
	ck_assert(!httpwait_parse(500, &h, NOW, &w));
	ck_assert(w.wait_s == 0);

	headers(&h, (const char *const[]){"Retry-After: Wed, 21 Oct 2015 07:28:10 GMT\r\n", NULL});
	ck_assert(httpwait_parse(503, &h, NOW, &w));
	ck_assert(w.wait_s == 10);
	ck_assert_str_eq(w.reason, "503 Retry-After: Wed, 21 Oct 2015 07:28:10 GMT");

	/* malformed, zero or past: as if absent */
	headers(&h, (const char *const[]){"Retry-After: soon\r\n", NULL});
	ck_assert(!httpwait_parse(429, &h, NOW, &w));
	headers(&h, (const char *const[]){"Retry-After: 0\r\n", NULL});
	ck_assert(!httpwait_parse(429, &h, NOW, &w));
	headers(&h, (const char *const[]){NULL});
	ck_assert(!httpwait_parse(429, &h, NOW, &w));

	/* a spent budget, on any answer; the unprefixed pair first */
	headers(&h, (const char *const[]){"X-RateLimit-Remaining: 0\r\n",
					  "X-RateLimit-Reset: 1445412510\r\n", NULL});
	ck_assert(httpwait_parse(200, &h, NOW, &w));
	ck_assert(w.wait_s == 30);
	ck_assert_str_eq(w.reason, "200 X-RateLimit-Remaining: 0, X-RateLimit-Reset: 1445412510");
	headers(&h, (const char *const[]){"RateLimit-Remaining: 0\r\n", "RateLimit-Reset: 7\r\n",
					  "X-RateLimit-Remaining: 0\r\n",
					  "X-RateLimit-Reset: 1445412510\r\n", NULL});
	ck_assert(httpwait_parse(403, &h, NOW, &w));
	ck_assert(w.wait_s == 7);
	ck_assert_str_eq(w.reason, "403 RateLimit-Remaining: 0, RateLimit-Reset: 7");
	/* a budget left, or no reset: no wait */
	headers(&h, (const char *const[]){"RateLimit-Remaining: 1\r\n", "RateLimit-Reset: 7\r\n",
					  NULL});
	ck_assert(!httpwait_parse(200, &h, NOW, &w));
	headers(&h, (const char *const[]){"X-RateLimit-Remaining: 0\r\n", NULL});
	ck_assert(!httpwait_parse(429, &h, NOW, &w));
	/* Retry-After first; a malformed one leaves the rate-limit pair */
	headers(&h, (const char *const[]){"Retry-After: 2\r\n", "RateLimit-Remaining: 0\r\n",
					  "RateLimit-Reset: 9\r\n", NULL});
	ck_assert(httpwait_parse(429, &h, NOW, &w));
	ck_assert(w.wait_s == 2);
	headers(&h, (const char *const[]){"Retry-After: later\r\n", "RateLimit-Remaining: 0\r\n",
					  "RateLimit-Reset: 9\r\n", NULL});
	ck_assert(httpwait_parse(429, &h, NOW, &w));
	ck_assert(w.wait_s == 9);

	ck_assert(httpwait_holds_task(429));
	ck_assert(httpwait_holds_task(503));
	ck_assert(httpwait_holds_task(403));
	ck_assert(!httpwait_holds_task(200));
	ck_assert(!httpwait_holds_task(404));
	ck_assert(!httpwait_holds_task(500));
	curl_global_cleanup();
}
END_TEST

UNITS_SUITE(httpwait, 0, retry_after_values, reset_values, capture, answers)
