/*
 * viewauth: per-task view tokens in taskq-fcgi (lib/viewtoken.h has the format). The signing
 * keys come from taskq.view_keys and are cached: loaded on first use, again after a minute,
 * at once when a token names a key not in the cache (at most once a second) and when
 * taskq.view_keys changes (its NOTIFY taskq_tokens empties the cache with the bearer tokens').
 * So checking a token costs no database round trip, and signing one for a 202 answer neither.
 */
#ifndef TASKQ_VIEWAUTH_H
#define TASKQ_VIEWAUTH_H

#include <json-c/json.h>
#include <stdbool.h>

#include "req.h"
#include "cred/viewtoken.h"

#define VIEW_TTL_MAX_S (30 * 86400) /* the longest lifetime the HTTP API hands out */

/* Checks tok (a view token's shape); on success fills r->who as its bearer.
 * 1 valid, 0 forged / malformed / expired / signed by a deleted key, -1 database down. */
int viewauth_check(struct req *r, const char *tok);
/* Signs a token for task id, valid ttl_s seconds from now, that may cancel it (cancel) and
 * send it signals (signal), into out; *expires its Unix time. false when no key could be
 * loaded (database down, or taskq.view_keys empty). */
bool viewauth_sign(struct req *r, const char *id, long ttl_s, bool cancel, bool signal,
		   char out[VIEW_TOKEN_LEN + 1], long long *expires);
/* Adds "view_token" (read-only, ttl_s seconds) for task id to the answer o; nothing when
 * ttl_s is 0 or no key could be had (the answer stands without it). */
void viewauth_add(struct req *r, json_object *o, const char *id, long ttl_s);
/* Forgets the cached keys (taskq.view_keys changed). */
void viewauth_flush(void);

#endif
