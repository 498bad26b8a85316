/* change: a task's whole message and its changes (see change.h). */
#include "change.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "time/tz.h"
#include "time/wallclock.h"

/* FNV-1a over key, a NUL and the value's JSON text. */
static uint64_t digest(const char *key, const char *text, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (const char *p = key;; p++) {
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		if (!*p)
			break;
	}
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)text[i]) * 1099511628211ULL;
	return h;
}

/* The JSON text of v ("null" for NULL) and its length. */
static const char *text_of(json_object *v, size_t *len)
{
	if (!v) {
		*len = 4;
		return "null";
	}
	return json_object_to_json_string_length(
		v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

static bool held(const struct change_base *b, uint64_t d)
{
	for (int i = 0; i < b->n; i++)
		if (b->digest[i] == d)
			return true;
	return false;
}

/* Records o's large fields in b; with trim, first deletes payload and every large field b
 * already held. */
static void shape(json_object *o, struct change_base *b, bool trim)
{
	struct change_base now = {.n = 0, .known = true};
	/* keys to delete (copies: not while iterating over the object) */
	char **gone = xcalloc((size_t)json_object_object_length(o) + 1, sizeof *gone);
	size_t ngone = 0;

	json_object_object_foreach(o, key, v) {
		size_t len;
		const char *text;
		uint64_t d;

		if (!strcmp(key, "payload")) {
			if (trim)
				gone[ngone++] = xstrdup(key);
			continue;
		}
		text = text_of(v, &len);
		if (len <= CHANGE_LARGE)
			continue;
		d = digest(key, text, len);
		if (trim && held(b, d))
			gone[ngone++] = xstrdup(key);
		if (now.n < CHANGE_DIGESTS)
			now.digest[now.n++] = d;
	}
	for (size_t i = 0; i < ngone; i++) {
		json_object_object_del(o, gone[i]);
		free(gone[i]);
	}
	free(gone);
	*b = now;
}

void change_whole(json_object *o, struct change_base *b)
{
	shape(o, b, false);
}

void change_delta(json_object *o, struct change_base *b)
{
	shape(o, b, b->known);
}

bool change_saw_end(const char *last_event_id, const char *finished_at)
{
	struct cron_time t = {0};
	long long sent = 0;
	const char *p = last_event_id;
	int used = 0;

	if (!p || !finished_at || *p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9' && sent < 1000000000000LL; p++)
		sent = sent * 10 + (*p - '0');
	if (*p != ':')
		return false;
	if (sscanf(finished_at, "%4d-%2d-%2dT%2d:%2d:%2d%n", &t.year, &t.mon, &t.mday, &t.hour,
		   &t.min, &t.sec, &used) != 6 ||
	    used != 19)
		return false;
	return sent >= tz_timegm(&t) + 2;
}
