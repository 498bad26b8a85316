/*
 * schedule: `taskq schedule add NAME CRON KIND [PAYLOAD]` (with --tz, --queue, --priority,
 * --max-attempts, --timeout, --backfill, --owner), `taskq schedule list` and `taskq schedule
 * rm NAME`. The schedule is checked by the API's own rules (lib/time/schedule.c, through
 * taskbody.h); the worker's scheduler fires it from its next fire time on. With an owner's
 * token, the schedules are that owner's only, as through the API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "taskbody.h"
#include "time/schedule.h"
#include "store/schedules.h"
#include "model/taskjson.h"
#include "cred/token.h"

static int schedule_add(struct db *db, const struct cli_opts *o, char **a)
{
	struct schedule_new n;
	struct schedule s = {0};
	struct taskq_err err;
	json_object *body;
	bool created;
	int rc = CLI_OK;

	if (!a[1] || !a[2] || !a[3])
		return cli_usage_error("usage: taskq schedule add NAME CRON KIND [PAYLOAD]");
	if (o->owner && !token_owner_valid(o->owner))
		return cli_data_error("an owner is 1-64 of A-Z a-z 0-9 _ . @ : -");
	/* the options as the body of POST /api/schedules, checked by the API's rules */
	if (!(body = taskbody_schedule(o, a, &rc)))
		return rc;
	if (schedjson_parse(body, NULL, (int64_t)time(NULL), &n, &err)) {
		rc = taskbody_refused(&err);
		goto out;
	}
	if ((rc = cli_check_kind(db, n.t.kind)) != CLI_OK)
		goto out;
	/* an owner's token replaces its own schedule only; an admin any, keeping its owner */
	if (store_schedule_put(db, &n, o->owner ? o->owner : "anonymous", true, !o->as_owner, &s,
			       &created, &err))
		rc = cli_fail(&err);
	else
		printf("%s %s: next fire at %s\n", created ? "added" : "replaced", s.name,
		       s.next_fire_at ? s.next_fire_at : "-");
out:
	schedule_cleanup(&s);
	schedule_new_cleanup(&n);
	json_object_put(body);
	return rc;
}

static int schedule_list(struct db *db, const struct cli_opts *o)
{
	struct schedule *v;
	struct taskq_err err;
	int n;

	if (store_schedule_list(db, o->owner, &v, &n, &err))
		return cli_fail(&err);
	printf("%-24s %-20s %-16s %-14s %-8s %-22s %s\n", "NAME", "CRON", "TZ", "KIND", "ENABLED",
	       "NEXT FIRE", "LAST FIRE");
	for (int i = 0; i < n; i++) {
		printf("%-24s %-20s %-16s %-14s %-8s %-22s %s", v[i].name, v[i].cron, v[i].tz,
		       v[i].kind, v[i].enabled ? "yes" : "no",
		       v[i].next_fire_at ? v[i].next_fire_at : "-",
		       v[i].last_fire_at ? v[i].last_fire_at : "-");
		if (v[i].last_error) {
			fputs("  (", stdout);
			cli_put_text(stdout, v[i].last_error, 200, false);
			fputc(')', stdout);
		}
		fputc('\n', stdout);
	}
	schedules_free(v, n);
	return CLI_OK;
}

int cmd_schedule(struct db *db, const struct cli_opts *o, char **a)
{
	struct taskq_err err;

	if (!strcmp(a[0], "add"))
		return schedule_add(db, o, a);
	if (!strcmp(a[0], "list") && !a[1])
		return schedule_list(db, o);
	if (!strcmp(a[0], "rm") && a[1] && !a[2]) {
		if (store_schedule_delete(db, a[1], o->owner, &err))
			return cli_fail(&err);
		printf("removed %s\n", a[1]);
		return CLI_OK;
	}
	return cli_usage_error(
		"usage: taskq schedule add NAME CRON KIND [PAYLOAD] | list | rm NAME");
}
