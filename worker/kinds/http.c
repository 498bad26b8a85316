/*
 * http: the kind that makes one HTTP request with libcurl (an LLM API, a partner API, a
 * webhook). Payload {"method","url","headers"?,"body"?|"json"?,"timeout_s"?,"expect_status"?,
 * "config_headers"?,"stream"?}. Every connection's address passes the SSRF policy
 * (worker/kinds/netallow.c) before it is opened; redirects are followed here, not by libcurl,
 * so each hop's URL is checked too. The exchange itself is worker/kinds/httpreq.c's (the
 * kind's client), the payload and result JSON worker/kinds/httpjson.c's: this file decides
 * what an answer means for the task (result, retry or failure) and for the circuit breaker of
 * the URL's host (kind_breaker_*, worker/kinds/api.h): the breaker is asked before the call
 * (the task may go back to the queue instead) and told the outcome after it. An answer that
 * asks to wait (worker/kinds/httpwait.c: a 429 or 503 with Retry-After, a spent rate-limit
 * budget) throttles the host for every worker instead, and a 429 or 503 (or a 403 whose budget
 * is spent) puts its task back in the queue until then without spending its attempt.
 * With "stream": true, a 2xx answer's body is relayed to the task's streamed output as it
 * arrives (worker/kinds/httpstream.c cuts it into chunks: one per Server-Sent Event), besides
 * the result it makes as usual.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "httpjson.h"
#include "httpreq.h"
#include "httpstream.h"
#include "httpwait.h"

#define HTTP_DEFAULT_TIMEOUT_S 30
#define HTTP_MAX_REDIRECTS 5
#define PROBE_MARGIN_S 5 /* a probe's deadline: the request's timeout and this */

/* Parses "expect_status": an integer or an array of integers. */
static bool parse_expect(json_object *v, int *codes, int *n, char *err, size_t errsize)
{
	*n = 0;
	if (!v)
		return true;
	if (json_object_is_type(v, json_type_int)) {
		codes[(*n)++] = json_object_get_int(v);
		return true;
	}
	if (json_object_is_type(v, json_type_array) && json_object_array_length(v) <= 16) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *c = json_object_array_get_idx(v, i);
			if (!json_object_is_type(c, json_type_int))
				goto bad;
			codes[(*n)++] = json_object_get_int(c);
		}
		return true;
	}
bad:
	snprintf(err, errsize, "http: expect_status must be an integer or an array of integers");
	return false;
}

static bool status_expected(long status, const int *codes, int n)
{
	if (n == 0)
		return status >= 200 && status < 300;
	for (int i = 0; i < n; i++)
		if (codes[i] == status)
			return true;
	return false;
}

/* Progress from the transfer: called by httpreq at most a few times a second. */
static bool on_progress(void *arg, long long now, long long total)
{
	struct kind_ctx *ctx = arg;
	char msg[96];

	if (total <= 0)
		return !kind_should_stop(ctx);
	snprintf(msg, sizeof msg, "received %lld of %lld bytes", now, total);
	return kind_progress(ctx, (int)(now * 99 / total), msg);
}

/* What a streamed exchange relays. */
struct relay {
	struct kind_ctx *ctx;
	struct http_exchange *x;
	struct httpstream *s;
};

static void relay_emit(void *arg, const char *text, size_t len)
{
	kind_output(((struct relay *)arg)->ctx, text, len);
}

/* httpreq's sink: a piece of a 2xx body, as it arrives. */
static void relay_body(void *arg, const char *data, size_t len)
{
	struct relay *r = arg;
	json_object *ct = NULL;

	json_object_object_get_ex(r->x->headers, "content-type", &ct);
	httpstream_data(r->s, ct ? json_object_get_string(ct) : NULL, data, len);
}

/* Turns a finished exchange into the task's result or failure. */
static enum kind_result judge(struct kind_ctx *ctx, struct http_exchange *x, const char *url,
			      const int *codes, int ncodes, json_object **result, char *err,
			      size_t errsize)
{
	char excerpt[240];

	if (status_expected(x->status, codes, ncodes)) {
		*result = httpjson_result(x, url);
		return KIND_OK;
	}
	httpjson_excerpt(x, excerpt, sizeof excerpt);
	snprintf(err, errsize, "HTTP %ld from %s: %s", x->status, x->host, excerpt);
	if (x->status == 429) {
		kind_retry_after(ctx, x->retry_after_s);
		return KIND_FAIL;
	}
	if (x->status >= 500 || x->status == 408)
		return KIND_FAIL;
	return KIND_FAIL_HARD; /* other 4xx, or a status the caller did not expect */
}

/*
 * Tells host's breaker what the exchange said about the host. A failure: no answer (a
 * network error or a timeout, reason: curl's words), a 408 or a 5xx. Any other answer is a
 * success, 429 included: the host is up and asks this client to slow down, which its throttle
 * (or the task's retry after Retry-After) already does; opening the breaker would hold every
 * task of the host for a cool-down. A refusal by the SSRF policy, a cancel or a shutdown says
 * nothing, and neither does an answer that put its task back in the queue (throttle, below).
 */
