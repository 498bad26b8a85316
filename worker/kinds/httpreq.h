/*
 * httpreq: one HTTP exchange with libcurl under taskq's rules: the SSRF check of every
 * connection (netallow), a capped response body, selected response headers, progress and
 * stop callbacks, and redirects that the caller follows hop by hop. One reused curl handle per
 * thread (keep-alive, DNS cache), freed when the thread exits. It lives beside the http kind
 * as its client; completion webhooks (worker/callbacks.c) send through it too, on purpose, so
 * that they obey the same allow-list and body cap. It must not know what a payload or a
 * result looks like (worker/kinds/httpjson.c does).
 */
#ifndef TASKQ_HTTPREQ_H
#define TASKQ_HTTPREQ_H

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "httpwait.h"

struct http_request {
	char *method; /* GET, POST ... */
	char *url;    /* the current hop's URL */
	struct curl_slist *headers;
	char *body; /* NULL: no body */
	size_t body_len;
	double timeout_s; /* 0: the caller's default */
	bool stream;      /* the payload's "stream": relay the body as it arrives */
};

struct http_exchange {
	long status;
	char host[256];
	bool redirect;      /* a 3xx with somewhere to go */
	char *redirect_url; /* absolute */
	char *body;         /* NUL-terminated, at most the configured cap */
	size_t body_len, body_cap;
	bool truncated;
	json_object *headers;          /* selected response headers, lower-case names */
	double retry_after_s;          /* from Retry-After, 0 when absent (or malformed) */
	struct http_wait_headers wait; /* Retry-After and the rate-limit headers, raw */
	char refused[64];              /* the address a connection was refused to */
	/* NULL, or called with each piece of a 2xx response's body as libcurl hands it over
	 * (before the cap cuts it): a streamed body relayed as it arrives. Kept by
	 * httpreq_follow. */
	void (*sink)(void *arg, const char *data, size_t len);
	void *sink_arg;
};

enum http_outcome { HTTP_DONE, HTTP_STOPPED, HTTP_REFUSED, HTTP_NET_ERROR };

/* At start and on SIGHUP (a transfer keeps the configuration it began with): the allow-list
 * (see netallow.h), the response body cap, and
 * named header sets "name=Header: value;name=Header: value" that payloads attach by name
 * ("config_headers") so secrets stay out of payloads. */
enum taskq_rc httpreq_configure(const char *allow, long max_body, const char *header_sets,
				struct taskq_err *err);
void httpreq_cleanup(void);

/* Appends to rq the headers of the configured sets named by the JSON array names (a payload's
 * "config_headers"); false with a message for a name the configuration lacks. */
bool httpreq_config_headers(json_object *names, struct http_request *rq, char *err, size_t errsize);
/* Frees what rq owns and empties it. */
void httpreq_request_cleanup(struct http_request *rq);

void httpreq_exchange_init(struct http_exchange *x);
void httpreq_exchange_cleanup(struct http_exchange *x);

/*
 * Performs rq once (no redirect following). progress(arg, received, total) is called at most
 * a few times a second and may return false to abort (HTTP_STOPPED). HTTP_REFUSED: the URL or
 * an address is not allowed: no connection was opened to a refused address, and no request
 * was sent on a kept-alive connection to one (the allow-list in force is checked before every
 * request); a name with refused and allowed addresses is asked at an allowed one, and is
 * refused only when it has none. HTTP_NET_ERROR: no answer. err gets a one-line reason for
 * both.
 */
enum http_outcome httpreq_perform(struct http_request *rq, struct http_exchange *x,
				  double timeout_s,
				  bool (*progress)(void *arg, long long now, long long total),
				  void *arg, char *err, size_t errsize);

/* Moves rq to x's redirect target (303, and 301/302 after a POST, become a GET without a
 * body) and resets x for the next hop. */
bool httpreq_follow(struct http_request *rq, struct http_exchange *x, char *err, size_t errsize);

#endif
