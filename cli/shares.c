/*
 * shares: `taskq owner weight OWNER W` (the owner's share of the starts when owners compete
 * for workers, 0.01-100; 1 is everyone's without one), `taskq owner list` (the owners with a
 * weight of their own) and `taskq queue aging QUEUE SECONDS` (its waiting tasks gain one step
 * of priority per SECONDS; 0: no aging). The settings of sql/schema/027_fair_shares.sql; the
 * checks are the SQL functions' too, so that every path says the same.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "store/shares.h"

/* A number argument, or false when it is not one. */
static bool number(const char *s, double *v)
{
	char *end;

	*v = strtod(s, &end);
	return end != s && !*end && isfinite(*v);
}

int cmd_owner(struct db *db, char **a)
{
	struct owner_weight *v;
	struct taskq_err err;
	double w;
	int n;

	if (!strcmp(a[0], "list") && !a[1]) {
		if (store_weight_list(db, &v, &n, &err))
			return cli_fail(&err);
		printf("%-32s %10s\n", "OWNER", "WEIGHT");
		for (int i = 0; i < n; i++)
			printf("%-32s %10g\n", v[i].owner, v[i].weight);
		printf("(any other owner: weight 1)\n");
		free(v);
		return CLI_OK;
	}
	if (strcmp(a[0], "weight") != 0 || !a[1] || !a[2])
		return cli_usage_error("usage: taskq owner weight OWNER W | list");
	if (!number(a[2], &w) || w < WEIGHT_MIN || w > WEIGHT_MAX)
		return cli_data_error("W is a weight of 0.01-100 (1: an equal share)");
	if (store_weight_put(db, a[1], w, &err))
		return cli_fail(&err);
	printf("owner %s: weight %g\n", a[1], w);
	return CLI_OK;
}

int cmd_queue_aging(struct db *db, char **a)
{
	struct taskq_err err;
	double s;

	if (strcmp(a[0], "aging") != 0 || !a[1] || !a[2])
		return cli_usage_error("usage: taskq queue aging QUEUE SECONDS");
	if (!number(a[2], &s) || (s != 0 && (s < AGING_STEP_MIN || s > AGING_STEP_MAX)))
		return cli_data_error("SECONDS is 0.1-2592000 per step of priority (0: no aging)");
	if (store_aging_put(db, a[1], s, &err))
		return cli_fail(&err);
	if (s == 0)
		printf("queue %s: no aging\n", a[1]);
	else
		printf("queue %s: +1 priority per %g s of wait\n", a[1], s);
	return CLI_OK;
}
