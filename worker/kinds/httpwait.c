/* httpwait: when an upstream's answer says to call it again (see httpwait.h). */
#include "httpwait.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* the headers captured, and where each goes */
static const struct {
	const char *name;
	size_t off;
} g_names[] = {
	{"retry-after", offsetof(struct http_wait_headers, retry_after)},
	{"ratelimit-remaining", offsetof(struct http_wait_headers, rl_remaining)},
	{"ratelimit-reset", offsetof(struct http_wait_headers, rl_reset)},
	{"x-ratelimit-remaining", offsetof(struct http_wait_headers, xrl_remaining)},
	{"x-ratelimit-reset", offsetof(struct http_wait_headers, xrl_reset)},
};

bool httpwait_capture(struct http_wait_headers *h, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len), *v;
	size_t vn;

	if (!colon)
		return false;
	for (size_t i = 0; i < sizeof g_names / sizeof g_names[0]; i++) {
		size_t kn = strlen(g_names[i].name);
		char *out = (char *)h + g_names[i].off;

		if ((size_t)(colon - line) != kn || strncasecmp(line, g_names[i].name, kn) != 0)
			continue;
		v = colon + 1;
		vn = len - (size_t)(v - line);
		while (vn && (*v == ' ' || *v == '\t')) {
			v++;
			vn--;
		}
		while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' ' ||
			      v[vn - 1] == '\t'))
			vn--;
		if (vn >= HTTPWAIT_VALUE_MAX)
			vn = HTTPWAIT_VALUE_MAX - 1;
		/* it goes into messages and logs: printable ASCII only */
		for (size_t k = 0; k < vn; k++)
			out[k] = v[k] >= 0x20 && v[k] < 0x7f ? v[k] : '?';
		out[vn] = '\0';
		return true;
	}
	return false;
}

#define DIGITS_MAX 1e15 /* a longer number of digits is read as this */

/* A value of digits only (at least one) as a number of at most DIGITS_MAX; -1 if not. */
static double digits(const char *v)
{
	double n = 0;

	if (!v[0])
		return -1;
	for (const char *c = v; *c; c++) {
		if (*c < '0' || *c > '9')
			return -1;
		if (n < DIGITS_MAX)
			n = n * 10 + (*c - '0');
	}
	return n < DIGITS_MAX ? n : DIGITS_MAX;
}

static double capped(double s)
{
	return s < HTTPWAIT_MAX_S ? s : HTTPWAIT_MAX_S;
}

static double until(double t, time_t now)
{
	double s = t - (double)now;

	return s > 0 ? (s < HTTPWAIT_MAX_S ? s : HTTPWAIT_MAX_S) : 0;
}

double httpwait_retry_after(const char *v, time_t now)
{
	double n = digits(v);
	time_t t;

	if (n >= 0)
		return capped(n);
	if (!v[0] || v[0] == '-' || v[0] == '+')
		return -1;
	t = curl_getdate(v, NULL);
	return t == -1 ? -1 : until((double)t, now);
}

double httpwait_reset(const char *v, time_t now)
{
	double n = digits(v);

	if (n < 0)
		return -1;
	return n >= 1e9 ? until(n, now) : capped(n);
}

/* The wait a rate-limit pair asks for (remaining 0 and a reset ahead), with its reason. */
static bool budget(long status, const char *prefix, const char *remaining, const char *reset,
		   time_t now, struct http_wait *out)
{
	double s;

	if (digits(remaining) != 0 || (s = httpwait_reset(reset, now)) <= 0)
		return false;
	out->wait_s = s;
	snprintf(out->reason, sizeof out->reason,
		 "%ld %sRateLimit-Remaining: %s, %sRateLimit-Reset: %s", status, prefix, remaining,
		 prefix, reset);
	return true;
}

bool httpwait_parse(long status, const struct http_wait_headers *h, time_t now,
		    struct http_wait *out)
{
	double s;

	memset(out, 0, sizeof *out);
	if ((status == 429 || status == 503) &&
	    (s = httpwait_retry_after(h->retry_after, now)) > 0) {
		out->wait_s = s;
		snprintf(out->reason, sizeof out->reason, "%ld Retry-After: %s", status,
			 h->retry_after);
		return true;
	}
	return budget(status, "", h->rl_remaining, h->rl_reset, now, out) ||
	       budget(status, "X-", h->xrl_remaining, h->xrl_reset, now, out);
}

bool httpwait_holds_task(long status)
{
	return status == 429 || status == 503 || status == 403;
}
