/* auth: authenticating requests by bearer token, with a small cache (see auth.h). */
#include "auth.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "query.h"
#include "resp.h"
#include "router.h"
#include "store/auth.h"
#include "cred/token.h"
#include "viewauth.h"

#define SLOTS 1024 /* direct-mapped by hash: a collision just costs a lookup */

struct slot {
	char hash[TOKEN_HASH_HEX + 1];
	struct who who;
	bool found;
	unsigned gen;
	double fetched, expires; /* monotonic seconds; expires < 0: never */
};

static struct {
	pthread_mutex_t lock;
	bool on;
	_Atomic double ttl; /* SIGHUP may change it */
	unsigned gen;       /* bumped by auth_flush: older slots are stale */
	struct slot slot[SLOTS];
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .ttl = 5};

void auth_init(bool on, double ttl_s)
{
	g.on = on;
	g.ttl = ttl_s;
	g.gen = 1;
}

void auth_set_ttl(double ttl_s)
{
	g.ttl = ttl_s;
}

bool auth_on(void)
{
	return g.on;
}

void auth_flush(void)
{
	pthread_mutex_lock(&g.lock);
	g.gen++;
	pthread_mutex_unlock(&g.lock);
	viewauth_flush();
	log_debug("event=token_cache_flushed");
}

struct token_arg {
	char *out;
	size_t size;
};

static int view_token_arg(const char *key, const char *val, void *ctx)
{
	struct token_arg *a = ctx;

	if (strcmp(key, "view_token") != 0)
		return 0;
	snprintf(a->out, a->size, "%s", val);
	return 1;
}

/* The view_token query parameter (for nginx's authorisation subrequests, the subscriber's:
 * see req_init). */
static void view_token_param(const struct req *r, char *out, size_t size)
{
	struct token_arg a = {out, size};

	if (r->query && strstr(r->query, "view_token="))
		query_each(r->query, view_token_arg, &a);
}

/* Cookie name's value from the Cookie header c into out; false when c has none. */
static bool cookie(const char *c, const char *name, char *out, size_t size)
{
	size_t len = strlen(name);

	for (const char *p = c; (p = strstr(p, name)); p++)
		if ((p == c || p[-1] == ' ' || p[-1] == ';') && p[len] == '=') {
			p += len + 1;
			snprintf(out, size, "%.*s", (int)strcspn(p, "; "), p);
			return true;
		}
	return false;
}

/* The token a request carries: the Authorization header; on GET (EventSource cannot send
 * headers) a view_token query parameter, else the cookie taskq_view (a view token, which the
 * shipped browser client sets for the task's path, so that it appears in no URL), else the
 * cookie taskq_token (the dashboard's). Copied into out; "" when there is none. */
static void presented(const struct req *r, char *out, size_t size)
{
	const char *a = req_param(r, "HTTP_AUTHORIZATION"), *c;

	out[0] = '\0';
	if (a) {
		if (strncasecmp(a, "Bearer ", 7) == 0) {
			a += 7;
			a += strspn(a, " ");
			snprintf(out, size, "%.*s", (int)strcspn(a, " \t"), a);
		} else
			snprintf(out, size, "?"); /* another scheme: not ours */
		return;
	}
	if (strcmp(r->method, "GET") != 0)
		return;
	view_token_param(r, out, size);
	if (out[0] || !(c = req_param(r, "HTTP_COOKIE")))
		return;
	if (cookie(c, "taskq_view", out, size) && view_token_like(out))
		return;
	if (!cookie(c, "taskq_token", out, size))
		out[0] = '\0';
}

static unsigned slot_of(const char *hash)
{
	unsigned v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 4 | (unsigned)(hash[i] <= '9' ? hash[i] - '0' : hash[i] - 'a' + 10);
	return v % SLOTS;
}

