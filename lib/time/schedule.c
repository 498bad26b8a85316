/* schedule: schedule rows, their JSON, and checking a schedule body (see schedule.h). */
#include "time/schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "model/record.h"
#include "model/taskjson.h"
#include "time/tz.h"

#define S(type, member) FIELD(struct schedule, type, member)
static const struct field schedule_fields[] = {
	S(FIELD_STR, name),
	S(FIELD_STR, cron),
	S(FIELD_STR, tz),
	S(FIELD_STR, kind),
	S(FIELD_JSON, payload),
	S(FIELD_STR, queue),
	S(FIELD_INT, priority),
	FIELD_DFLT(struct schedule, FIELD_INT, max_attempts, 3),
	FIELD_DFLT(struct schedule, FIELD_INT_OPT, timeout_s, -1),
	S(FIELD_STR, owner),
	S(FIELD_BOOL, enabled),
	S(FIELD_INT, backfill),
	S(FIELD_TIME, last_fire_at),
	S(FIELD_TIME, next_fire_at),
	S(FIELD_STR, last_task_id),
	S(FIELD_STR, last_error),
	S(FIELD_TIME, created_at),
	S(FIELD_TIME, updated_at),
};
#undef S
const struct record_type schedule_record = RECORD_TYPE(schedule_fields);

void schedule_cleanup(struct schedule *s)
{
	record_cleanup(&schedule_record, s);
	memset(s, 0, sizeof *s);
}

void schedules_free(struct schedule *v, int n)
{
	for (int i = 0; i < n; i++)
		schedule_cleanup(&v[i]);
	free(v);
}

bool schedule_next(const char *cron, const char *tz, int64_t after, int64_t *next, char *err,
		   size_t errsize)
{
	struct cron c;
	struct tz *z;

	if (cron_parse(cron, &c, err, errsize) != 0)
		return false;
	if (!(z = tz_load(tz, err, errsize)))
		return false;
	*next = cron_next(&c, z, after);
	tz_free(z);
	if (*next < 0) {
		snprintf(err, errsize, "cron: the expression never fires after now");
		return false;
	}
	return true;
}

void schedule_new_cleanup(struct schedule_new *s)
{
	free(s->payload_text);
	s->payload_text = NULL;
}

static enum taskq_rc get_string(json_object *v, const char *field, size_t max, const char **out,
				struct taskq_err *err)
{
	if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) < 1 ||
	    (size_t)json_object_get_string_len(v) > max)
		return taskq_fail(err, TASKQ_INVAL, "%s must be a string of 1 to %zu bytes", field,
				  max);
	*out = json_object_get_string(v);
	return TASKQ_OK;
}

/* The schedule's own fields; the others (the task template) go into tmpl for taskjson. */
static enum taskq_rc split(json_object *body, struct schedule_new *s, json_object *tmpl,
			   struct taskq_err *err)
{
	enum taskq_rc rc = TASKQ_OK;

	json_object_object_foreach(body, key, v) {
		if (!strcmp(key, "name")) {
			rc = get_string(v, "name", 64, &s->name, err);
			if (!rc && !task_name_valid(s->name))
				rc = taskq_fail(err, TASKQ_INVAL,
						"name must be 1-64 characters of letters, "
						"digits, '_', '.', ':' or '-'");
		} else if (!strcmp(key, "cron")) {
			rc = get_string(v, "cron", CRON_EXPR_MAX, &s->cron, err);
		} else if (!strcmp(key, "tz")) {
			rc = get_string(v, "tz", TZ_NAME_MAX, &s->tz, err);
		} else if (!strcmp(key, "enabled")) {
			if (!json_object_is_type(v, json_type_boolean))
				return taskq_fail(err, TASKQ_INVAL,
						  "enabled must be true or false");
			s->enabled = json_object_get_boolean(v);
		} else if (!strcmp(key, "backfill")) {
			if (!json_object_is_type(v, json_type_int) ||
			    json_object_get_int64(v) < 0 || json_object_get_int64(v) > 1000)
				return taskq_fail(err, TASKQ_INVAL,
						  "backfill must be an integer from 0 to 1000");
			s->backfill = (int)json_object_get_int64(v);
		} else if (!strcmp(key, "kind") || !strcmp(key, "payload") ||
			   !strcmp(key, "queue") || !strcmp(key, "priority") ||
			   !strcmp(key, "max_attempts") || !strcmp(key, "timeout_s")) {
			json_object_object_add(tmpl, key, json_object_get(v));
		} else {
			char snip[65];
			return taskq_fail(
				err, TASKQ_INVAL,
				"unknown field '%s' (a schedule has name, cron, tz, enabled, "
				"backfill, and the task's kind, payload, queue, priority, "
				"max_attempts, timeout_s)",
				err_snippet(snip, sizeof snip, key, 64));
		}
		if (rc)
			return rc;
	}
	return TASKQ_OK;
}

enum taskq_rc schedjson_parse(json_object *body, const char *path_name, int64_t now,
			      struct schedule_new *s, struct taskq_err *err)
{
	json_object *tmpl;
	enum taskq_rc rc;
	char msg[200];

	memset(s, 0, sizeof *s);
	s->tz = "UTC";
	s->enabled = true;
	if (!json_object_is_type(body, json_type_object))
		return taskq_fail(err, TASKQ_BAD_JSON, "body must be a JSON object");
	tmpl = json_object_new_object();
	rc = split(body, s, tmpl, err);
	/* the template is checked as a submit body; its strings live in body, not in tmpl */
	if (!rc)
		rc = taskjson_parse_submit(tmpl, &s->t, &s->payload_text, err);
	json_object_put(tmpl); /* its values are body's own objects: s->t's strings stay valid */
	if (rc)
		return rc;
	if (path_name && s->name && strcmp(path_name, s->name) != 0)
		return taskq_fail(err, TASKQ_INVAL,
				  "name in the body differs from the one in the path");
	if (path_name)
		s->name = path_name;
	if (!s->name)
		return taskq_fail(err, TASKQ_INVAL, "name is required");
	if (!s->cron)
		return taskq_fail(err, TASKQ_INVAL, "cron is required");
	if (!schedule_next(s->cron, s->tz, now, &s->next_fire, msg, sizeof msg))
		return taskq_fail(err, TASKQ_INVAL, "%s", msg);
	return TASKQ_OK;
}

json_object *schedjson_encode(const struct schedule *s)
{
	json_object *o = json_object_new_object();

	record_to_json(&schedule_record, s, o);
	return o;
}
