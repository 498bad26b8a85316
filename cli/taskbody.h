/*
 * taskbody: a task's fields from the command line, as the HTTP API takes them. The options of
 * submit and schedule add become the JSON body of POST /api/tasks (POST /api/schedules), which
 * lib/model/taskjson.c (lib/time/schedule.c) then checks with the API's own rules and
 * messages. This file holds no rule of its own: it turns option text into JSON values and, when
 * the API's rules refuse a value, names the option that gave it.
 */
#ifndef TASKQ_CLI_TASKBODY_H
#define TASKQ_CLI_TASKBODY_H

#include <json-c/json.h>

#include "cli.h"

/* A new object (the caller puts it): {"kind", "payload"?, "queue"?, "priority"?, "delay_s"?,
 * "max_attempts"?, "timeout_s"?, "dedupe_key"?, "concurrency_key"?, "after"?,
 * "after_policy"?} from kind, payload (JSON text, NULL: none) and o. NULL when the payload is
 * not JSON: then it has said so and *code is the exit code. */
json_object *taskbody_submit(const struct cli_opts *o, const char *kind, const char *payload,
			     int *code);
/* The same for schedule add NAME CRON KIND [PAYLOAD] (args[1..4]): {"name", "cron", "tz"?,
 * "backfill"?, "kind", "payload"?, "queue"?, "priority"?, "max_attempts"?, "timeout_s"?}. */
json_object *taskbody_schedule(const struct cli_opts *o, char *const *args, int *code);
/* Says why the API's rules refused a body (err->msg, which starts with the field's name when
 * it is about one), naming the option that set the field, and returns the exit code. */
int taskbody_refused(const struct taskq_err *err);

#endif