/* Looks the hash up in the cache, then in PostgreSQL. 1 known, 0 unknown, -1 db down. */
static int lookup(struct req *r, const char *hash)
{
	struct slot *s = &g.slot[slot_of(hash)];
	struct taskq_err err;
	double now = clock_mono_s(), left;
	char owner[65];
	struct token_role role = {false, false};
	bool found;
	int rc = -1;

	pthread_mutex_lock(&g.lock);
	if (s->gen == g.gen && !strcmp(s->hash, hash) && now - s->fetched < g.ttl &&
	    (s->expires < 0 || now < s->expires)) {
		rc = s->found;
		if (s->found)
			r->who = s->who;
	}
	pthread_mutex_unlock(&g.lock);
	if (rc >= 0)
		return rc;
	if (store_token_lookup(r->db, hash, &found, owner, &role, &left, &err))
		return -1;
	pthread_mutex_lock(&g.lock);
	snprintf(s->hash, sizeof s->hash, "%s", hash);
	s->found = found;
	s->gen = g.gen;
	s->fetched = now;
	s->expires = found && left >= 0 ? now + left : -1;
	snprintf(s->who.owner, sizeof s->who.owner, "%s", found ? owner : "");
	/* a read-only token sees what an admin sees; admitted() keeps it to reads */
	s->who.admin = role.admin || role.read_only;
	s->who.read_only = role.read_only;
	if (found)
		r->who = s->who;
	pthread_mutex_unlock(&g.lock);
	return found;
}

bool auth_request(struct req *r)
{
	char tok[VIEW_TOKEN_LEN + 2], hash[TOKEN_HASH_HEX + 1];
	int known;

	if (!g.on) {
		snprintf(r->who.owner, sizeof r->who.owner, "anonymous");
		r->who.admin = true;
		return true;
	}
	presented(r, tok, sizeof tok);
	if (!tok[0]) {
		resp_error_status(r, 401, "unauthorized", "a bearer token is required",
				  "WWW-Authenticate: Bearer realm=\"taskq\"\r\n");
		return false;
	}
	if (view_token_like(tok)) {
		known = viewauth_check(r, tok);
	} else if (!token_well_formed(tok)) {
		known = 0;
	} else {
		token_hash_hex(tok, hash);
		known = lookup(r, hash);
	}
	if (known < 0) {
		resp_error(r, TASKQ_DB_DOWN, "database unavailable");
		return false;
	}
	if (!known) {
		resp_error_status(
			r, 401, "invalid_token", "the token is unknown, expired or revoked",
			"WWW-Authenticate: Bearer realm=\"taskq\", error=\"invalid_token\"\r\n");
		return false;
	}
	return true;
}

bool auth_sees_owner(const struct req *r, const char *id, const char *owner)
{
	if (r->who.view)
		return !strcasecmp(id, r->who.view_task);
	return r->who.admin || (owner && !strcmp(owner, r->who.owner));
}

bool auth_sees(const struct req *r, const struct task *t)
{
	return auth_sees_owner(r, t->id, t->owner);
}

bool auth_view_admits(struct req *r, int flags)
{
	if (!r->who.view)
		return true;
	if (!(flags & (ROUTE_VIEW | ROUTE_VIEW_CANCEL | ROUTE_VIEW_SIGNAL))) {
		resp_error_status(r, 403, "forbidden", "a view token reads only its own task",
				  NULL);
		return false;
	}
	if ((flags & ROUTE_VIEW_CANCEL) && !r->who.view_cancel) {
		resp_error_status(r, 403, "forbidden", "this view token may not cancel the task",
				  NULL);
		return false;
	}
	if ((flags & ROUTE_VIEW_SIGNAL) && !r->who.view_signal) {
		resp_error_status(r, 403, "forbidden",
				  "this view token may not send the task signals", NULL);
		return false;
	}
	if (r->cap[0] && strcasecmp(r->cap[0], r->who.view_task) != 0) {
		resp_error_status(r, 403, "forbidden", "this view token is for another task", NULL);
		return false;
	}
	return true;
}
