/*
 * taskq-fcgi: the FastCGI responder behind nginx. N threads, each with its own PostgreSQL
 * connection, take turns accepting connections (a mutex around the accept of a NEW
 * connection only: nginx runs with fastcgi_keep_conn off), route the request and answer.
 * Signals are taken by the main thread with sigwait; nothing happens in a signal handler.
 */
#include <errno.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "fair.h"
#include "handlers.h"
#include "owner_limits.h"
#include "kindcache.h"
#include "log.h"
#include "metrics.h"
#include "signals.h"
#include "req.h"
#include "resp.h"
#include "router.h"
#include "routes.h"
#include "store.h"
#include <curl/curl.h>

#include "publish.h"
#include "wake.h"
#include "watch.h"
#include "xalloc.h"

#define ROUTE(method, pattern, handler, flags) {method, pattern, handler, flags},
static const struct route g_routes[] = {TASKQ_ROUTES(ROUTE){NULL, NULL, NULL, 0}};

static struct {
	const char *config, *db, *listen, *publish, *log_level, *log_format, *auth, *fair;
	long threads, max_body, backlog, max_waiters, max_unfinished;
	long auth_ttl, owner_rate, owner_burst;
} g_cfg;

static const struct config_opt g_opts[] = {
	{"config", "TASKQ_CONFIG", CFG_STR, NULL, 0, 0,
	 "file of key = value lines, keys as these flags (/etc/taskq/taskq-fcgi.conf)", &g_cfg.config},
	{"db", "TASKQ_DATABASE_URL", CFG_STR, NULL, 0, 0,
	 "PostgreSQL conninfo or URL (default: libpq's PG* environment)", &g_cfg.db},
	{"listen", "TASKQ_LISTEN", CFG_STR, NULL, 0, 0,
	 "unix socket path or host:port (default: FastCGI socket on fd 0)", &g_cfg.listen},
	{"threads", "TASKQ_FCGI_THREADS", CFG_INT, "8", 1, 256, "request threads", &g_cfg.threads},
	{"max-body", "TASKQ_MAX_BODY", CFG_INT, "1048576", 1024, 64L << 20,
	 "largest accepted request body in bytes", &g_cfg.max_body},
	{"max-waiters", "TASKQ_MAX_WAITERS", CFG_INT, "1024", 0, 100000,
	 "long-polls (?wait=) parked at once; more get 429", &g_cfg.max_waiters},
	{"publish", "TASKQ_PUBLISH", CFG_STR, NULL, 0, 0,
	 "unix socket of nginx's nchan publisher (live streams); none: streams off, long-polls on",
	 &g_cfg.publish},
	{"backlog", "TASKQ_BACKLOG", CFG_INT, "1024", 1, 65535, "listen backlog", &g_cfg.backlog},
	{"log-level", "TASKQ_LOG_LEVEL", CFG_STR, "info", 0, 0, "debug, info, warn or error",
	 &g_cfg.log_level},
	{"log-format", "TASKQ_LOG_FORMAT", CFG_STR, "text", 0, 0,
	 "text (key=value) or json (one object per line)", &g_cfg.log_format},
	{"auth", "TASKQ_AUTH", CFG_STR, "on", 0, 0,
	 "on: every /api/ request needs a bearer token (taskq token create); off: no auth",
	 &g_cfg.auth},
	{"auth-ttl", "TASKQ_AUTH_TTL", CFG_INT, "5", 1, 300,
	 "seconds a token check is cached (revocations also reach the cache at once)",
	 &g_cfg.auth_ttl},
	{"owner-rate", "TASKQ_OWNER_RATE", CFG_INT, "200", 0, 1000000,
	 "submits per second per owner (token bucket; 0: unlimited; admins exempt)",
	 &g_cfg.owner_rate},
	{"owner-burst", "TASKQ_OWNER_BURST", CFG_INT, "1000", 1, 10000000,
	 "submits an owner may make at once before owner-rate applies", &g_cfg.owner_burst},
	{"owner-max-unfinished", "TASKQ_OWNER_MAX_UNFINISHED", CFG_INT, "10000", 0, 100000000,
	 "queued + running tasks per owner (0: unlimited; admins exempt)", &g_cfg.max_unfinished},
	{"fair", "TASKQ_FAIR", CFG_STR, "on", 0, 0,
	 "on: owners take turns in each queue (fair queueing at submit; with auth only)",
	 &g_cfg.fair},
};
#define NOPTS (sizeof g_opts / sizeof g_opts[0])

