/* httpreq: libcurl exchanges with the SSRF check, capped bodies and per-thread handles (see
 * httpreq.h). */
#include "httpreq.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "base/clock.h"
#include "netallow.h"
#include "base/xalloc.h"

#define MAX_HEADERS 64 /* header sets of the configuration */
#define PROGRESS_GAP_S 0.25

struct header_set {
	char *name, *line;
};

/* The configuration, one generation per (re)load: an exchange holds a reference to the one
 * it started with, so a SIGHUP never frees an allow-list a transfer is checking against. */
struct http_conf {
	struct netallow *allow;
	long max_body;
	struct header_set *sets;
	int nsets;
	int refs; /* under g_conf_lock */
};

static pthread_mutex_t g_conf_lock = PTHREAD_MUTEX_INITIALIZER;
static struct http_conf *g_conf;
static pthread_key_t g_handle_key;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;

static void conf_free(struct http_conf *c)
{
	for (int i = 0; i < c->nsets; i++) {
		free(c->sets[i].name);
		free(c->sets[i].line);
	}
	free(c->sets);
	netallow_free(c->allow);
	free(c);
}

static struct http_conf *conf_get(void)
{
	struct http_conf *c;

	pthread_mutex_lock(&g_conf_lock);
	c = g_conf;
	if (c)
		c->refs++;
	pthread_mutex_unlock(&g_conf_lock);
	return c;
}

static void conf_put(struct http_conf *c)
{
	bool last;

	if (!c)
		return;
	pthread_mutex_lock(&g_conf_lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&g_conf_lock);
	if (last)
		conf_free(c);
}

static void free_handle(void *h)
{
	curl_easy_cleanup(h);
}

/* This thread's curl handle, created on first use and reset between uses. */
static CURL *thread_handle(void)
{
	CURL *h = pthread_getspecific(g_handle_key);

	if (!h) {
		h = curl_easy_init();
		if (!h)
			return NULL;
		pthread_setspecific(g_handle_key, h);
	} else {
		curl_easy_reset(h);
	}
	return h;
}

static enum taskq_rc parse_sets(struct http_conf *c, const char *spec, struct taskq_err *err)
{
	for (const char *p = spec ? spec : ""; *p;) {
		size_t n = strcspn(p, ";");
		const char *eq = memchr(p, '=', n),
			   *colon = eq ? memchr(eq, ':', n - (size_t)(eq - p)) : NULL;

		if (n > 0) {
			if (!eq || eq == p || !colon || colon == eq + 1 || c->nsets >= MAX_HEADERS)
				return taskq_fail(
					err, TASKQ_INVAL,
					"http header sets: expected name=Header: value, got '%.*s'",
					(int)(eq ? eq - p : (long)n), p);
			c->sets = xrealloc(c->sets, (size_t)(c->nsets + 1) * sizeof *c->sets);
			c->sets[c->nsets].name = xstrndup(p, (size_t)(eq - p));
			c->sets[c->nsets].line = xstrndup(eq + 1, n - (size_t)(eq - p) - 1);
			c->nsets++;
		}
		p += n + (p[n] == ';');
	}
	return TASKQ_OK;
}

static void make_key(void)
{
	pthread_key_create(&g_handle_key, free_handle);
}

enum taskq_rc httpreq_configure(const char *allow, long max_body, const char *header_sets,
				struct taskq_err *err)
{
	struct http_conf *c = xcalloc(1, sizeof *c), *old;
	enum taskq_rc rc;

	if ((rc = netallow_parse(allow, &c->allow, err)) ||
	    (rc = parse_sets(c, header_sets, err))) {
		conf_free(c);
		return rc;
	}
	c->max_body = max_body;
	c->refs = 1;
	pthread_once(&g_key_once, make_key);
	pthread_mutex_lock(&g_conf_lock);
	old = g_conf;
	g_conf = c;
	pthread_mutex_unlock(&g_conf_lock);
	conf_put(old);
	return TASKQ_OK;
}

