/*
 * fuzz_router: (method, path) through router_match() against taskq-fcgi's route table
 * (fcgi/routes.h).
 *
 * Input: the first byte is the method's length (mod 16), then the method, then the path.
 * Oracles: the invariants of struct route_match, and a second, independent matcher that
 * splits both sides on '/' and must reach the same route, status, captures and Allow list.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "router.h"
#include "routes.h"

FUZZ_TARGET(router);

/* the real table, every handler a stand-in (only which route matched matters) */
static void stand_in(struct req *r)
{
	(void)r;
}
#define ROUTE(method, pattern, handler, flags, params) {method, pattern, stand_in, flags, NULL},
static const struct route g_routes[] = {TASKQ_ROUTES(ROUTE){NULL, NULL, NULL, 0, NULL}};

/* The reference: segment by segment; "*" takes one non-empty segment shorter than
 * ROUTER_MAX_SEG; at most ROUTER_MAX_CAPS of them. */
static int ref_path(const char *pattern, const char *path, char caps[][ROUTER_MAX_SEG], int *ncaps)
{
	const char *p = pattern, *s = path;

	*ncaps = 0;
	for (;;) {
		size_t pn = strcspn(p, "/"), sn = strcspn(s, "/");
		if (pn == 1 && *p == '*') {
			if (sn == 0 || sn >= ROUTER_MAX_SEG || *ncaps >= ROUTER_MAX_CAPS)
				return 0;
			memcpy(caps[*ncaps], s, sn);
			caps[(*ncaps)++][sn] = '\0';
		} else if (pn != sn || memcmp(p, s, pn) != 0) {
			return 0;
		}
		p += pn;
		s += sn;
		if (!*p || !*s)
			return !*p && !*s;
		p++; /* both at '/' */
		s++;
	}
}

static void check(const char *method, const char *path)
{
	struct route_match m, m2;
	char caps[ROUTER_MAX_CAPS][ROUTER_MAX_SEG], allow[256] = "";
	const struct route *want = NULL;
	int ncaps = 0, known = 0;

	memset(&m, 0xa5, sizeof m); /* router_match must set every field it promises */
	router_match(g_routes, method, path, &m);

	CHECK(m.status == 0 || m.status == 404 || m.status == 405);
	CHECK(m.ncaps >= 0 && m.ncaps <= ROUTER_MAX_CAPS);
	CHECK(memchr(m.allow, '\0', sizeof m.allow));
	if (m.status == 0) {
		CHECK(m.route != NULL && m.route >= g_routes &&
		      m.route < g_routes + sizeof g_routes / sizeof g_routes[0] - 1);
		CHECK(!strcmp(m.route->method, method));
		for (int i = 0; i < m.ncaps; i++) {
			size_t n = strnlen(m.caps[i], ROUTER_MAX_SEG);
			CHECK(n > 0 && n < ROUTER_MAX_SEG);
			CHECK(!strchr(m.caps[i], '/'));
			CHECK(strstr(path, m.caps[i]));
		}
	} else {
		CHECK(m.route == NULL);
		CHECK(m.status == 405 ? m.allow[0] != '\0' : m.allow[0] == '\0');
	}

	/* the reference matcher */
	for (const struct route *r = g_routes; r->method; r++) {
		char c[ROUTER_MAX_CAPS][ROUTER_MAX_SEG];
		int nc;
		if (!ref_path(r->pattern, path, c, &nc))
			continue;
		if (!strcmp(r->method, method)) {
			want = r;
			memcpy(caps, c, sizeof caps);
			ncaps = nc;
			break;
		}
		/* Allow: each method once, in table order */
		size_t ml = strlen(r->method);
		int seen = 0;
		for (const char *a = allow; *a; a += strcspn(a, ",") + (a[strcspn(a, ",")] ? 2 : 0))
			if (strcspn(a, ",") == ml && !memcmp(a, r->method, ml))
				seen = 1;
		if (!seen)
			snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
				 allow[0] ? ", " : "", r->method);
		known = 1;
	}
	if (want) {
		CHECK(m.route == want && m.status == 0 && m.ncaps == ncaps);
		for (int i = 0; i < ncaps; i++)
			CHECK(!strcmp(m.caps[i], caps[i]));
	} else {
		CHECK(m.status == (known ? 405 : 404));
		if (known && strcmp(m.allow, allow))
			fuzz_fail("Allow: got '%s', want '%s'", m.allow, allow);
	}

	/* the same inputs give the same answer */
	router_match(g_routes, method, path, &m2);
	CHECK(m2.route == m.route && m2.status == m.status && m2.ncaps == m.ncaps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *method, *path;
	size_t mlen;

	if (size < 1 || size > 4096)
		return -1;
	mlen = data[0] % 16;
	if (mlen > size - 1)
		mlen = size - 1;
	/* C strings, like the FastCGI parameters they come from */
	method = strndup((const char *)data + 1, mlen);
	path = strndup((const char *)data + 1 + mlen, size - 1 - mlen);
	if (!method || !path)
		abort();
	check(method, path);
	free(method);
	free(path);
	return 0;
}
