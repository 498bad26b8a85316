/* Unit tests: option table parsing (flags beat env beat defaults) and query strings. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "params.h"
#include "query.h"
#include "units.h"

static const char *s_db;
static long s_threads, s_flag;
static const struct config_opt opts[] = {
	{"db", "TASKQ_UT_DB", CFG_STR, "dflt", 0, 0, "db", &s_db},
	{"threads", "TASKQ_UT_THREADS", CFG_INT, "8", 1, 64, "threads", &s_threads},
	{"verbose", NULL, CFG_BOOL, "0", 0, 0, "flag", &s_flag},
};

static int parse(int argc, char **argv, int *npos, struct taskq_err *err)
{
	int help;
	return config_parse(opts, 3, argc, argv, npos, &help, err);
}

START_TEST(defaults_env_flags)
{
	char *argv1[] = {"prog", NULL};
	char *argv2[] = {"prog", "--threads", "3", "--db=x", "pos1", "--verbose", "pos2", NULL};
	struct taskq_err err;
	int npos;

	unsetenv("TASKQ_UT_DB");
	unsetenv("TASKQ_UT_THREADS");
	ck_assert_int_eq(parse(1, argv1, &npos, &err), TASKQ_OK);
	ck_assert_str_eq(s_db, "dflt");
	ck_assert_int_eq(s_threads, 8);
	setenv("TASKQ_UT_THREADS", "5", 1);
	ck_assert_int_eq(parse(1, argv1, &npos, &err), TASKQ_OK);
	ck_assert_int_eq(s_threads, 5);
	ck_assert_int_eq(parse(7, argv2, &npos, &err), TASKQ_OK);
	ck_assert_int_eq(s_threads, 3); /* the flag beats the environment */
	ck_assert_str_eq(s_db, "x");
	ck_assert_int_eq(s_flag, 1);
	ck_assert_int_eq(npos, 2);
	ck_assert_str_eq(argv2[1], "pos1");
	ck_assert_str_eq(argv2[2], "pos2");
	unsetenv("TASKQ_UT_THREADS");
}
END_TEST

START_TEST(bad_values)
{
	char *a1[] = {"prog", "--threads", "0"};
	char *a2[] = {"prog", "--threads", "12abc"};
	char *a3[] = {"prog", "--nope"};
	char *a4[] = {"prog", "--db"};
	struct taskq_err err;
	int npos;

	ck_assert_int_eq(parse(3, a1, &npos, &err), TASKQ_INVAL);
	ck_assert_int_eq(parse(3, a2, &npos, &err), TASKQ_INVAL);
	ck_assert_int_eq(parse(2, a3, &npos, &err), TASKQ_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "--nope"));
	ck_assert_int_eq(parse(2, a4, &npos, &err), TASKQ_INVAL);
}
END_TEST

START_TEST(parse_long)
{
	static const struct {
		const char *s;
		enum taskq_rc rc;
		long v;
	} cases[] = {
		{"42", TASKQ_OK, 42},   {"-1", TASKQ_INVAL, 0},
		{"", TASKQ_INVAL, 0},   {"99999999999999999999", TASKQ_INVAL, 0},
		{"7 ", TASKQ_INVAL, 0},
	};
	long v;

	for (size_t i = 0; i < N_OF(cases); i++) {
		ck_assert_int_eq(config_parse_long(cases[i].s, 0, 100, &v), cases[i].rc);
		if (cases[i].rc == TASKQ_OK)
			ck_assert_int_eq(v, cases[i].v);
	}
}
END_TEST

struct qcase {
	const char *query;
	int rc;
	const char *joined; /* "k=v;k=v;" */
};

static int collect(const char *k, const char *v, void *ctx)
{
	char *out = ctx;
	size_t n = strlen(out);
	snprintf(out + n, 512 - n, "%s=%s;", k, v);
	return 0;
}

START_TEST(query_strings)
{
	static const struct qcase cases[] = {
		{"", 0, ""},
		{"a=1&b=2", 0, "a=1;b=2;"},
		{"a=%41%2f&b=x+y", 0, "a=A/;b=x y;"},
		{"a&&b=", 0, "a=;b=;"},
		{"a=%zz", -1, ""},
		{"a=%4", -1, ""},
		{"a=%00", -1, ""},
	};
	for (size_t i = 0; i < N_OF(cases); i++) {
		char out[512] = "";
		ck_assert_int_eq(query_each(cases[i].query, collect, out), cases[i].rc);
		if (cases[i].rc == 0)
			ck_assert_str_eq(out, cases[i].joined);
	}
}
END_TEST

