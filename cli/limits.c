/*
 * limits: `taskq limit set queue|key NAME N SECONDS` (at most N task starts in any window of
 * SECONDS, across every worker), `taskq limit set owner OWNER N` (at most N unfinished tasks
 * of OWNER; "*": every owner without a cap of its own; 0: none), `taskq limit list` and
 * `taskq limit rm queue|key|owner NAME`.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/config.h"
#include "store/limits.h"

#define USAGE                                                                        \
	"usage: taskq limit set queue|key NAME N SECONDS | set owner OWNER N | list" \
	" | rm queue|key|owner NAME"

static bool scope_ok(const char *s)
{
	return s && (!strcmp(s, "queue") || !strcmp(s, "key"));
}

static int cap_set(struct db *db, char **a)
{
	struct taskq_err err;
	bool created;
	long n;

	if (!a[2] || !a[3] || a[4])
		return cli_usage_error("usage: taskq limit set owner OWNER N");
	if (config_parse_long(a[3], 0, 100000000, &n))
		return cli_data_error("N is 0-100000000 unfinished tasks (0: no cap)");
	if (store_cap_put(db, a[2], n, &created, &err))
		return cli_fail(&err);
	if (n == 0)
		printf("%s owner %s: no cap on unfinished tasks\n", created ? "set" : "changed",
		       a[2]);
	else
		printf("%s owner %s: at most %ld unfinished tasks\n", created ? "set" : "changed",
		       a[2], n);
	return CLI_OK;
}

static int limit_set(struct db *db, char **a)
{
	struct taskq_err err;
	long n;
	double per;
	char *end;
	bool created;

	if (a[1] && !strcmp(a[1], "owner"))
		return cap_set(db, a);
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
	struct owner_cap *c;
	struct taskq_err err;
	int n;

	if (store_rate_list(db, &v, &n, &err))
		return cli_fail(&err);
	printf("%-6s %-32s %10s %10s %14s\n", "SCOPE", "NAME", "MAX", "PER (s)", "IN WINDOW");
	for (int i = 0; i < n; i++)
		printf("%-6s %-32s %10d %10g %14lld\n", v[i].scope, v[i].name, v[i].max_starts,
		       v[i].per_s, v[i].recent);
	free(v);
	if (store_cap_list(db, &c, &n, &err))
		return cli_fail(&err);
	/* the caps on unfinished tasks: "*" first, then the owners' own */
	printf("\n%-6s %-32s %10s %10s\n", "SCOPE", "OWNER", "MAX", "UNFINISHED");
	for (int i = 0; i < n; i++) {
		char max[24], now[24];

		snprintf(max, sizeof max, "%ld", c[i].max_unfinished);
		snprintf(now, sizeof now, "%lld", c[i].unfinished);
		printf("%-6s %-32s %10s %10s\n", "owner", c[i].owner,
		       c[i].max_unfinished ? max : "none", c[i].unfinished >= 0 ? now : "-");
	}
	free(c);
	return CLI_OK;
}

int cmd_limit(struct db *db, char **a)
{
	struct taskq_err err;

	if (!strcmp(a[0], "set"))
		return limit_set(db, a);
	if (!strcmp(a[0], "list") && !a[1])
		return limit_list(db);
	if (!strcmp(a[0], "rm") && a[1] && !strcmp(a[1], "owner") && a[2] && !a[3]) {
		if (store_cap_delete(db, a[2], &err))
			return cli_fail(&err);
		printf("removed the cap of owner %s\n", a[2]);
		return CLI_OK;
	}
	if (!strcmp(a[0], "rm") && scope_ok(a[1]) && a[2] && !a[3]) {
		if (store_rate_delete(db, a[1], a[2], &err))
			return cli_fail(&err);
		printf("removed %s %s\n", a[1], a[2]);
		return CLI_OK;
	}
	return cli_usage_error(USAGE);
}
