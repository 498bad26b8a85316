/*
 * router: the route table of taskq-fcgi and the matching of (method, path) against it.
 * Pure code (no FastCGI, no database), so it is unit-tested directly.
 */
#ifndef TASKQ_ROUTER_H
#define TASKQ_ROUTER_H

#include <stddef.h>

struct req;
typedef void (*handler_fn)(struct req *r);

#define ROUTER_MAX_CAPS 2
#define ROUTER_MAX_SEG 128

/* route flags. PUBLIC: no token needed. ADMIN: an admin token needed. LOOPBACK: no token
 * needed when nginx's loopback-only location passed the request (FastCGI parameter
 * TASKQ_LOOPBACK_ONLY=1, see nginx/taskq.conf.in); else the other flags apply. */
/* ROUTE_VIEW: open to a view token for the task in the route's capture (or without one, to
 * any view token); ROUTE_VIEW_CANCEL: only when the token allows cancelling;
 * ROUTE_VIEW_SIGNAL: only when it allows sending signals. */
enum {
	ROUTE_PUBLIC = 1,
	ROUTE_ADMIN = 2,
	ROUTE_LOOPBACK = 4,
	ROUTE_VIEW = 8,
	ROUTE_VIEW_CANCEL = 16,
	ROUTE_VIEW_SIGNAL = 32,
};

struct query_param;

struct route {
	const char *method;
	const char *pattern; /* segments; "*" captures one non-empty segment */
	handler_fn handler;
	int flags;
	const struct query_param *params; /* the query parameters it takes; NULL: none */
};

struct route_match {
	const struct route *route; /* NULL: no route matched */
	int status;                /* 0 on a match, else 404 or 405 */
	char allow[64];            /* with 405: the methods the path allows */
	char caps[ROUTER_MAX_CAPS][ROUTER_MAX_SEG];
	int ncaps;
};

/* Matches method + path (no query string) against a table ending in a {NULL} entry. */
void router_match(const struct route *table, const char *method, const char *path,
		  struct route_match *m);

#endif