void httpreq_cleanup(void)
{
	struct http_conf *c;

	pthread_mutex_lock(&g_conf_lock);
	c = g_conf;
	g_conf = NULL;
	pthread_mutex_unlock(&g_conf_lock);
	conf_put(c);
}

/* ---- the request ------------------------------------------------------------------------ */

bool httpreq_config_headers(json_object *names, struct http_request *rq, char *err, size_t errsize)
{
	if (!json_object_is_type(names, json_type_array)) {
		snprintf(err, errsize, "http: config_headers must be an array of names");
		return false;
	}
	struct http_conf *c = conf_get();
	bool ok = true;

	for (size_t i = 0; ok && i < json_object_array_length(names); i++) {
		const char *want = json_object_get_string(json_object_array_get_idx(names, i));
		bool found = false;
		for (int j = 0; c && want && j < c->nsets; j++)
			if (!strcmp(c->sets[j].name, want)) {
				rq->headers = curl_slist_append(rq->headers, c->sets[j].line);
				found = true;
			}
		if (!found) {
			snprintf(err, errsize,
				 "http: no header set '%.60s' in the worker's configuration",
				 want ? want : "?");
			ok = false;
		}
	}
	conf_put(c);
	return ok;
}

void httpreq_request_cleanup(struct http_request *rq)
{
	free(rq->method);
	free(rq->url);
	free(rq->body);
	curl_slist_free_all(rq->headers);
	memset(rq, 0, sizeof *rq);
}

/* ---- one exchange ----------------------------------------------------------------------- */

void httpreq_exchange_init(struct http_exchange *x)
{
	memset(x, 0, sizeof *x);
	x->headers = json_object_new_object();
}

void httpreq_exchange_cleanup(struct http_exchange *x)
{
	free(x->body);
	free(x->redirect_url);
	json_object_put(x->headers);
	memset(x, 0, sizeof *x);
}

struct transfer {
	struct http_exchange *x;
	bool (*progress)(void *arg, long long now, long long total);
	void *arg;
	double last_progress;
	bool stopped;
	int opened;             /* sockets opened: addresses on_open let through */
	bool refused_conn;      /* on_prereq refused the connection a request was to go out on */
	struct http_conf *conf; /* held for the whole transfer */
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct transfer *t = arg;
	struct http_exchange *x = t->x;
	size_t max_body = (size_t)t->conf->max_body, len = size * n, room = max_body - x->body_len;

	if (x->sink && x->status >= 200 && x->status < 300)
		x->sink(x->sink_arg, data, len);
	if (len > room) {
		len = room;
		x->truncated = true;
	}
	if (x->body_len + len + 1 > x->body_cap) {
		x->body_cap = (x->body_len + len + 1) * 2;
		if (x->body_cap > max_body + 1)
			x->body_cap = max_body + 1;
		x->body = xrealloc(x->body, x->body_cap);
	}
	memcpy(x->body + x->body_len, data, len);
	x->body_len += len;
	x->body[x->body_len] = '\0';
	return x->truncated ? 0 : size * n; /* 0 ends the transfer: the cap is reached */
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	static const char *const keep[] = {"content-type",  "content-length", "etag",
					   "last-modified", "location",       "retry-after",
					   "x-request-id"};
	struct http_exchange *x = ((struct transfer *)arg)->x;
	size_t len = size * n;
	const char *colon = memchr(data, ':', len);

