/*
 * jsondup: JSON objects must name each key once. json-c's tokener keeps the last of two
 * members with the same key and drops the first without a word, so {"priority":1,
 * "priority":9} would run at 9 while the sender may have meant either. model/taskjson.c
 * runs this after json-c and model/jsontext.c accepted the text, on every request body.
 * The common case costs one pass over the text: each member of an object in JSON text has
 * exactly one ':' outside strings, so when the text has as many as the parsed tree has
 * members, nothing was dropped. Only when some were does it walk the text again to name the
 * first repeated key. Knows nothing of tasks.
 */
#include "model/jsondup.h"

#include <stdbool.h>
#include <stdlib.h>

#include "base/xalloc.h"

/* The members of every object in v, nested ones included. */
static size_t members(json_object *v)
{
	size_t n = 0;

	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, val) {
			(void)key;
			n += 1 + members(val);
		}
	} else if (json_object_is_type(v, json_type_array)) {
		size_t len = json_object_array_length(v);
		for (size_t i = 0; i < len; i++)
			n += members(json_object_array_get_idx(v, i));
	}
	return n;
}

/* The index of the '"' that closes the string opening at text[at]. */
static size_t string_end(const char *text, size_t len, size_t at)
{
	size_t i = at + 1;

	while (i < len && text[i] != '"')
		i += text[i] == '\\' ? 2 : 1;
	return i;
}

/* The ':' of the text outside strings: one per member of an object. */
static size_t separators(const char *text, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == '"')
			i = string_end(text, len, i);
		else if (text[i] == ':')
			n++;
	}
	return n;
}

/* The key whose text is text[at..end] (quotes included), decoded as json-c decodes it (escapes,
 * surrogates): a new string object, or NULL. */
static json_object *decode_key(const char *text, size_t at, size_t end)
{
	json_tokener *tok = json_tokener_new();
	json_object *s = json_tokener_parse_ex(tok, text + at, (int)(end - at + 1));

	json_tokener_free(tok);
	return s;
}

/* Finds the first key that an object of the text names a second time: its decoded text
 * (printable ASCII, the rest as '?') into key, and the byte where it starts. The keys of each
 * open object are kept in a json-c object used as a set; arrays push NULL. */
static bool first_repeat(const char *text, size_t len, char *key, size_t size, size_t *at)
{
	json_object **open = NULL;
	size_t depth = 0, cap = 0;
	bool found = false;

	for (size_t i = 0; i < len && !found; i++) {
		char c = text[i];
		if (c == '{' || c == '[') {
			if (depth == cap) {
				cap = cap ? 2 * cap : 16;
				open = xrealloc(open, cap * sizeof *open);
			}
			open[depth++] = c == '{' ? json_object_new_object() : NULL;
		} else if ((c == '}' || c == ']') && depth > 0) {
			json_object_put(open[--depth]);
		} else if (c == '"') {
			size_t end = string_end(text, len, i), k = end + 1;
			json_object *s;
			while (k < len && (text[k] == ' ' || text[k] == '\t' || text[k] == '\r' ||
					   text[k] == '\n'))
				k++;
			if (depth > 0 && open[depth - 1] && k < len && text[k] == ':' &&
			    (s = decode_key(text, i, end)) != NULL) {
				const char *name = json_object_get_string(s);
				if (json_object_object_get_ex(open[depth - 1], name, NULL)) {
					err_snippet(key, size, name, 64);
					*at = i;
					found = true;
				} else {
					json_object_object_add(open[depth - 1], name, NULL);
				}
				json_object_put(s);
			}
			i = end;
		}
	}
	while (depth > 0)
		json_object_put(open[--depth]);
	free(open);
	return found;
}

enum taskq_rc jsondup_check(const char *text, size_t len, json_object *v, struct taskq_err *err)
{
	char key[72];
	size_t at;

	if (separators(text, len) == members(v))
		return TASKQ_OK;
	if (first_repeat(text, len, key, sizeof key, &at))
		return taskq_fail(err, TASKQ_BAD_JSON,
				  "duplicate key '%s' at byte %zu: an object names each key once",
				  key, at);
	return taskq_fail(err, TASKQ_BAD_JSON, "an object names a key twice");
}
