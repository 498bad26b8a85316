/* filters: the checks of a task search's filter values (see filters.h). Pure code. */
#include "filters.h"

#include <ctype.h>
#include <json-c/json.h>
#include <string.h>

bool search_id_prefix_valid(const char *s)
{
	int hex = 0;

	for (; *s; s++) {
		if (isxdigit((unsigned char)*s))
			hex++;
		else if (*s != '-')
			return false;
	}
	return hex >= 1 && hex <= FILTER_HEX_MAX;
}

/* Reads n digits of s as a number in lo..hi; advances *s. */
static bool digits(const char **s, int n, int lo, int hi)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*s)++) {
		if (!isdigit((unsigned char)**s))
			return false;
		v = v * 10 + (**s - '0');
	}
	return v >= lo && v <= hi;
}

/* Whether *s starts with c; advances past it when it does. */
static bool lit(const char **s, char c)
{
	if (**s != c)
		return false;
	(*s)++;
	return true;
}

bool search_time_valid(const char *s)
{
	if (!digits(&s, 4, 1, 9999) || !lit(&s, '-') || !digits(&s, 2, 1, 12) || !lit(&s, '-') ||
	    !digits(&s, 2, 1, 31) || !(lit(&s, 'T') || lit(&s, 't') || lit(&s, ' ')) ||
	    !digits(&s, 2, 0, 23) || !lit(&s, ':') || !digits(&s, 2, 0, 59))
		return false;
	if (lit(&s, ':')) {
		if (!digits(&s, 2, 0, 60))
			return false;
		if (lit(&s, '.')) {
			int n = 0;
			while (isdigit((unsigned char)*s) && n < 9)
				s++, n++;
			if (!n)
				return false;
		}
	}
	if (lit(&s, 'Z') || lit(&s, 'z'))
		return !*s;
	if (!(lit(&s, '+') || lit(&s, '-')))
		return false;
	return digits(&s, 2, 0, 23) && lit(&s, ':') && digits(&s, 2, 0, 59) && !*s;
}

bool search_payload_valid(const char *s)
{
	struct json_tokener *tok = json_tokener_new_ex(16);
	json_object *o;
	bool ok;

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, s, (int)strlen(s) + 1);
	ok = o && json_tokener_get_error(tok) == json_tokener_success &&
	     json_object_is_type(o, json_type_object);
	json_object_put(o);
	json_tokener_free(tok);
	return ok;
}

bool search_worker_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 128)
		return false;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return false;
	return true;
}

bool search_waiting_valid(const char *s)
{
	return !strcmp(s, "delayed") || !strcmp(s, "blocked") || !strcmp(s, "retrying");
}
