/* Unit tests: route matching, 404 and 405 with Allow. */
#include <string.h>

#include "router.h"
#include "units.h"

static void h1(struct req *r)
{
	(void)r;
}
static void h2(struct req *r)
{
	(void)r;
}
static void h3(struct req *r)
{
	(void)r;
}

static const struct route table[] = {
	{"POST", "/api/tasks", h1, 0, NULL},         {"GET", "/api/tasks", h2, 0, NULL},
	{"GET", "/api/tasks/*", h3, 0, NULL},        {"DELETE", "/api/tasks/*", h1, 0, NULL},
	{"POST", "/api/tasks/*/retry", h2, 0, NULL}, {NULL, NULL, NULL, 0, NULL},
};

struct rcase {
	const char *method, *path;
	handler_fn want;
	int status;
	const char *cap, *allow;
};

START_TEST(table_cases)
{
	static const struct rcase cases[] = {
		{"POST", "/api/tasks", h1, 0, NULL, NULL},
		{"GET", "/api/tasks", h2, 0, NULL, NULL},
		{"GET", "/api/tasks/abc", h3, 0, "abc", NULL},
		{"DELETE", "/api/tasks/abc", h1, 0, "abc", NULL},
		{"POST", "/api/tasks/abc/retry", h2, 0, "abc", NULL},
		{"PUT", "/api/tasks", NULL, 405, NULL, "POST, GET"},
		{"PATCH", "/api/tasks/abc", NULL, 405, NULL, "GET, DELETE"},
		{"GET", "/api/tasks/abc/retry", NULL, 405, NULL, "POST"},
		{"GET", "/api/tasks/", NULL, 404, NULL, NULL},
		{"GET", "/api/tasks/a/b", NULL, 404, NULL, NULL},
		{"GET", "/api/taskss", NULL, 404, NULL, NULL},
		{"GET", "/", NULL, 404, NULL, NULL},
		{"GET", "", NULL, 404, NULL, NULL},
		{"GET", "/api/tasks//retry", NULL, 404, NULL, NULL},
	};
	for (size_t i = 0; i < N_OF(cases); i++) {
		struct route_match m;
		router_match(table, cases[i].method, cases[i].path, &m);
		ck_assert_msg(m.status == cases[i].status, "case %zu: status %d", i, m.status);
		if (cases[i].want) {
			ck_assert_ptr_nonnull(m.route);
			ck_assert_msg(m.route->handler == cases[i].want, "case %zu: handler", i);
		} else {
			ck_assert_ptr_null(m.route);
		}
		if (cases[i].cap)
			ck_assert_str_eq(m.caps[0], cases[i].cap);
		if (cases[i].allow)
			ck_assert_str_eq(m.allow, cases[i].allow);
	}
}
END_TEST

START_TEST(long_segment_is_not_captured)
{
	char path[400] = "/api/tasks/";
	struct route_match m;

	memset(path + 11, 'a', 300);
	path[311] = '\0';
	router_match(table, "GET", path, &m);
	ck_assert_int_eq(m.status, 404);
}
END_TEST

UNITS_SUITE(router, 0, table_cases, long_segment_is_not_captured)
