/*
 * taskq-fcgi: the FastCGI responder behind nginx. N request threads, each with its own
 * PostgreSQL connection, route the requests that fcgi/conns.c hands them (read from
 * connections nginx keeps open) and answer.
 * Signals are taken by the main thread with sigwait; nothing happens in a signal handler.
 */
#include <errno.h>
#include <fcgiapp.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "base/config.h"
#include "conns.h"
#include "fair.h"
#include "fresh.h"
#include "handlers.h"
#include "kindcache.h"
#include "base/log.h"
#include "metrics.h"
#include "owner_limits.h"
#include "params.h"
#include "query.h"
#include "req.h"
#include "resp.h"
#include "router.h"
#include "routes.h"
#include "served.h"
#include "settings.h"
#include "base/signals.h"
#include "store/live.h"
#include <curl/curl.h>

#include "bg/outpub.h"
#include "bg/publish.h"
#include "bg/wake.h"
#include "bg/watch.h"
#include "replica.h"
#include "base/xalloc.h"

#define ROUTE(method, pattern, handler, flags, params) {method, pattern, handler, flags, params},
static const struct route g_routes[] = {TASKQ_ROUTES(ROUTE){NULL, NULL, NULL, 0, NULL}};

static int g_listen_fd;

/* Whether r may use a route with these flags; when not, it has answered (401, 403, 503). */
static bool admitted(struct req *r, int flags)
{
	const char *gate;
	bool reads = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");

	if (flags & ROUTE_PUBLIC) {
		/* no token needed; but one sent along to a route that changes something (a
		 * signal link) is honoured: a read-only token changes nothing, there either */
		if (reads || !req_param(r, "HTTP_AUTHORIZATION"))
			return true;
		if (!auth_request(r))
			return false;
	} else {
		/* nginx's loopback-only location sets this FastCGI parameter (a client cannot:
		 * its headers arrive as HTTP_*), so a local scraper needs no token */
		if ((flags & ROUTE_LOOPBACK) && (gate = req_param(r, "TASKQ_LOOPBACK_ONLY")) &&
		    !strcmp(gate, "1"))
			return true;
		if (!auth_request(r) || !auth_view_admits(r, flags))
			return false;
		if ((flags & ROUTE_ADMIN) && !r->who.admin) {
			resp_error_status(r, 403, "forbidden", "this route needs an admin token",
					  NULL);
			return false;
		}
	}
	if (r->who.read_only && !reads) {
		resp_error_status(r, 403, "forbidden", "a read-only token changes nothing", NULL);
		return false;
	}
	return true;
}

static void handle(struct req *r)
{
	struct route_match m;
	char msg[256];

	router_match(g_routes, r->method, r->path, &m);
	if (m.route) {
		r->route = (int)(m.route - g_routes) + 1;
		r->cap[0] = m.ncaps > 0 ? m.caps[0] : NULL;
		r->cap[1] = m.ncaps > 1 ? m.caps[1] : NULL;
		if (!admitted(r, m.route->flags))
			return;
		/* one rule for every route's query parameters (fcgi/params.c declares them) */
		if (query_check(r->query, m.route->params, msg, sizeof msg)) {
			resp_error(r, TASKQ_INVAL, msg);
			return;
		}
		m.route->handler(r);
		/* a change made here is known to this process before its answer leaves */
		if (strcmp(r->method, "GET") != 0 && r->cap[0] &&
		    !strncmp(r->path, "/api/tasks/", 11))
			fresh_changed(r->cap[0]);
	} else if (m.status == 405) {
		char extra[96];
		snprintf(extra, sizeof extra, "Allow: %s\r\n", m.allow);
		resp_error_status(r, 405, "method_not_allowed", "method not allowed on this route",
				  extra);
	} else {
		resp_error(r, TASKQ_NOTFOUND, "no such route");
	}
}

/* One line per request: at debug level, or warn for a 5xx. */
static void log_request(const struct req *r)
{
	char path[256];

	if (r->status < 500 && g_log_level > LOG_DEBUG)
		return;
	log_msg(r->status >= 500 ? LOG_WARN : LOG_DEBUG,
		"event=request req=%s method=%s path=\"%s\" status=%d owner=%s", r->id, r->method,
		log_value(path, sizeof path, r->path), r->status,
		r->who.owner[0] ? r->who.owner : "-");
}

/* A request thread's connections: the primary's, and the replica's for status reads. */
struct conns_of_thread {
	struct db *db, *rdb;
};

