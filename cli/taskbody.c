/* taskbody: command-line options as the API's task body (see taskbody.h). */
#include "taskbody.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/taskjson.h"

/* The body's fields the options set, and their options. */
static const struct {
	const char *field, *flag;
} g_fields[] = {
	{"queue", "--queue"},
	{"priority", "--priority"},
	{"delay_s", "--delay"},
	{"max_attempts", "--max-attempts"},
	{"timeout_s", "--timeout"},
	{"dedupe_key", "--dedupe-key"},
	{"concurrency_key", "--concurrency-key"},
	{"ordering", "--ordering"},
	{"after_policy", "--after-policy"},
	{"after", "--after"},
	{"wait_for", "--wait-for"},
	{"tz", "--tz"},
	{"backfill", "--backfill"},
	{"debounce_ms", "--debounce-ms"},
	{"max_delay_ms", "--max-delay-ms"},
	{"on_conflict", "--on-conflict"},
	{"start_by_s", "--start-by"},
};

static void add_string(json_object *body, const char *field, const char *text)
{
	if (text)
		json_object_object_add(body, field, json_object_new_string(text));
}

/* A number option: the number its text spells (decimal digits, a sign, a fraction, an
 * exponent: what a JSON number may hold), else the text as a string, so that the API's rules
 * refuse it as they refuse a string sent for a number. */
static void add_number(json_object *body, const char *field, const char *text)
{
	json_object *v = NULL;
	char *end;

	if (!text)
		return;
	if (*text && text[strspn(text, "0123456789+-.eE")] == '\0') {
		long long i;
		double d;

		errno = 0;
		i = strtoll(text, &end, 10);
		if (!*end && !errno) {
			v = json_object_new_int64(i);
		} else {
			errno = 0;
			d = strtod(text, &end);
			if (!*end && !errno && isfinite(d))
				v = json_object_new_double(d);
		}
	}
	json_object_object_add(body, field, v ? v : json_object_new_string(text));
}

/* Adds the payload argument (JSON text) to body; false after saying why it does not parse. */
static bool add_payload(json_object *body, const char *text, int *code)
{
	struct taskq_err err;
	json_object *v;

	if (!text)
		return true;
	if (taskjson_parse(text, strlen(text), &v, &err) != TASKQ_OK) {
		*code = cli_data_error("the payload: %s", err.msg);
		return false;
	}
	json_object_object_add(body, "payload", v);
	return true;
}

/* --after ID[,ID...]: an array of the texts between the commas (the API's rules check each) */
static void add_after(json_object *body, const char *list)
{
	json_object *a;

	if (!list)
		return;
	a = json_object_new_array();
	for (const char *p = list;; p++) {
		size_t len = strcspn(p, ",");

		json_object_array_add(a, json_object_new_string_len(p, (int)len));
		p += len;
		if (!*p)
			break;
	}
	json_object_object_add(body, "after", a);
}

/* --wait-for NAME, or a JSON object as the API's wait_for; false after saying why its JSON
 * does not parse. */
static bool add_wait_for(json_object *body, const char *text, int *code)
{
	struct taskq_err err;
	json_object *v;

	if (!text)
		return true;
	if (*text != '{') {
		v = json_object_new_object();
		json_object_object_add(v, "signal", json_object_new_string(text));
	} else if (taskjson_parse(text, strlen(text), &v, &err) != TASKQ_OK) {
		*code = cli_data_error("--wait-for: %s", err.msg);
		return false;
	}
	json_object_object_add(body, "wait_for", v);
	return true;
}

static void add_template(json_object *body, const struct cli_opts *o, const char *kind)
{
	add_string(body, "kind", kind);
	add_string(body, "queue", o->queue);
	add_number(body, "priority", o->priority);
	add_number(body, "max_attempts", o->max_attempts);
	add_number(body, "timeout_s", o->timeout);
}

json_object *taskbody_submit(const struct cli_opts *o, const char *kind, const char *payload,
			     int *code)
{
	json_object *body = json_object_new_object();

	add_template(body, o, kind);
	add_number(body, "delay_s", o->delay);
	add_string(body, "dedupe_key", o->dedupe_key);
	add_string(body, "concurrency_key", o->concurrency_key);
	add_string(body, "ordering", o->ordering);
	add_after(body, o->after);
	add_string(body, "after_policy", o->after_policy);
	add_number(body, "debounce_ms", o->debounce_ms);
	add_number(body, "max_delay_ms", o->max_delay_ms);
	add_string(body, "on_conflict", o->on_conflict);
	add_number(body, "start_by_s", o->start_by);
	if (!add_wait_for(body, o->wait_for, code) || !add_payload(body, payload, code)) {
		json_object_put(body);
		return NULL;
	}
	return body;
}

json_object *taskbody_schedule(const struct cli_opts *o, char *const *args, int *code)
{
	json_object *body = json_object_new_object();

	add_string(body, "name", args[1]);
	add_string(body, "cron", args[2]);
	add_string(body, "tz", o->tz);
	add_number(body, "backfill", o->backfill);
	add_template(body, o, args[3]);
	if (!add_payload(body, args[4], code)) {
		json_object_put(body);
		return NULL;
	}
	return body;
}

int taskbody_refused(const struct taskq_err *err)
{
	struct taskq_err named = *err;

	for (size_t i = 0; i < sizeof g_fields / sizeof g_fields[0]; i++) {
		size_t n = strlen(g_fields[i].field);
		char next = err->msg[n];

		if (!strncmp(err->msg, g_fields[i].field, n) &&
		    !(next == '_' || (next >= 'a' && next <= 'z'))) {
			snprintf(named.msg, sizeof named.msg, "%.*s (%s)",
				 (int)(sizeof named.msg - 24), err->msg, g_fields[i].flag);
			break;
		}
	}
	return cli_fail(&named);
}
