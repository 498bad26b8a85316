/* nchan: the publisher's HTTP client (see nchan.h). */
#include "nchan.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"

static struct {
	pthread_mutex_t lock; /* one request at a time on the handle */
	CURL *h;
	char *socket;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

struct answer {
	char buf[512];
	size_t len;
};

static size_t on_answer(char *data, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n, room = sizeof a->buf - 1 - a->len;

	if (len > room)
		len = room;
	memcpy(a->buf + a->len, data, len);
	a->len += len;
	a->buf[a->len] = '\0';
	return size * n;
}

bool nchan_open(const char *socket)
{
	g.socket = xstrdup(socket);
	g.h = curl_easy_init();
	return g.h != NULL;
}

void nchan_close(void)
{
	pthread_mutex_lock(&g.lock);
	if (g.h)
		curl_easy_cleanup(g.h);
	free(g.socket);
	g.h = NULL;
	g.socket = NULL;
	pthread_mutex_unlock(&g.lock);
}

/* One request to the channel's publisher URL: method, and for a POST the body; the answer's
 * first bytes land in a. Returns the HTTP status, 0 when there was none. */
static long request(const char *method, const char *channel, const char *body, size_t len,
		    struct answer *a)
{
	struct curl_slist *hdr = NULL;
	char url[160];
	long status = 0;
	CURLcode rc;

	pthread_mutex_lock(&g.lock);
	if (!g.h) {
		pthread_mutex_unlock(&g.lock);
		return 0;
	}
	snprintf(url, sizeof url, "http://localhost/_pub/%s", channel);
	hdr = curl_slist_append(hdr, "Accept: application/json");
	curl_easy_reset(g.h);
	curl_easy_setopt(g.h, CURLOPT_UNIX_SOCKET_PATH, g.socket);
	curl_easy_setopt(g.h, CURLOPT_URL, url);
	curl_easy_setopt(g.h, CURLOPT_NOSIGNAL, 1L);
	/* 2 s, and a second more for every 10 MB: a large result is copied to nginx's temp file */
	curl_easy_setopt(g.h, CURLOPT_TIMEOUT_MS, 2000L + (long)(len / 10000));
	if (body) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(g.h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(g.h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else {
		curl_easy_setopt(g.h, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(g.h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(g.h, CURLOPT_WRITEFUNCTION, on_answer);
	curl_easy_setopt(g.h, CURLOPT_WRITEDATA, a);
	rc = curl_easy_perform(g.h);
	curl_slist_free_all(hdr);
	curl_easy_getinfo(g.h, CURLINFO_RESPONSE_CODE, &status);
	pthread_mutex_unlock(&g.lock);
	if (rc != CURLE_OK) {
		log_warn(
			"event=publish_failed method=%s channel=%s status=%ld bytes=%zu msg=\"%s\"",
			method, channel, status, len, curl_easy_strerror(rc));
		return 0;
	}
	return status;
}

int nchan_post(const char *channel, const char *body, size_t len)
{
	struct answer a = {.len = 0};
	json_object *info, *subs;
	long status = request("POST", channel, body, len, &a);
	int n;

	if (status < 200 || status >= 300) {
		if (status)
			log_warn("event=publish_refused channel=%s status=%ld bytes=%zu", channel,
				 status, len);
		return -1;
	}
	info = json_tokener_parse(a.buf);
	if (info && json_object_object_get_ex(info, "subscribers", &subs))
		n = json_object_get_int(subs);
	else
		n = 1; /* an answer we cannot read: assume someone listens */
	json_object_put(info);
	return n;
}

bool nchan_delete(const char *channel)
{
	struct answer a = {.len = 0};
	long status = request("DELETE", channel, NULL, 0, &a);

	if (status != 200 && status != 404) {
		if (status)
			log_warn("event=channel_delete_refused channel=%s status=%ld", channel,
				 status);
		return false;
	}
	return true;
}