	if (len >= 5 && !strncmp(data, "HTTP/", 5)) { /* a new response (after a 100 Continue) */
		const char *sp = memchr(data, ' ', len);
		x->status = sp ? strtol(sp + 1, NULL, 10) : 0; /* for the sink; curl's at the end */
		json_object_put(x->headers);
		x->headers = json_object_new_object();
		memset(&x->wait, 0, sizeof x->wait);
		return len;
	}
	if (!colon)
		return len;
	httpwait_capture(&x->wait, data, len);
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
		size_t kn = strlen(keep[i]), vn;
		const char *v = colon + 1;
		if ((size_t)(colon - data) != kn || strncasecmp(data, keep[i], kn) != 0)
			continue;
		vn = len - (size_t)(v - data);
		while (vn && (*v == ' ' || *v == '\t')) {
			v++;
			vn--;
		}
		while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' '))
			vn--;
		json_object_object_add(x->headers, keep[i], json_object_new_string_len(v, (int)vn));
	}
	return len;
}

static int on_xfer(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		   curl_off_t ulnow)
{
	struct transfer *t = arg;
	double now = clock_mono_s();

	(void)ultotal;
	(void)ulnow;
	if (now - t->last_progress < PROGRESS_GAP_S)
		return 0;
	t->last_progress = now;
	if (!t->progress(t->arg, (long long)dlnow, (long long)dltotal)) {
		t->stopped = true;
		return 1;
	}
	return 0;
}

/*
 * Checks every address before libcurl connects to it: the very address connect() gets, from
 * the one lookup libcurl made, so no later answer of the DNS (rebinding) can change it. A
 * refused one opens no socket; libcurl goes on to the name's next address, if any.
 */
static curl_socket_t on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct transfer *t = arg;
	struct http_exchange *x = t->x;

	(void)purpose;
	if (!netallow_addr(t->conf->allow, &a->addr)) {
		const void *ip =
			a->family == AF_INET6
				? (const void *)&((struct sockaddr_in6 *)&a->addr)->sin6_addr
				: (const void *)&((struct sockaddr_in *)&a->addr)->sin_addr;
		if (!inet_ntop(a->family, ip, x->refused, sizeof x->refused))
			snprintf(x->refused, sizeof x->refused, "?");
		return CURL_SOCKET_BAD;
	}
	t->opened++;
	return socket(a->family, a->socktype, a->protocol);
}

/*
 * Checks the peer address of the connection a request is about to be sent on, new or reused,
 * before a byte of the request goes out. A kept-alive connection of this thread's handle was
 * opened (and checked by on_open) under the configuration of its time, which a reload may
 * have narrowed since.
 */
static int on_prereq(void *arg, char *ip, char *local_ip, int port, int local_port)
{
	struct transfer *t = arg;

	(void)local_ip;
	(void)port;
	(void)local_port;
	if (netallow_ip(t->conf->allow, ip))
		return CURL_PREREQFUNC_OK;
	snprintf(t->x->refused, sizeof t->x->refused, "%s", ip);
	t->refused_conn = true;
	return CURL_PREREQFUNC_ABORT;
}

/* Checks the URL's scheme and host and copies the host into x->host. */
static bool url_allowed(const struct http_conf *c, const char *url, struct http_exchange *x,
			char *err, size_t errsize)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	bool ok = false;

	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(err, errsize, "http: not a valid URL: %.200s", url);
		goto out;
	}
	if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
		snprintf(err, errsize, "http: only http and https URLs are allowed, not %.20s",
			 scheme);
		goto out;
	}
	snprintf(x->host, sizeof x->host, "%s", host[0] == '[' ? host + 1 : host);
	x->host[strcspn(x->host, "]")] = '\0';
	if (!netallow_host(c->allow, x->host)) {
		snprintf(err, errsize,
			 "http: refused: host %.200s is not in the worker's allow-list", x->host);
		goto out;
	}
	ok = true;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

static void set_options(CURL *h, struct http_request *rq, struct transfer *t, double timeout_s,
			char *errbuf)
{
	curl_easy_setopt(h, CURLOPT_URL, rq->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROXY, ""); /* never a proxy from the environment */
	curl_easy_setopt(h, CURLOPT_USERAGENT, "taskq/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, rq->headers);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(timeout_s < 10 ? timeout_s * 1000 : 10000));
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xfer);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, t);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, t);
	curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_prereq);
	curl_easy_setopt(h, CURLOPT_PREREQDATA, t);
	if (!strcmp(rq->method, "HEAD"))
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(rq->method, "GET") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
	if (rq->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	}
}