/* true when v is "on" or "off"; complains otherwise. */
static bool on_off(const char *v, const char *name)
{
	if (!strcmp(v, "on") || !strcmp(v, "off"))
		return true;
	fprintf(stderr, "taskq-fcgi: --%s must be on or off, not '%s'\n", name, v);
	return false;
}

static int g_listen_fd;
static pthread_mutex_t g_accept_lock = PTHREAD_MUTEX_INITIALIZER;

/* Whether r may use a route with these flags; when not, it has answered (401, 403, 503). */
static bool admitted(struct req *r, int flags)
{
	const char *gate;

	if (flags & ROUTE_PUBLIC)
		return true;
	/* nginx's loopback-only location sets this FastCGI parameter (a client cannot: its
	 * headers arrive as HTTP_*), so a local scraper needs no token */
	if ((flags & ROUTE_LOOPBACK) && (gate = req_param(r, "TASKQ_LOOPBACK_ONLY")) &&
	    !strcmp(gate, "1"))
		return true;
	if (!auth_request(r))
		return false;
	if ((flags & ROUTE_ADMIN) && !r->who.admin) {
		resp_error_status(r, 403, "forbidden", "this route needs an admin token", NULL);
		return false;
	}
	return true;
}

static void handle(struct req *r)
{
	struct route_match m;

	router_match(g_routes, r->method, r->path, &m);
	if (m.route) {
		r->route = (int)(m.route - g_routes) + 1;
		r->cap[0] = m.ncaps > 0 ? m.caps[0] : NULL;
		r->cap[1] = m.ncaps > 1 ? m.caps[1] : NULL;
		if (!admitted(r, m.route->flags))
			return;
		m.route->handler(r);
	} else if (m.status == 405) {
		char extra[96];
		snprintf(extra, sizeof extra, "Allow: %s\r\n", m.allow);
		resp_error_status(r, 405, "method_not_allowed", "method not allowed on this route", extra);
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
		log_value(path, sizeof path, r->path), r->status, r->who.owner[0] ? r->who.owner : "-");
}

