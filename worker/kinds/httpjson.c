/* httpjson: the http kind's payload into a request, an exchange into its result (see
 * httpjson.h). */
#include "httpjson.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

#define MAX_HEADERS 64 /* in a payload's "headers" */
#define MAX_URL 8192

/* ---- the payload ------------------------------------------------------------------------ */

static bool header_ok(const char *name, const char *value)
{
	if (!*name || strlen(name) > 128)
		return false;
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("!#$%&'*+-.^_`|~", *c))
			return false;
	return !strpbrk(value, "\r\n");
}

static bool parse_fields(json_object *payload, struct http_request *rq, char *err, size_t errsize)
{
	static const char *const methods[] = {"GET",   "HEAD",   "POST",   "PUT",
					      "PATCH", "DELETE", "OPTIONS"};
	bool have_body = false;

	json_object_object_foreach(payload, key, v) {
		if (!strcmp(key, "method")) {
			bool ok = false;
			for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
				ok |= json_object_is_type(v, json_type_string) &&
				      !strcmp(json_object_get_string(v), methods[i]);
			if (!ok) {
				snprintf(
					err, errsize,
					"http: method must be one of GET HEAD POST PUT PATCH DELETE OPTIONS");
				return false;
			}
			free(rq->method);
			rq->method = xstrdup(json_object_get_string(v));
		} else if (!strcmp(key, "url")) {
			if (!json_object_is_type(v, json_type_string) ||
			    json_object_get_string_len(v) > MAX_URL) {
				snprintf(err, errsize,
					 "http: url must be a string of at most %d bytes", MAX_URL);
				return false;
			}
			rq->url = xstrdup(json_object_get_string(v));
		} else if (!strcmp(key, "headers")) {
			if (!json_object_is_type(v, json_type_object) ||
			    json_object_object_length(v) > MAX_HEADERS) {
				snprintf(err, errsize,
					 "http: headers must be an object of at most %d strings",
					 MAX_HEADERS);
				return false;
			}
			json_object_object_foreach(v, hname, hval) {
				char line[8300];
				if (!json_object_is_type(hval, json_type_string) ||
				    !header_ok(hname, json_object_get_string(hval))) {
					snprintf(err, errsize, "http: bad header '%.60s'", hname);
					return false;
				}
				snprintf(line, sizeof line, "%s: %s", hname,
					 json_object_get_string(hval));
				rq->headers = curl_slist_append(rq->headers, line);
			}
		} else if (!strcmp(key, "body") || !strcmp(key, "json")) {
			const char *text;
			if (have_body) {
				snprintf(err, errsize, "http: give body or json, not both");
				return false;
			}
			have_body = true;
			if (key[0] == 'b' && !json_object_is_type(v, json_type_string)) {
				snprintf(err, errsize,
					 "http: body must be a string (use json for JSON)");
				return false;
			}
			text = key[0] == 'b'
				       ? json_object_get_string(v)
				       : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
			rq->body_len = key[0] == 'b' ? (size_t)json_object_get_string_len(v)
						     : strlen(text);
			rq->body = xstrndup(text, rq->body_len);
			if (key[0] == 'j')
				rq->headers = curl_slist_append(rq->headers,
								"Content-Type: application/json");
		} else if (!strcmp(key, "timeout_s")) {
			double t = json_object_get_double(v);
			if ((!json_object_is_type(v, json_type_int) &&
			     !json_object_is_type(v, json_type_double)) ||
			    t <= 0 || t > 3600) {
				snprintf(err, errsize,
					 "http: timeout_s must be a number in (0, 3600]");
				return false;
			}
			rq->timeout_s = t;
		} else if (!strcmp(key, "config_headers")) {
			if (!httpreq_config_headers(v, rq, err, errsize))
				return false;
		} else if (!strcmp(key, "stream")) {
			if (!json_object_is_type(v, json_type_boolean)) {
				snprintf(err, errsize, "http: stream must be true or false");
				return false;
			}
			rq->stream = json_object_get_boolean(v);
		} else if (strcmp(key, "expect_status") != 0) {
			snprintf(err, errsize, "http: unknown payload field '%.60s'", key);
			return false;
		}
	}
	return true;
}

bool httpjson_parse(json_object *payload, struct http_request *rq, char *err, size_t errsize)
{
	memset(rq, 0, sizeof *rq);
	rq->method = xstrdup("GET");
	if (!json_object_is_type(payload, json_type_object) ||
	    !parse_fields(payload, rq, err, errsize))
		goto bad;
	if (!rq->url) {
		snprintf(err, errsize, "http: url is required");
		goto bad;
	}
	return true;
bad:
	if (!*err)
		snprintf(err, errsize, "http: the payload must be an object");
	httpreq_request_cleanup(rq);
	return false;
}

/* ---- the result ------------------------------------------------------------------------- */

/* True when s[0..n) is valid UTF-8 without NUL, overlongs or surrogates (what PostgreSQL's
 * text and jsonb accept). */
static bool utf8_text(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if ((c & 0xf0) == 0xe0)
			k = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3;
		else
			return false;
		if (i + k >= n)
			return false;
		for (size_t j = 1; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0) ||
		    (c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90))
			return false;
		i += k + 1;
	}
	return true;
}

static json_object *base64_string(const unsigned char *s, size_t n)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	size_t o = 0;
	json_object *v;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v24 = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
			       (i + 2 < n ? s[i + 2] : 0);
		out[o++] = tbl[(v24 >> 18) & 63];
		out[o++] = tbl[(v24 >> 12) & 63];
		out[o++] = i + 1 < n ? tbl[(v24 >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tbl[v24 & 63] : '=';
	}
	v = json_object_new_string_len(out, (int)o);
	free(out);
	return v;
}

/* The body as JSON when it says it is JSON and parses, else text, else base64. */
static json_object *body_value(const struct http_exchange *x, const char **field)
{
	const char *body = x->body ? x->body : "";
	json_object *ct, *v;

	*field = "body";
	if (json_object_object_get_ex(x->headers, "content-type", &ct) &&
	    strstr(json_object_get_string(ct), "json") && !x->truncated &&
	    utf8_text((const unsigned char *)body, x->body_len) && !strstr(body, "\\u0000")) {
		json_tokener *tok = json_tokener_new_ex(64);
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		v = json_tokener_parse_ex(tok, body, (int)x->body_len);
		if (json_tokener_get_error(tok) == json_tokener_success &&
		    json_tokener_get_parse_end(tok) == x->body_len) {
			json_tokener_free(tok);
			return v;
		}
		json_object_put(v);
		json_tokener_free(tok);
	}
	if (utf8_text((const unsigned char *)body, x->body_len))
		return json_object_new_string_len(body, (int)x->body_len);
	*field = "body_base64";
	return base64_string((const unsigned char *)body, x->body_len);
}

json_object *httpjson_result(const struct http_exchange *x, const char *url)
{
	json_object *o = json_object_new_object();
	const char *field;
	json_object *body = body_value(x, &field);

	json_object_object_add(o, "status", json_object_new_int((int)x->status));
	json_object_object_add(o, "headers", json_object_get(x->headers));
	json_object_object_add(o, field, body);
	json_object_object_add(o, "truncated", json_object_new_boolean(x->truncated));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)x->body_len));
	json_object_object_add(o, "url", json_object_new_string(url));
	return o;
}

void httpjson_excerpt(const struct http_exchange *x, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < x->body_len && o + 1 < size; i++) {
		unsigned char c = (unsigned char)x->body[i];
		out[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	out[o] = '\0';
	if (o == 0)
		snprintf(out, size, "(empty body)");
}