/* Seconds from the Retry-After value (httpwait_retry_after), up to a day; 0 when absent or
 * malformed. */
static double retry_after(const struct http_exchange *x)
{
	double secs = httpwait_retry_after(x->wait.retry_after, time(NULL));

	return secs > 0 ? (secs < 86400 ? secs : 86400) : 0;
}

static enum http_outcome perform(struct http_request *rq, struct transfer *t, double timeout_s,
				 char *err, size_t errsize)
{
	struct http_exchange *x = t->x;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *h;
	CURLcode rc;

	if (!url_allowed(t->conf, rq->url, x, err, errsize))
		return HTTP_REFUSED;
	if (timeout_s <= 0) {
		snprintf(err, errsize, "http: no time left for the request");
		return HTTP_NET_ERROR;
	}
	if (!(h = thread_handle())) {
		snprintf(err, errsize, "http: cannot create a curl handle");
		return HTTP_NET_ERROR;
	}
	set_options(h, rq, t, timeout_s, errbuf);
	rc = curl_easy_perform(h);
	if (t->stopped)
		return HTTP_STOPPED;
	/* a refused address decides only when nothing else was connected to: a name whose
	 * other address was allowed got its request there */
	if (t->refused_conn) {
		snprintf(err, errsize,
			 "http: refused: the connection to %s goes to %s, which the worker's "
			 "allow-list does not cover",
			 x->host, x->refused);
		return HTTP_REFUSED;
	}
	if (x->refused[0] && t->opened == 0) {
		snprintf(
			err, errsize,
			"http: refused: %s resolves to %s, which the worker's allow-list does not cover",
			x->host, x->refused);
		return HTTP_REFUSED;
	}
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && x->truncated)) {
		snprintf(err, errsize, "http: %s: %s", curl_easy_strerror(rc),
			 errbuf[0] ? errbuf : x->host);
		return HTTP_NET_ERROR;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x->status);
	x->retry_after_s = retry_after(x);
	if (x->status >= 300 && x->status < 400 && x->status != 304) {
		char *loc = NULL;
		curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc);
		if (loc) {
			x->redirect = true;
			x->redirect_url = xstrdup(loc);
		}
	}
	return HTTP_DONE;
}

enum http_outcome httpreq_perform(struct http_request *rq, struct http_exchange *x,
				  double timeout_s,
				  bool (*progress)(void *arg, long long now, long long total),
				  void *arg, char *err, size_t errsize)
{
	struct transfer t = {.x = x, .progress = progress, .arg = arg, .conf = conf_get()};
	enum http_outcome o;

	if (!t.conf) {
		snprintf(err, errsize, "http: not configured");
		return HTTP_REFUSED;
	}
	o = perform(rq, &t, timeout_s, err, errsize);
	conf_put(t.conf);
	return o;
}

bool httpreq_follow(struct http_request *rq, struct http_exchange *x, char *err, size_t errsize)
{
	bool to_get = x->status == 303 ||
		      ((x->status == 301 || x->status == 302) && !strcmp(rq->method, "POST"));

	if (!x->redirect_url) {
		snprintf(err, errsize, "http: redirect without a target");
		return false;
	}
	free(rq->url);
	rq->url = x->redirect_url;
	x->redirect_url = NULL;
	if (to_get) {
		free(rq->method);
		rq->method = xstrdup("GET");
		free(rq->body);
		rq->body = NULL;
		rq->body_len = 0;
	}
	{
		void (*sink)(void *, const char *, size_t) = x->sink;
		void *sink_arg = x->sink_arg;
		httpreq_exchange_cleanup(x);
		httpreq_exchange_init(x);
		x->sink = sink;
		x->sink_arg = sink_arg;
	}
	return true;
}