/* A request on the heap: a parked long-poll keeps its own until the watcher answers it. */
static FCGX_Request *new_request(void)
{
	FCGX_Request *fr = xmalloc(sizeof *fr);
	FCGX_InitRequest(fr, g_listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
	return fr;
}

static void *serve(void *arg)
{
	struct db *db = arg;
	FCGX_Request *fr = new_request();

	for (;;) {
		struct req r;
		int rc;

		pthread_mutex_lock(&g_accept_lock);
		rc = FCGX_Accept_r(fr);
		pthread_mutex_unlock(&g_accept_lock);
		if (rc < 0)
			break;
		req_init(&r, fr, db, (size_t)g_cfg.max_body);
		metrics_request_start(&r);
		handle(&r);
		log_request(&r);
		metrics_request_end(&r);
		if (r.parked) {
			fr = new_request(); /* the watcher owns the parked one */
			continue;
		}
		FCGX_Finish_r(fr);
	}
	FCGX_Free(fr, 1);
	free(fr);
	return NULL;
}

static void on_wake(int sig)
{
	(void)sig; /* only to interrupt accept() */
}

/* Stops the request threads. On a socket of its own (--listen) shutdown() wakes every
 * accept(); a socket handed over on fd 0 (systemd, spawn-fcgi) stays usable for the next
 * process, so each thread instead gets a no-op SIGUSR1 (no SA_RESTART: accept() returns
 * EINTR, and libfcgi gives up since shutdown is pending), again until it has returned. */
static void join_serve_threads(pthread_t *threads, long n, bool own_socket)
{
	const struct timespec pause = {0, 20 * 1000000L};
	bool *done = xcalloc((size_t)n, sizeof *done);
	long left = n;

	if (own_socket)
		shutdown(g_listen_fd, SHUT_RDWR);
	while (left > 0) {
		for (long i = 0; i < n && !own_socket; i++)
			if (!done[i])
				pthread_kill(threads[i], SIGUSR1);
		nanosleep(&pause, NULL);
		for (long i = 0; i < n; i++)
			if (!done[i] && pthread_tryjoin_np(threads[i], NULL) == 0) {
				done[i] = true;
				left--;
			}
	}
	free(done);
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
	struct taskq_err err;
	int npos, help, lvl;
	pthread_t *threads;
	struct db **dbs;
	sigset_t set;

	log_set_program("taskq-fcgi");
	if (config_parse(g_opts, NOPTS, argc, argv, &npos, &help, &err)) {
		fprintf(stderr, "taskq-fcgi: %s\n", err.msg);
		return 2;
	}
	if (help || npos > 0) {
		config_usage(help ? stdout : stderr, "taskq-fcgi [options]", g_opts, NOPTS);
		return help ? 0 : 2;
	}
	if ((lvl = log_level_parse(g_cfg.log_level)) < 0) {
		fprintf(stderr, "taskq-fcgi: bad --log-level '%s'\n", g_cfg.log_level);
		return 2;
	}
	g_log_level = (enum log_level)lvl;
	if (log_format_set(g_cfg.log_format) < 0) {
		fprintf(stderr, "taskq-fcgi: bad --log-format '%s'\n", g_cfg.log_format);
		return 2;
	}
	metrics_init();
	if (!on_off(g_cfg.auth, "auth") || !on_off(g_cfg.fair, "fair"))
		return 2;
	auth_init(!strcmp(g_cfg.auth, "on"), (double)g_cfg.auth_ttl);
	limits_init((double)g_cfg.owner_rate, (double)g_cfg.owner_burst, g_cfg.max_unfinished);
	fair_init(auth_on() && !strcmp(g_cfg.fair, "on"));

	if (FCGX_Init() != 0 || (g_listen_fd = open_listener()) < 0) {
		log_error("event=listen_failed addr=\"%s\" errno=%d", g_cfg.listen ? g_cfg.listen : "fd0", errno);
		return 1;
	}
	signals_setup(&set);
	{
		struct sigaction sa = {.sa_handler = on_wake}; /* no SA_RESTART */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
	}

	curl_global_init(CURL_GLOBAL_DEFAULT);
	publish_start(g_cfg.publish);
	wake_start(g_cfg.db);
	watch_start(g_cfg.db, (int)g_cfg.max_waiters);
	threads = xcalloc((size_t)g_cfg.threads, sizeof *threads);
	dbs = xcalloc((size_t)g_cfg.threads, sizeof *dbs);
	for (long i = 0; i < g_cfg.threads; i++) {
		dbs[i] = store_open(g_cfg.db, "taskq-fcgi");
		if (pthread_create(&threads[i], NULL, serve, dbs[i]) != 0) {
			log_error("event=thread_failed");
			return 1;
		}
	}
	log_info("event=started listen=\"%s\" threads=%ld max_body=%ld",
		 g_cfg.listen ? g_cfg.listen : "fd0", g_cfg.threads, g_cfg.max_body);
	if (auth_on())
		log_info("event=auth_on token_cache_s=%ld owner_rate=%ld owner_burst=%ld "
			 "owner_max_unfinished=%ld fair=%s",
			 g_cfg.auth_ttl, g_cfg.owner_rate, g_cfg.owner_burst, g_cfg.max_unfinished,
			 g_cfg.fair);
	else
		log_warn("event=auth_off msg=\"AUTH IS OFF: every client can see, submit and cancel "
			 "every task; keep taskq-fcgi behind a trusted network or set --auth on\"");

	signals_wait(&set);
	FCGX_ShutdownPending();
	join_serve_threads(threads, g_cfg.threads, g_cfg.listen && *g_cfg.listen);
	for (long i = 0; i < g_cfg.threads; i++) {
		db_free(dbs[i]);
	}
	if (g_cfg.listen && g_cfg.listen[0] == '/')
		unlink(g_cfg.listen);
	watch_stop();
	wake_stop();
	publish_stop();
	curl_global_cleanup();
	kindcache_free();
	free(threads);
	free(dbs);
	log_info("event=stopped");
	config_cleanup();
	return 0;
}
