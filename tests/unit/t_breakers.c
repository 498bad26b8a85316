/* Unit tests: the worker's side of the circuit breakers: host keys, the copy of the rows,
 * and when an attempt asks PostgreSQL or reports a success. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "breakers.h"
#include "units.h"

START_TEST(host_keys)
{
	static const struct text_case cases[] = {
		/* a URL and its host key */
		{"https://api.example.com/v1/chat", "api.example.com"},
		{"https://API.Example.COM:443/v1", "api.example.com"},
		{"http://api.example.com:80/", "api.example.com"},
		{"http://api.example.com:443/", "api.example.com:443"},
		{"https://api.example.com:8443/x?y=1", "api.example.com:8443"},
		{"http://127.0.0.1:18080/status/503?k=1", "127.0.0.1:18080"},
		{"http://user:secret@Partner.example.org/path", "partner.example.org"},
		{"http://[::1]:81/", "[::1]:81"},
		{"https://[2001:DB8::1]/", "[2001:db8::1]"},
	};
	char key[BREAKER_HOST_MAX + 1];

	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (size_t i = 0; i < N_OF(cases); i++) {
		ck_assert_msg(breakers_host_key(cases[i].in, key, sizeof key), "%s", cases[i].in);
		ck_assert_str_eq(key, cases[i].want);
	}
	ck_assert(!breakers_host_key("not a url", key, sizeof key));
	ck_assert(!breakers_host_key("", key, sizeof key));
	ck_assert(!breakers_host_key("https://api.example.com/", key, 8)); /* no room */
	curl_global_cleanup();
}
END_TEST

START_TEST(the_copy)
{
	struct breaker_row rows[2] = {{"a.example", BREAKER_OPEN, 5, 0},
				      {"b.example:81", BREAKER_CLOSED, 2, 0}};
	enum breaker_state s;
	int f;

	breakers_cache_set(rows, 2);
	ck_assert(breakers_lookup("a.example", &s, &f));
	ck_assert_int_eq(s, BREAKER_OPEN);
	ck_assert_int_eq(f, 5);
	ck_assert(breakers_lookup("b.example:81", &s, &f));
	ck_assert_int_eq(f, 2);
	ck_assert(!breakers_lookup("b.example", &s, &f));

	breakers_cache_put("c.example", BREAKER_HALF_OPEN, 6); /* a new row */
	ck_assert(breakers_lookup("c.example", &s, &f));
	ck_assert_int_eq(s, BREAKER_HALF_OPEN);
	breakers_cache_put("a.example", BREAKER_CLOSED, 0); /* healthy again: leaves */
	ck_assert(!breakers_lookup("a.example", &s, &f));
	ck_assert(breakers_lookup("c.example", &s, &f));
	ck_assert(breakers_lookup("b.example:81", &s, &f));
	for (int i = 0; i < 100; i++) { /* growth */
		char h[32];
		snprintf(h, sizeof h, "h%d.example", i);
		breakers_cache_put(h, BREAKER_CLOSED, 1);
	}
	ck_assert(breakers_lookup("h99.example", &s, &f));
	ck_assert(breakers_lookup("c.example", &s, &f));

	breakers_cache_set(NULL, 0); /* a refresh that found every host healthy */
	ck_assert(!breakers_lookup("c.example", &s, &f));
	breakers_cleanup();
	ck_assert(!breakers_lookup("b.example:81", &s, &f));
}
END_TEST

START_TEST(decisions)
{
	/* ask PostgreSQL before calling only when the copy shows the breaker not closed, or the
	 * host throttled */
	ck_assert(!breakers_must_ask(false, BREAKER_CLOSED, false));
	ck_assert(!breakers_must_ask(true, BREAKER_CLOSED, false));
	ck_assert(breakers_must_ask(true, BREAKER_OPEN, false));
	ck_assert(breakers_must_ask(true, BREAKER_HALF_OPEN, false));
	ck_assert(breakers_must_ask(true, BREAKER_CLOSED, true));
	/* a success costs a round trip only when there is something to reset, or it probed */
	ck_assert(!breakers_must_report_success(false, BREAKER_CLOSED, 0, false));
	ck_assert(breakers_must_report_success(false, BREAKER_CLOSED, 0, true));
	ck_assert(breakers_must_report_success(true, BREAKER_CLOSED, 3, false));
	ck_assert(breakers_must_report_success(true, BREAKER_OPEN, 5, false));
	ck_assert(breakers_must_report_success(true, BREAKER_HALF_OPEN, 5, false));
}
END_TEST

START_TEST(throttles_in_the_copy)
{
	struct breaker_row rows[2] = {{"t.example", BREAKER_CLOSED, 0, 60},
				      {"o.example", BREAKER_OPEN, 5, 0}};
	enum breaker_state s;
	int f;

	breakers_cache_set(rows, 2);
	ck_assert(breakers_throttled("t.example"));
	ck_assert(breakers_lookup("t.example", &s, &f));
	ck_assert_int_eq(s, BREAKER_CLOSED);
	ck_assert(!breakers_throttled("o.example"));
	ck_assert(!breakers_throttled("n.example"));

	/* a report of the breaker keeps the throttle; a healthy breaker stays while throttled */
	breakers_cache_put("t.example", BREAKER_CLOSED, 0);
	ck_assert(breakers_throttled("t.example"));
	ck_assert(breakers_lookup("t.example", &s, &f));

	/* a re-read that does not show it yet (read before its commit) keeps it */
	breakers_cache_set(rows + 1, 1);
	ck_assert(breakers_throttled("t.example"));
	ck_assert(breakers_lookup("o.example", &s, &f));
	ck_assert_int_eq(s, BREAKER_OPEN);

	/* PostgreSQL says it is over (an admin lifted it): it goes, and so does the row */
	breakers_cache_throttle("t.example", 0);
	ck_assert(!breakers_throttled("t.example"));
	ck_assert(!breakers_lookup("t.example", &s, &f));
	breakers_cache_set(NULL, 0);
	ck_assert(!breakers_lookup("t.example", &s, &f));

	/* a throttle of a host the copy did not know; one that ends drops with the next read */
	breakers_cache_throttle("new.example", 0.05);
	ck_assert(breakers_throttled("new.example"));
	ck_assert(breakers_lookup("new.example", &s, &f));
	for (int i = 0; i < 40 && breakers_throttled("new.example"); i++)
		nanosleep(&(struct timespec){0, 5000000}, NULL);
	ck_assert(!breakers_throttled("new.example"));
	breakers_cache_set(NULL, 0);
	ck_assert(!breakers_lookup("new.example", &s, &f));
	breakers_cleanup();
}
END_TEST

UNITS_SUITE(breakers, 0, host_keys, the_copy, decisions, throttles_in_the_copy)
