/*
 * schedule: `taskq schedule add NAME CRON KIND [PAYLOAD]` (with --tz, --queue, --priority,
 * --max-attempts, --backfill, --owner), `taskq schedule list` and `taskq schedule rm NAME`.
 * The expression and the zone are checked here as the API checks them; the worker's
 * scheduler fires the schedule from its next fire time on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "time/schedule.h"
#include "store/schedules.h"
#include "model/taskjson.h"
#include "cred/token.h"

static int schedule_add(struct db *db, const struct cli_opts *o, char **a)
{
	struct schedule_new n = {.name = a[1],
				 .cron = a[2],
				 .tz = o->tz ? o->tz : "UTC",
				 .enabled = true,
				 .backfill = (int)o->backfill};
	struct schedule s = {0};
	struct taskq_err err;
	json_object *payload = NULL;
	char msg[200];
	bool created;
	int rc = CLI_OK;

	if (!a[1] || !a[2] || !a[3])
		return cli_usage_error("usage: taskq schedule add NAME CRON KIND [PAYLOAD]");
	task_new_init(&n.t);
	n.t.kind = a[3];
	n.t.queue = o->queue ? o->queue : "default";
	n.t.priority = (int)o->priority;
	n.t.max_attempts = (int)o->max_attempts;
	if (!task_name_valid(n.name) || !task_name_valid(n.t.kind) || !task_name_valid(n.t.queue))
		return cli_usage_error(
			"names (schedule, kind, queue) are 1-64 of A-Z a-z 0-9 _ . : -");
	if (o->owner && !token_owner_valid(o->owner))
		return cli_usage_error("an owner is 1-64 of A-Z a-z 0-9 _ . @ : -");
	if (!schedule_next(n.cron, n.tz, (int64_t)time(NULL), &n.next_fire, msg, sizeof msg))
		return cli_usage_error("%s", msg);
	if ((rc = cli_check_kind(db, n.t.kind)) != CLI_OK)
		return rc;
	if (a[4]) {
		if (taskjson_parse(a[4], strlen(a[4]), &payload, &err))
			return cli_fail(&err);
		if (!json_object_is_type(payload, json_type_object)) {
			json_object_put(payload);
			return cli_usage_error("the payload must be a JSON object");
		}
		n.t.payload = json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN);
	}
	if (store_schedule_put(db, &n, o->owner ? o->owner : "anonymous", true, true, &s, &created,
			       &err))
		rc = cli_fail(&err);
	else
		printf("%s %s: next fire at %s\n", created ? "added" : "replaced", s.name,
		       s.next_fire_at ? s.next_fire_at : "-");
	schedule_cleanup(&s);
	json_object_put(payload);
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
