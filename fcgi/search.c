/* search: reading a task search's filters (see search.h). */
#include "search.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "filters.h"
#include "resp.h"

/* The lowest (fill '0') or highest (fill 'f') task id that starts with the hex digits of
 * prefix, in the canonical 8-4-4-4-12 form. */
static void id_bound(const char *prefix, char fill, char out[40])
{
	int h = 0, o = 0;

	for (; *prefix && h < FILTER_HEX_MAX; prefix++) {
		if (*prefix == '-')
			continue;
		if (h == 8 || h == 12 || h == 16 || h == 20)
			out[o++] = '-';
		out[o++] = (char)tolower((unsigned char)*prefix);
		h++;
	}
	for (; h < FILTER_HEX_MAX; h++) {
		if (h == 8 || h == 12 || h == 16 || h == 20)
			out[o++] = '-';
		out[o++] = fill;
	}
	out[o] = '\0';
}

/* Points *field at buf holding the value of parameter name, when query has it. */
static void arg(const char *query, const char *name, char *buf, const char **field)
{
	if (query_get(query, name, buf))
		*field = buf;
}

bool search_read(struct req *r, const char *query, int dflt, struct search_args *a)
{
	char prefix[QUERY_MAX_VALUE + 1];

	memset(a, 0, sizeof *a);
	a->f.limit = (int)query_long(query, "limit", dflt);
	arg(query, "state", a->state, &a->f.state);
	arg(query, "queue", a->queue, &a->f.queue);
	arg(query, "kind", a->kind, &a->f.kind);
	arg(query, "before", a->before, &a->f.before);
	arg(query, "owner", a->owner, &a->f.owner);
	arg(query, "created_after", a->after_t, &a->f.created_from);
	arg(query, "created_before", a->before_t, &a->f.created_to);
	arg(query, "payload", a->payload, &a->f.payload);
	arg(query, "worker", a->worker, &a->f.worker);
	arg(query, "parent", a->parent, &a->f.parent);
	arg(query, "waiting", a->waiting, &a->f.waiting);
	if (query_get(query, "id_prefix", prefix)) {
		id_bound(prefix, '0', a->id_lo);
		id_bound(prefix, 'f', a->id_hi);
		a->f.id_lo = a->id_lo;
		a->f.id_hi = a->id_hi;
	}
	if (!r->who.admin)
		a->f.owner = r->who.owner; /* an owner lists its own tasks, whatever it asks */
	if (a->f.payload && (!a->f.queue || !a->f.created_from)) {
		resp_error(r, TASKQ_INVAL,
			   "a payload search names a queue and created_after too (it reads that "
			   "queue's tasks of that time range, through an index)");
		return false;
	}
	return true;
}

/* Appends sep (as it is) and s percent-encoded to out (at *o of size); false when it does
 * not fit. */
static bool put_encoded(char *out, size_t size, size_t *o, char sep, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	if (sep) {
		if (*o + 2 > size)
			return false;
		out[(*o)++] = sep;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (*o + 4 > size)
			return false;
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			out[(*o)++] = (char)c;
		} else {
			out[(*o)++] = '%';
			out[(*o)++] = hex[c >> 4];
			out[(*o)++] = hex[c & 15];
		}
	}
	out[*o] = '\0';
	return true;
}

bool search_query_of(json_object *filter, char *out, size_t size, char *msg, size_t msg_size)
{
	size_t o = 0;

	out[0] = '\0';
	if (!json_object_is_type(filter, json_type_object)) {
		snprintf(msg, msg_size,
			 "filter must be a JSON object of GET /api/tasks' parameters");
		return false;
	}
	json_object_object_foreach(filter, key, val) {
		const char *v;
		if (json_object_is_type(val, json_type_object))
			/* a payload fragment may be given as JSON itself */
			v = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
		else if (json_object_is_type(val, json_type_string) ||
			 json_object_is_type(val, json_type_int))
			v = json_object_get_string(val);
		else {
			snprintf(msg, msg_size, "filter.%.64s must be a string or an integer", key);
			return false;
		}
		if (!put_encoded(out, size, &o, o > 0 ? '&' : '\0', key) ||
		    !put_encoded(out, size, &o, '=', v)) {
			snprintf(msg, msg_size, "filter is too long");
			return false;
		}
	}
	return true;
}
