/*
 * jsontext: what JSON text must also be for PostgreSQL's jsonb to store it as sent, beyond
 * json-c's strict tokener (model/taskjson.c runs both): UTF-8 without overlong forms,
 * surrogates or code points past U+10FFFF, no U+0000 in strings, and numbers jsonb keeps
 * exactly. Knows nothing of tasks.
 */
#include "model/jsontext.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

static size_t skip_digits(const char *s, size_t n, size_t i)
{
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* Length of the RFC 8259 number at the start of s[0..n), 0 if there is none; *is_int when it
 * has neither fraction nor exponent. */
static size_t number_len(const char *s, size_t n, bool *is_int)
{
	size_t i = s[0] == '-';

	*is_int = true;
	if (i >= n || s[i] < '0' || s[i] > '9')
		return 0;
	i = s[i] == '0' ? i + 1 : skip_digits(s, n, i);
	if (i < n && s[i] == '.') {
		*is_int = false;
		if (++i >= n || s[i] < '0' || s[i] > '9')
			return 0;
		i = skip_digits(s, n, i);
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		*is_int = false;
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return 0;
		i = skip_digits(s, n, i);
	}
	return i;
}

#define NUMBER_MAX 256 /* characters */
#define NUMBER_MAX_EXP 999

/* Whether json-c keeps the number as sent and jsonb takes it: integers that json-c holds in
 * 64 bits (it clamps others); other numbers of at most NUMBER_MAX characters whose exponent
 * is within +-NUMBER_MAX_EXP and that do not overflow a double. */
static bool number_fits(const char *s, size_t len, bool is_int)
{
	char buf[NUMBER_MAX + 1];
	const char *e;
	long exp;

	if (len > NUMBER_MAX)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	if (is_int) {
		if (buf[0] == '-')
			(void)strtoll(buf, NULL, 10);
		else
			(void)strtoull(buf, NULL, 10);
		return errno != ERANGE;
	}
	if ((e = strpbrk(buf, "eE")) != NULL) {
		exp = strtol(e + 1, NULL, 10);
		if (exp > NUMBER_MAX_EXP || exp < -NUMBER_MAX_EXP)
			return false;
	}
	return isfinite(strtod(buf, NULL));
}

#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-"

/*
 * Checks text that json-c accepted for what its strict mode lets through but JSON (RFC 8259)
 * or PostgreSQL do not: control characters in strings, UTF-8 that PostgreSQL refuses, NaN,
 * Infinity, numbers such as "1." or "-01" (TASKQ_BAD_JSON); then for \u0000, which
 * PostgreSQL cannot store and json-c would cut object keys at, and numbers that would not
 * come back as sent (TASKQ_INVAL).
 */
enum taskq_rc jsontext_check(const char *text, size_t len, struct taskq_err *err)
{
	const unsigned char *s = (const unsigned char *)text;
	bool in_str = false, nul = false, colon = false, is_int;
	size_t i = 0, k, bad_num = len, str_at = 0, str_len = 0, key_len = 0;
	const char *key = "";

	while (i < len) {
		if (in_str) {
			if (s[i] == '"') {
				in_str = false;
				str_len = i - str_at;
				i++;
			} else if (s[i] == '\\') {
				if (len - i >= 6 && !memcmp(text + i + 1, "u0000", 5))
					nul = true;
				i += 2; /* json-c checked the escape; \u's digits are walked as text */
			} else if (s[i] < 0x20) {
				return taskq_fail(
					err, TASKQ_BAD_JSON,
					"invalid JSON at byte %zu: control character in a string",
					i);
			} else if ((k = utf8_char_len(s + i, len - i)) == 0) {
				return taskq_fail(err, TASKQ_BAD_JSON,
						  "invalid JSON at byte %zu: invalid UTF-8", i);
			} else {
				i += k;
			}
		} else if (s[i] == '"') {
			in_str = true;
			colon = false;
			str_at = ++i;
		} else if (s[i] == ':') {
			colon = true; /* the last string was a key */
			i++;
		} else if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9')) {
			for (k = 0;
			     i + k < len && text[i + k] && strchr("0123456789+-.eE", text[i + k]);
			     k++)
				; /* the whole token json-c read */
			if (number_len(text + i, k, &is_int) != k)
				return taskq_fail(err, TASKQ_BAD_JSON,
						  "invalid JSON at byte %zu: invalid number", i);
			if (bad_num == len && !number_fits(text + i, k, is_int)) {
				bad_num = i;
				if (colon && str_len <= 64 &&
				    strspn(text + str_at, NAME_CHARS) >= str_len) {
					key = text + str_at;
					key_len = str_len;
				}
			}
			colon = false;
			i += k;
		} else if ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') {
			colon = false;
			if (len - i >= 4 &&
			    (!memcmp(text + i, "true", 4) || !memcmp(text + i, "null", 4)))
				i += 4;
			else if (len - i >= 5 && !memcmp(text + i, "false", 5))
				i += 5;
			else
				return taskq_fail(err, TASKQ_BAD_JSON,
						  "invalid JSON at byte %zu: not a JSON value", i);
		} else {
			if (!strchr(" \t\r\n", s[i]))
				colon = false;
			i++;
		}
	}
	if (nul)
		return taskq_fail(err, TASKQ_INVAL, "strings must not contain U+0000");
	if (bad_num < len)
		return taskq_fail(err, TASKQ_INVAL, "%.*s%sthe number at byte %zu is out of range",
				  (int)key_len, key, key_len ? ": " : "", bad_num);
	return TASKQ_OK;
}
