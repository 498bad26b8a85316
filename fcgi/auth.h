/*
 * auth: bearer tokens on every /api/ request. The token comes in `Authorization: Bearer …`,
 * or, for GET only (EventSource cannot send headers), in the cookie taskq_token: a cookie
 * never authorises a change, so a cross-site form cannot submit or cancel. A per-task view
 * token (viewauth.h) comes the same way, in the cookie taskq_view (the browser client's, set
 * for the task's path) or as the query parameter view_token on a GET. Tokens are
 * checked against taskq.tokens by their SHA-256 and cached for a few seconds (no database
 * round trip per request); a change of taskq.tokens (revocation) empties every cache at once
 * through the watcher's NOTIFY, and the TTL bounds it when that notification is missed.
 */
#ifndef TASKQ_AUTH_H
#define TASKQ_AUTH_H

#include <stdbool.h>

#include "req.h"
#include "model/task.h"

/* on: tokens required; off: everyone is the admin "anonymous". ttl_s: cache lifetime. */
void auth_init(bool on, double ttl_s);
/* A new cache lifetime (SIGHUP); whether auth is on takes a restart. */
void auth_set_ttl(double ttl_s);
bool auth_on(void);
/* Fills r->who. false: it answered 401 (no token, bad token) or 503 (database down). */
bool auth_request(struct req *r);
/* May r's sender see (and act on) t: its owner, an admin, or a view token for it. */
bool auth_sees(const struct req *r, const struct task *t);
/* The same for the task id whose owner is owner (NULL: none). */
bool auth_sees_owner(const struct req *r, const char *id, const char *owner);
/* For the bearer of a view token: may it use a route with these flags (router.h's ROUTE_VIEW*)
 * on r->cap[0]; when not, it has answered 403. Everyone else: true. */
bool auth_view_admits(struct req *r, int flags);
/* Forgets every cached token (taskq.tokens changed). */
void auth_flush(void);

#endif
