/*
 * schedule: a recurring schedule (sql/schema/012_schedules.sql) as the API, the CLI and the worker's
 * scheduler see it, and its JSON: parsing and checking a body (the cron expression with
 * lib/time/cron.c, the zone with lib/time/tz.c, the task template with taskjson), and encoding a row.
 */
#ifndef TASKQ_SCHEDULE_H
#define TASKQ_SCHEDULE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "model/task.h"
#include "time/cron.h"

/* A row of taskq.schedules; strings owned (schedule_cleanup). Times RFC 3339 or NULL. */
struct schedule {
	char *name, *cron, *tz, *kind, *payload, *queue, *owner, *last_error, *last_task_id;
	char *last_fire_at, *next_fire_at, *created_at, *updated_at;
	int priority, max_attempts, timeout_s; /* timeout_s -1: none */
	int backfill;
	bool enabled;
};

/* Its fields, in the order of its JSON (model/record.h). */
struct record_type;
extern const struct record_type schedule_record;

void schedule_cleanup(struct schedule *s);
void schedules_free(struct schedule *v, int n);

/* A checked body of POST /api/schedules or PUT /api/schedules/{name}. Strings borrow from the
 * body (and payload from payload_text, owned); next_fire is the first fire instant after
 * now (Unix seconds). */
struct schedule_new {
	const char *name, *cron, *tz;
	struct task_new
		t; /* the template: kind, payload, queue, priority, max_attempts, timeout_s */
	char *payload_text;
	bool enabled;
	int backfill;
	int64_t next_fire;
};

/* Checks body into *s. path_name: the {name} of a PUT (the body's "name", when present, must be
 * the same), NULL for a POST (then "name" is required). now: Unix seconds. */
enum taskq_rc schedjson_parse(json_object *body, const char *path_name, int64_t now,
			      struct schedule_new *s, struct taskq_err *err);
void schedule_new_cleanup(struct schedule_new *s);

/* Checks an expression and a zone and gives the first fire instant after `after`; false with
 * a message (cron: …, or an unknown time zone) otherwise. */
bool schedule_next(const char *cron, const char *tz, int64_t after, int64_t *next, char *err,
		   size_t errsize);

/* The JSON of a schedule; a new object. */
json_object *schedjson_encode(const struct schedule *s);

#endif