/* The one rule of query parameters, with the routes' own declarations (fcgi/params.c). */
START_TEST(query_rule)
{
	static const struct {
		const struct query_param *params;
		const char *query;
		const char *msg; /* NULL: passes; else the error says this */
	} cases[] = {
		{params_task_get, "", NULL},
		{params_task_get, "wait=0", NULL},
		{params_task_get, "wait=30&view_token=tv_x", NULL},
		{params_task_get, "wait=31", "wait must be an integer 0..30"},
		{params_task_get, "wait=-1", "wait must be an integer 0..30"},
		{params_task_get, "wait=", "wait must be an integer 0..30"},
		{params_task_get, "wait=1e3", "wait must be an integer 0..30"},
		{params_task_get, "wait=1&wait=2",
		 "query parameter 'wait' is given more than once"},
		{params_task_get, "colour=red",
		 "unknown query parameter 'colour'; this route takes wait, view_token"},
		{params_task_get, "wait=%zz", "malformed query string"},
		{params_task_list, "limit", "limit must be an integer 1..500"},
		{params_task_list, "limit=500&state=failed&queue=a.b&kind=k:1&owner=x@y", NULL},
		{params_task_list, "limit=501", "limit must be an integer 1..500"},
		{params_task_list, "state=done", "state must be one of queued, running,"},
		{params_task_list, "before=x", "before must be a task id (a UUID)"},
		{params_task_list, "queue=a%20b", "queue must be 1-64 characters"},
		{params_task_list, "view_token=tv_x", "unknown query parameter 'view_token'"},
		{params_view, "view_token=a&wait=1",
		 "unknown query parameter 'wait'; this route takes view_token"},
		{params_task_stream, "view_token=a&last_event_id=1:2", NULL},
		{params_feed, "view_token=a", "unknown query parameter 'view_token'"},
		{NULL, "", NULL},
		{NULL, "&&", NULL},
		{NULL, "x", "unknown query parameter 'x'; this route takes none"},
		{NULL, "%FF=1", "unknown query parameter '?'"},
	};

	for (size_t i = 0; i < N_OF(cases); i++) {
		char msg[256] = "";
		int rc = query_check(cases[i].query, cases[i].params, msg, sizeof msg);

		if (!cases[i].msg)
			ck_assert_msg(rc == 0, "case %zu (%s): %s", i, cases[i].query, msg);
		else
			ck_assert_msg(rc == -1 && strstr(msg, cases[i].msg),
				      "case %zu (%s): rc %d, '%s' lacks '%s'", i, cases[i].query,
				      rc, msg, cases[i].msg);
	}
}
END_TEST

START_TEST(query_values)
{
	const char *q = "state=failed&limit=20&queue=a+b";
	char out[QUERY_MAX_VALUE + 1];

	ck_assert(query_get(q, "state", out));
	ck_assert_str_eq(out, "failed");
	ck_assert(query_get(q, "queue", out));
	ck_assert_str_eq(out, "a b");
	ck_assert(!query_get(q, "kind", out));
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(query_long(q, "limit", 50), 20);
	ck_assert_int_eq(query_long(q, "wait", 7), 7);
	ck_assert_int_eq(query_long(NULL, "wait", 7), 7);
}
END_TEST

static const char *f_config, *f_name;
static long f_num;
static const struct config_opt fopts[] = {
	{"config", "TASKQ_UT_CONFIG", CFG_STR, NULL, 0, 0, "file", &f_config},
	{"name", "TASKQ_UT_NAME", CFG_STR, "dflt", 0, 0, "name", &f_name},
	{"num", NULL, CFG_INT, "1", 0, 100, "num", &f_num},
};

START_TEST(config_file)
{
	char path[] = "/tmp/taskq-ut-XXXXXX";
	int fd = mkstemp(path), npos, help;
	FILE *f = fdopen(fd, "w");
	char *argv[] = {"prog", "--config", path, NULL};
	char *argv2[] = {"prog", "--config", path, "--num", "9", NULL};
	struct taskq_err err;

	fputs("# comment\n\n  name =  from file  \nnum=7\n", f);
	fclose(f);
	unsetenv("TASKQ_UT_NAME");
	ck_assert_int_eq(config_parse(fopts, 3, 3, argv, &npos, &help, &err), TASKQ_OK);
	ck_assert_str_eq(f_name, "from file");
	ck_assert_int_eq(f_num, 7);
	setenv("TASKQ_UT_NAME", "from env", 1); /* the environment beats the file */
	ck_assert_int_eq(config_parse(fopts, 3, 5, argv2, &npos, &help, &err), TASKQ_OK);
	ck_assert_str_eq(f_name, "from env");
	ck_assert_int_eq(f_num, 9); /* flags beat both */
	unsetenv("TASKQ_UT_NAME");

	f = fopen(path, "w");
	fputs("num = 7\nbogus = 1\n", f);
	fclose(f);
	ck_assert_int_eq(config_parse(fopts, 3, 3, argv, &npos, &help, &err), TASKQ_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, ":2: unknown key 'bogus'"));
	f = fopen(path, "w");
	fputs("num = 700\n", f);
	fclose(f);
	ck_assert_int_eq(config_parse(fopts, 3, 3, argv, &npos, &help, &err), TASKQ_INVAL);
	unlink(path);
	config_cleanup();
}
END_TEST

UNITS_SUITE(config, 0, defaults_env_flags, bad_values, parse_long, query_strings, query_rule,
	    query_values, config_file)