/* Serves one request on a request thread (conns.h); true when the watcher keeps it. */
static bool serve(FCGX_Request *fr, void *ctx)
{
	struct conns_of_thread *c = ctx;
	struct req r;

	req_init(&r, fr, c->db, settings_max_body());
	r.rdb = c->rdb;
	metrics_request_start(&r);
	handle(&r);
	log_request(&r);
	metrics_request_end(&r);
	return r.parked;
}

/* Opens the listening socket: a unix path (stale socket replaced, mode 0660), host:port,
 * or fd 0 handed over by spawn-fcgi or systemd. */
static int open_listener(void)
{
	struct stat st;
	int fd;

	if (!g_cfg.listen || !*g_cfg.listen)
		return 0;
	if (g_cfg.listen[0] == '/' && stat(g_cfg.listen, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(g_cfg.listen);
	fd = FCGX_OpenSocket(g_cfg.listen, (int)g_cfg.backlog);
	if (fd < 0)
		return -1;
	if (g_cfg.listen[0] == '/' && chmod(g_cfg.listen, 0660) < 0)
		log_warn("event=chmod_failed path=\"%s\" errno=%d", g_cfg.listen, errno);
	return fd;
}

int main(int argc, char **argv)
{
	struct signal_actions actions = {settings_reload, NULL};
	int rc;
	struct conns_of_thread *dbs;
	void **ctx;
	sigset_t set;

	log_set_program("taskq-fcgi");
#ifdef M_ARENA_MAX
	/* glibc gives each busy thread an arena of its own (up to 8 per core), and the memory a
	 * request freed stays in its thread's arena: with 32 request threads that was most of the
	 * growth of RSS under load. Requests allocate little and briefly; two arenas suffice. */
	mallopt(M_ARENA_MAX, 2);
#endif
	if ((rc = settings_load(argc, argv)) != 0)
		return rc < 0 ? 0 : rc;
	metrics_init();
	settings_apply(true);

	if (FCGX_Init() != 0 || (g_listen_fd = open_listener()) < 0) {
		log_error("event=listen_failed addr=\"%s\" errno=%d",
			  g_cfg.listen ? g_cfg.listen : "fd0", errno);
		return 1;
	}
	signals_setup(&set);
	/* SIGUSR2 once woke request threads blocked in accept(); a stray one must not stop us */
	signal(SIGUSR2, SIG_IGN);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	publish_start(g_cfg.publish);
	wake_start(g_cfg.db);
	watch_start(g_cfg.db, (int)g_cfg.max_waiters);
	replica_init(g_cfg.read_db);
	dbs = xcalloc((size_t)g_cfg.threads, sizeof *dbs);
	ctx = xcalloc((size_t)g_cfg.threads, sizeof *ctx);
	for (long i = 0; i < g_cfg.threads; i++) {
		dbs[i].db = store_open(g_cfg.db, "taskq-fcgi");
		/* submits announce new tasks through the wake-up thread, not in their commit */
		db_session(dbs[i].db, DB_OWN_INSERTS);
		dbs[i].rdb = replica_open();
		ctx[i] = &dbs[i];
	}
	if (!conns_start(g_listen_fd, g_cfg.threads, ctx, serve))
		return 1;
	log_info("event=started listen=\"%s\" threads=%ld max_body=%ld replica_reads=%s",
		 g_cfg.listen ? g_cfg.listen : "fd0", g_cfg.threads, g_cfg.max_body,
		 replica_on() ? "on" : "off");
	if (auth_on())
		log_info("event=auth_on token_cache_s=%ld owner_rate=%ld owner_burst=%ld fair=%s",
			 g_cfg.auth_ttl, g_cfg.owner_rate, g_cfg.owner_burst, g_cfg.fair);
	else
		log_warn(
			"event=auth_off msg=\"AUTH IS OFF: every client can see, submit and cancel "
			"every task; keep taskq-fcgi behind a trusted network or set --auth on\"");

	signals_wait(&set, &actions);
	conns_stop();
	for (long i = 0; i < g_cfg.threads; i++) {
		db_free(dbs[i].db);
		db_free(dbs[i].rdb);
	}
	if (g_cfg.listen && g_cfg.listen[0] == '/')
		unlink(g_cfg.listen);
	watch_stop();
	wake_stop();
	publish_stop();
	outpub_stop();
	curl_global_cleanup();
	kindcache_free();
	served_free();
	free(ctx);
	free(dbs);
	log_info("event=stopped");
	config_cleanup();
	return 0;
}
