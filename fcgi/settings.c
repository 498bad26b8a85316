/*
 * settings: taskq-fcgi's options (one table: flag, TASKQ_* variable, file key, default), their
 * checks, and applying them at start and again on SIGHUP. A reload takes what a running
 * taskq-fcgi can change without dropping a request (limits, token cache, fair queueing,
 * body, batch and long-poll bounds, view token lifetime, log settings); sockets, threads, database and auth on/off take a
 * restart and keep their values (a warning names each).
 */
#include "settings.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "bg/combine.h"
#include "bg/wake.h"
#include "bg/watch.h"
#include "base/config.h"
#include "fair.h"
#include "base/log.h"
#include "owner_limits.h"

struct fcgi_settings g_cfg;

static const struct config_opt g_opts[] = {
	CONFIG_OPT_CONFIG("/etc/taskq/taskq-fcgi.conf", &g_cfg.config),
	CONFIG_OPT_DB(&g_cfg.db),
	{"read-db", "TASKQ_READ_DATABASE_URL", CFG_STR, NULL, 0, 0,
	 "conninfo of a streaming replica for status reads (GET /api/tasks/{id}), with "
	 "read-your-writes (default: none, the primary serves every read)",
	 &g_cfg.read_db},
	{"listen", "TASKQ_LISTEN", CFG_STR, NULL, 0, 0,
	 "unix socket path or host:port (default: FastCGI socket on fd 0)", &g_cfg.listen},
	{"threads", "TASKQ_FCGI_THREADS", CFG_INT, "8", 1, 256, "request threads", &g_cfg.threads},
	{"max-body", "TASKQ_MAX_BODY", CFG_INT, "1048576", 1024, 64L << 20,
	 "largest accepted request body in bytes", &g_cfg.max_body},
	{"max-batch", "TASKQ_MAX_BATCH", CFG_INT, "1000", 1, 100000,
	 "tasks one POST /api/tasks/batch may carry", &g_cfg.max_batch},
	{"max-waiters", "TASKQ_MAX_WAITERS", CFG_INT, "1024", 0, 100000,
	 "long-polls (?wait=) parked at once; more get 429", &g_cfg.max_waiters},
	{"publish", "TASKQ_PUBLISH", CFG_STR, NULL, 0, 0,
	 "unix socket of nginx's nchan publisher (live streams); none: streams off, long-polls on",
	 &g_cfg.publish},
	{"backlog", "TASKQ_BACKLOG", CFG_INT, "1024", 1, 65535, "listen backlog", &g_cfg.backlog},
	CONFIG_OPTS_LOG(&g_cfg.log_level, &g_cfg.log_format, &g_cfg.log_file),
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
	{"wake-gap-ms", "TASKQ_WAKE_GAP_MS", CFG_INT, "1", 0, 1000,
	 "least milliseconds between two NOTIFYs that wake the workers (a lone submit wakes at once)",
	 &g_cfg.wake_gap_ms},
	{"group-commit", "TASKQ_GROUP_COMMIT", CFG_STR, "on", 0, 0,
	 "on: submits that arrive together share one INSERT and one commit", &g_cfg.group_commit},
	{"view-token-ttl", "TASKQ_VIEW_TOKEN_TTL", CFG_INT, "3600", 0, 30 * 86400,
	 "seconds the view token in a submit's answer is valid (0: no view token in the answer)",
	 &g_cfg.view_ttl},
	{"fair", "TASKQ_FAIR", CFG_STR, "on", 0, 0,
	 "on: owners take turns in each queue (fair queueing at submit; with auth only)",
	 &g_cfg.fair},
};
#define NOPTS (sizeof g_opts / sizeof g_opts[0])

/* true when v is "on" or "off"; complains otherwise. */
static bool on_off(const char *v, const char *name, char *err, size_t errsize)
{
	if (!strcmp(v, "on") || !strcmp(v, "off"))
		return true;
	snprintf(err, errsize, "--%s must be on or off, not '%s'", name, v);
	return false;
}

/* What a reload cannot change: these take a restart. */
static const char *const g_fixed[] = {"config",  "db",      "read-db", "listen",   "threads",
				      "publish", "backlog", "auth",    "log-file", NULL};

static atomic_size_t g_max_body = 1 << 20, g_max_batch = 1000;
static atomic_long g_view_ttl = 3600;
static int g_argc;
static char **g_argv;

size_t settings_max_batch(void)
{
	return atomic_load_explicit(&g_max_batch, memory_order_relaxed);
}

long settings_view_ttl(void)
{
	return atomic_load_explicit(&g_view_ttl, memory_order_relaxed);
}

size_t settings_max_body(void)
{
	return atomic_load_explicit(&g_max_body, memory_order_relaxed);
}

/* The checks beyond a flag's type and range. */
static bool check(char *err, size_t errsize)
{
	if (log_level_parse(g_cfg.log_level) < 0) {
		snprintf(err, errsize, "bad --log-level '%s'", g_cfg.log_level);
		return false;
	}
	if (!log_format_valid(g_cfg.log_format)) {
		snprintf(err, errsize, "bad --log-format '%s'", g_cfg.log_format);
		return false;
	}
	return on_off(g_cfg.auth, "auth", err, errsize) &&
	       on_off(g_cfg.fair, "fair", err, errsize) &&
	       on_off(g_cfg.group_commit, "group-commit", err, errsize);
}

int settings_load(int argc, char **argv)
{
	g_argc = argc;
	g_argv = argv;
	return config_start("taskq-fcgi", g_opts, NOPTS, argc, argv, check);
}

void settings_apply(bool first)
{
	g_log_level = (enum log_level)log_level_parse(g_cfg.log_level);
	log_format_set(g_cfg.log_format);
	if (first)
		auth_init(!strcmp(g_cfg.auth, "on"), (double)g_cfg.auth_ttl);
	else
		auth_set_ttl((double)g_cfg.auth_ttl);
	limits_init((double)g_cfg.owner_rate, (double)g_cfg.owner_burst);
	fair_init(auth_on() && !strcmp(g_cfg.fair, "on"));
	combine_init(!strcmp(g_cfg.group_commit, "on"));
	wake_set_gap(g_cfg.wake_gap_ms);
	atomic_store(&g_max_body, (size_t)g_cfg.max_body);
	atomic_store(&g_max_batch, (size_t)g_cfg.max_batch);
	atomic_store(&g_view_ttl, g_cfg.view_ttl);
	if (!first)
		watch_set_max((int)g_cfg.max_waiters);
}

void settings_reload(void *arg)
{
	int kept = 0;

	(void)arg;
	if (!config_reload_checked(g_opts, NOPTS, &g_cfg, sizeof g_cfg, g_fixed, g_argc, g_argv,
				   &kept, check))
		return;
	settings_apply(false);
	config_reload_done(true);
	log_info("event=reloaded kept_for_restart=%d max_body=%ld owner_rate=%ld owner_burst=%ld "
		 "fair=%s",
		 kept, g_cfg.max_body, g_cfg.owner_rate, g_cfg.owner_burst, g_cfg.fair);
}
