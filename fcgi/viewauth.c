/* viewauth: checking and signing view tokens with cached keys (see viewauth.h). */
#include "viewauth.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/auth.h"

#define MAX_KEYS 16
#define KEYS_TTL_S 60.0
#define RELOAD_GAP_S 1.0

static struct {
	pthread_mutex_t lock;
	int n, ids[MAX_KEYS];
	unsigned char secret[MAX_KEYS][VIEW_KEY_LEN];
	double loaded_at, tried_at; /* monotonic seconds; loaded_at < 0: nothing loaded */
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .loaded_at = -1, .tried_at = -1e9};

void viewauth_flush(void)
{
	pthread_mutex_lock(&g.lock);
	g.loaded_at = -1;
	g.tried_at = -1e9;
	pthread_mutex_unlock(&g.lock);
}

/* Reads the keys into the cache. -1: the database is down; else how many. */
static int load(struct db *db)
{
	int ids[MAX_KEYS], n = 0;
	unsigned char secret[MAX_KEYS][VIEW_KEY_LEN];
	struct taskq_err err;

	if (store_view_keys(db, MAX_KEYS, ids, secret, &n, &err)) {
		log_warn("event=view_keys_failed error=\"%s\"", err.msg);
		return -1;
	}
	pthread_mutex_lock(&g.lock);
	g.n = n;
	memcpy(g.ids, ids, sizeof ids);
	memcpy(g.secret, secret, sizeof secret);
	g.loaded_at = g.tried_at = clock_mono_s();
	pthread_mutex_unlock(&g.lock);
	OPENSSL_cleanse(secret, sizeof secret);
	log_debug("event=view_keys_loaded keys=%d", n);
	return n;
}

/* Copies key key_id (0: the newest) into out and its id into *id. 1 found, 0 not, -1 database
 * down. Loads the keys when the cache is empty or old, or (at most once a second) when key_id
 * is missing. */
static int key(struct db *db, int key_id, unsigned char out[VIEW_KEY_LEN], int *id)
{
	for (int round = 0; round < 2; round++) {
		bool reload;
		int found = 0;
		double now = clock_mono_s();

		pthread_mutex_lock(&g.lock);
		for (int i = 0; i < g.n && g.loaded_at >= 0 && !found; i++)
			if (!key_id || g.ids[i] == key_id) {
				memcpy(out, g.secret[i], VIEW_KEY_LEN);
				*id = g.ids[i];
				found = 1;
			}
		reload = g.loaded_at < 0 || now - g.loaded_at > KEYS_TTL_S ||
			 (!found && now - g.tried_at > RELOAD_GAP_S);
		if (reload)
			g.tried_at = now;
		pthread_mutex_unlock(&g.lock);
		if (round || !reload)
			return found;
		if (load(db) < 0)
			return found ? 1 : -1;
	}
	return 0;
}

int viewauth_check(struct req *r, const char *tok)
{
	struct view_claims c;
	unsigned char k[VIEW_KEY_LEN];
	int found, id;

	if (!view_token_decode(tok, &c))
		return 0;
	if ((found = key(r->db, c.key_id, k, &id)) <= 0)
		return found;
	found = view_token_verify(tok, k) && c.expires > (long long)time(NULL);
	OPENSSL_cleanse(k, sizeof k);
	if (!found)
		return 0;
	r->who.owner[0] = '\0';
	r->who.admin = false;
	r->who.view = true;
	r->who.view_cancel = c.cancel;
	r->who.view_signal = c.signal;
	r->who.view_expires = c.expires;
	memcpy(r->who.view_task, c.task, sizeof r->who.view_task);
	return 1;
}

bool viewauth_sign(struct req *r, const char *id, long ttl_s, bool cancel, bool signal,
		   char out[VIEW_TOKEN_LEN + 1], long long *expires)
{
	struct view_claims c = {
		.expires = (long long)time(NULL) + ttl_s, .cancel = cancel, .signal = signal};
	unsigned char k[VIEW_KEY_LEN];
	bool ok;

	snprintf(c.task, sizeof c.task, "%s", id);
	if (key(r->db, 0, k, &c.key_id) <= 0)
		return false;
	ok = view_token_sign(&c, k, out);
	OPENSSL_cleanse(k, sizeof k);
	*expires = c.expires;
	return ok;
}

void viewauth_add(struct req *r, json_object *o, const char *id, long ttl_s)
{
	char tok[VIEW_TOKEN_LEN + 1];
	long long expires;

	if (ttl_s > 0 && viewauth_sign(r, id, ttl_s, false, false, tok, &expires))
		json_object_object_add(o, "view_token", json_object_new_string(tok));
}