static void report(struct kind_ctx *ctx, const char *host, enum http_outcome o,
		   const struct http_exchange *x, const char *err)
{
	char reason[96];
	const char *r = err;

	switch (o) {
	case HTTP_DONE:
		if (x->status >= 500 || x->status == 408) {
			snprintf(reason, sizeof reason, "HTTP %ld", x->status);
			kind_breaker_report(ctx, host, false, reason);
		} else {
			kind_breaker_report(ctx, host, true, NULL);
		}
		return;
	case HTTP_NET_ERROR:
		if (!strncmp(r, "http: ", 6))
			r += 6;
		snprintf(reason, sizeof reason, "%.*s", (int)strcspn(r, ":"), r);
		kind_breaker_report(ctx, host, false, reason);
		return;
	case HTTP_STOPPED:
		if (kind_time_left(ctx) <= 0)
			kind_breaker_report(ctx, host, false, "timed out");
		return;
	case HTTP_REFUSED:
		return;
	}
}

/*
 * When the answer asks to wait (httpwait_parse), throttles host for every worker; an answer
 * that leaves the attempt unanswered (a 429, a 503, a 403 whose budget is spent: not a status
 * the payload expects) puts the task back in the queue until then. Returns KIND_DEFERRED or
 * KIND_STOPPED when the task is no longer this attempt's to record, else KIND_OK: the answer
 * is judged as usual (also when the throttle could not be recorded).
 */
static enum kind_result throttle(struct kind_ctx *ctx, const char *host,
				 const struct http_exchange *x, const int *codes, int ncodes,
				 char *err, size_t errsize)
{
	struct http_wait w;
	bool hold;

	if (!httpwait_parse(x->status, &x->wait, time(NULL), &w))
		return KIND_OK;
	hold = httpwait_holds_task(x->status) && !status_expected(x->status, codes, ncodes);
	switch (kind_breaker_throttle(ctx, host, w.wait_s, w.reason, hold, err, errsize)) {
	case KIND_THROTTLE_DEFERRED:
		return KIND_DEFERRED;
	case KIND_THROTTLE_LOST:
		return KIND_STOPPED;
	case KIND_THROTTLE_HELD:
	case KIND_THROTTLE_FAILED:
		break;
	}
	err[0] = '\0';
	return KIND_OK;
}

static enum kind_result http_run(struct kind_ctx *ctx, json_object *payload, json_object **result,
				 char *err, size_t errsize)
{
	struct http_request rq;
	struct http_exchange x;
	enum http_outcome o;
	enum kind_result kr;
	json_object *v = NULL;
	int codes[16], ncodes;
	double timeout;
	char host[KIND_HOST_KEY_MAX + 1];
	bool guarded;
	struct relay relay = {.ctx = ctx, .x = &x};

	if (!httpjson_parse(payload, &rq, err, errsize))
		return KIND_FAIL_HARD;
	json_object_object_get_ex(payload, "expect_status", &v);
	if (!parse_expect(v, codes, &ncodes, err, errsize)) {
		httpreq_request_cleanup(&rq);
		return KIND_FAIL_HARD;
	}
	timeout = rq.timeout_s > 0 ? rq.timeout_s : HTTP_DEFAULT_TIMEOUT_S;
	if (kind_time_left(ctx) < timeout)
		timeout = kind_time_left(ctx);

	/* the breaker of the payload URL's host guards the whole exchange, redirects included */
	guarded = kind_breaker_key(rq.url, host, sizeof host);
	if (guarded && !kind_breaker_admit(ctx, host, timeout + PROBE_MARGIN_S, err, errsize)) {
		httpreq_request_cleanup(&rq);
		return kind_should_stop(ctx) ? KIND_STOPPED : KIND_DEFERRED;
	}

	httpreq_exchange_init(&x);
	if (rq.stream) {
		relay.s = httpstream_new(relay_emit, &relay);
		x.sink = relay_body;
		x.sink_arg = &relay;
	}
	for (int hop = 0;; hop++) {
		o = httpreq_perform(&rq, &x, timeout, on_progress, ctx, err, errsize);
		if (o != HTTP_DONE || !x.redirect || hop >= HTTP_MAX_REDIRECTS)
			break;
		if (!httpreq_follow(&rq, &x, err, errsize)) {
			o = HTTP_REFUSED; /* a redirect it cannot follow fails the task for good */
			break;
		}
	}
	if (relay.s) {
		httpstream_end(relay.s);
		httpstream_free(relay.s);
	}
	if (guarded && o == HTTP_DONE &&
	    (kr = throttle(ctx, host, &x, codes, ncodes, err, errsize)) != KIND_OK) {
		httpreq_exchange_cleanup(&x);
		httpreq_request_cleanup(&rq);
		return kr;
	}
	if (guarded)
		report(ctx, host, o, &x, err);
	switch (o) {
	case HTTP_STOPPED:
		kr = KIND_STOPPED;
		break;
	case HTTP_REFUSED:
		kr = KIND_FAIL_HARD;
		break;
	case HTTP_NET_ERROR:
		kr = KIND_FAIL;
		break;
	case HTTP_DONE:
	default:
		kr = judge(ctx, &x, rq.url, codes, ncodes, result, err, errsize);
		break;
	}
	httpreq_exchange_cleanup(&x);
	httpreq_request_cleanup(&rq);
	return kr;
}

const struct kind kind_http = {"http", 300, http_run, NULL};
