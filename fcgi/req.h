/*
 * req: one FastCGI request as the handlers see it: method, path, query, headers, the
 * thread's database connection, and route captures. It only reads: answering is fcgi/resp.c's
 * and reading the body fcgi/body.c's, so that this module depends on neither.
 */
#ifndef TASKQ_REQ_H
#define TASKQ_REQ_H

#include <fcgiapp.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/db.h"

/* Who sent a request (fcgi/auth.c fills it in). With auth off: "anonymous", admin. The
 * bearer of a view token (view) has no owner: it may read view_task, and cancel it when
 * view_cancel, send it signals when view_signal, until view_expires (Unix seconds). */
struct who {
	char owner[65];
	bool admin;     /* sees every owner's tasks, may use admin routes */
	bool read_only; /* (with admin) a read-only token: every route that is not a read: 403 */
	bool view, view_cancel, view_signal;
	char view_task[37];
	long long view_expires;
};

struct req {
	FCGX_Request *fr;
	struct db *db;
	struct db *rdb; /* the replica's, for status reads (NULL: none; see replica.h) */
	const char *method;
	const char *query; /* for nginx's stream authorisations, the subscriber's (req_init) */
	char path[1024];
	char id[64];        /* request id for logs (X-Request-Id or a counter) */
	const char *cap[2]; /* route captures */
	size_t max_body;
	int status;     /* set by resp for the request log */
	int route;      /* 1 + the matched route's index in fcgi/routes.h; 0: none */
	double started; /* monotonic seconds when a thread took it (for /metrics) */
	bool parked;    /* handed to the long-poll watcher, which answers it */
	struct who who; /* set before the handler runs (public routes: empty owner) */
};

/* Fills r from the FastCGI parameters. */
void req_init(struct req *r, FCGX_Request *fr, struct db *db, size_t max_body);
/* A request header / CGI parameter, or NULL. */
const char *req_param(const struct req *r, const char *name);

#endif
