/*
 * limits: `taskq limit set queue|key NAME N SECONDS` (at most N task starts in any window of
 * SECONDS, across every worker), `taskq limit list` and `taskq limit rm queue|key NAME`.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/config.h"
#include "store/limits.h"

static bool scope_ok(const char *s)
{
	return s && (!strcmp(s, "queue") || !strcmp(s, "key"));
}

static int limit_set(struct db *db, char **a)
{
	struct taskq_err err;
	long n;
	double per;
	char *end;
	bool created;

	if (!scope_ok(a[1]) || !a[2] || !a[3] || !a[4])
		return cli_usage_error("usage: taskq limit set queue|key NAME N SECONDS");
	per = strtod(a[4], &end);
	if (config_parse_long(a[3], 1, 100000, &n) || *end || end == a[4] || !isfinite(per) ||
	    per < 0.001 || per > 86400)
		return cli_data_error("N is 1-100000 starts, SECONDS 0.001-86400");
	if (store_rate_put(db, a[1], a[2], (int)n, per, &created, &err))
		return cli_fail(&err);
	printf("%s %s %s: at most %ld starts per %g s\n", created ? "set" : "changed", a[1], a[2],
	       n, per);
	return CLI_OK;
}

static int limit_list(struct db *db)
{
	struct rate_limit *v;
	struct taskq_err err;
	int n;

	if (store_rate_list(db, &v, &n, &err))
		return cli_fail(&err);
	printf("%-6s %-32s %10s %10s %14s\n", "SCOPE", "NAME", "MAX", "PER (s)", "IN WINDOW");
	for (int i = 0; i < n; i++)
		printf("%-6s %-32s %10d %10g %14lld\n", v[i].scope, v[i].name, v[i].max_starts,
		       v[i].per_s, v[i].recent);
	free(v);
	return CLI_OK;
}

int cmd_limit(struct db *db, char **a)
{
	struct taskq_err err;

	if (!strcmp(a[0], "set"))
		return limit_set(db, a);
	if (!strcmp(a[0], "list") && !a[1])
		return limit_list(db);
	if (!strcmp(a[0], "rm") && scope_ok(a[1]) && a[2] && !a[3]) {
		if (store_rate_delete(db, a[1], a[2], &err))
			return cli_fail(&err);
		printf("removed %s %s\n", a[1], a[2]);
		return CLI_OK;
	}
	return cli_usage_error(
		"usage: taskq limit set queue|key NAME N SECONDS | list | rm queue|key NAME");
}
