/* callbacks: the webhook delivery thread. */
#include "callbacks.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kinds/httpreq.h"
#include "base/log.h"
#include "bgthread.h"
#include "store/worker.h"
#include "model/taskjson.h"
#include "base/xalloc.h"

#define CALLBACK_BATCH 8
#define CALLBACK_LEASE_S 60
#define CALLBACK_TIMEOUT_S 10
#define CALLBACK_IDLE_MS 500

struct callbacks {
	struct bgthread bg; /* bg.lock guards secret: SIGHUP may replace it */
	char *secret;
};

int callbacks_sign(const char *secret, const char *body, size_t len, char *out, size_t size)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t maclen = 0;

	if (size < 8 + 2 * 32 ||
	    !EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, strlen(secret),
		       (const unsigned char *)body, len, mac, sizeof mac, &maclen))
		return 0;
	memcpy(out, "sha256=", 7);
	for (size_t i = 0; i < maclen; i++)
		snprintf(out + 7 + 2 * i, size - 7 - 2 * i, "%02x", mac[i]);
	return 1;
}

static bool keep_going(void *arg, long long now, long long total)
{
	struct callbacks *c = arg;
	(void)now;
	(void)total;
	return !bg_stopping(&c->bg);
}

/* POSTs one task's JSON to its callback_url; fills err on failure. */
static bool deliver(struct callbacks *c, const struct task *t, char *err, size_t errsize)
{
	json_object *o = taskjson_encode(t);
	const char *body = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	struct http_request rq = {0};
	struct http_exchange x;
	char line[160], sig[80];
	enum http_outcome out;
	bool ok = false, signed_ok;

	rq.method = xstrdup("POST");
	rq.url = xstrdup(t->callback_url);
	rq.body_len = strlen(body);
	rq.body = xstrndup(body, rq.body_len);
	rq.headers = curl_slist_append(rq.headers, "Content-Type: application/json");
	snprintf(line, sizeof line, "X-Taskq-Task: %s", t->id);
	rq.headers = curl_slist_append(rq.headers, line);
	pthread_mutex_lock(&c->bg.lock);
	signed_ok = c->secret && callbacks_sign(c->secret, rq.body, rq.body_len, sig, sizeof sig);
	pthread_mutex_unlock(&c->bg.lock);
	if (signed_ok) {
		snprintf(line, sizeof line, "X-Taskq-Signature: %s", sig);
		rq.headers = curl_slist_append(rq.headers, line);
	}
	json_object_put(o);

	httpreq_exchange_init(&x);
	out = httpreq_perform(&rq, &x, CALLBACK_TIMEOUT_S, keep_going, c, err, errsize);
	if (out == HTTP_DONE) {
		ok = x.status >= 200 && x.status < 300;
		if (!ok)
			snprintf(err, errsize, "receiver answered HTTP %ld", x.status);
	} else if (out == HTTP_STOPPED) {
		snprintf(err, errsize, "worker stopping");
	}
	httpreq_exchange_cleanup(&x);
	httpreq_request_cleanup(&rq);
	return ok;
}

static void *callbacks_main(void *arg)
{
	struct callbacks *c = arg;

	while (!bg_stopping(&c->bg)) {
		struct task_list l = {0};
		struct taskq_err err;
		struct timespec idle = {0, CALLBACK_IDLE_MS * 1000000L};

		if (store_claim_callbacks(c->bg.db, CALLBACK_BATCH, CALLBACK_LEASE_S, &l, &err)) {
			log_debug("event=callbacks_claim_failed msg=\"%s\"", err.msg);
			nanosleep(&idle, NULL);
			continue;
		}
		for (size_t i = 0; i < l.n && !bg_stopping(&c->bg); i++) {
			char msg[256] = "", url[201], emsg[256];
			bool ok = deliver(c, &l.v[i], msg, sizeof msg);

			log_task(ok ? LOG_INFO : LOG_WARN, l.v[i].id,
				 "event=callback_%s url=\"%s\"%s%s%s",
				 ok ? "delivered" : "failed_attempt",
				 log_value(url, sizeof url, l.v[i].callback_url),
				 ok ? "" : " error=\"", ok ? "" : log_value(emsg, sizeof emsg, msg),
				 ok ? "" : "\"");
			if (store_callback_done(c->bg.db, l.v[i].id, ok, ok ? NULL : msg, &err))
				log_task(LOG_WARN, l.v[i].id,
					 "event=callback_record_failed msg=\"%s\"", err.msg);
		}
		if (l.n < CALLBACK_BATCH)
			nanosleep(&idle, NULL);
		task_list_cleanup(&l);
	}
	return NULL;
}

struct callbacks *callbacks_start(const char *conninfo, const char *secret)
{
	struct callbacks *c = xcalloc(1, sizeof *c);

	c->secret = secret && *secret ? xstrdup(secret) : NULL;
	if (!c->secret)
		log_warn(
			"event=callbacks_unsigned msg=\"no --callback-secret: webhooks go out without X-Taskq-Signature\"");
	bg_start(&c->bg, conninfo, "taskq-worker-callbacks", 0, callbacks_main, c);
	return c;
}

void callbacks_set_secret(struct callbacks *c, const char *secret)
{
	char *fresh = secret && *secret ? xstrdup(secret) : NULL, *old;

	if (!c) {
		free(fresh);
		return;
	}
	pthread_mutex_lock(&c->bg.lock);
	old = c->secret;
	c->secret = fresh;
	pthread_mutex_unlock(&c->bg.lock);
	free(old);
	if (!fresh)
		log_warn(
			"event=callbacks_unsigned msg=\"no --callback-secret: webhooks go out without X-Taskq-Signature\"");
}

void callbacks_stop(struct callbacks *c)
{
	if (!c)
		return;
	bg_stop(&c->bg);
	free(c->secret);
	free(c);
}
