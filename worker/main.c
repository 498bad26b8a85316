/*
 * taskq-worker: the daemon that runs tasks. Parses its configuration, starts the pool,
 * and waits for a signal in the main thread (sigwait: no work in signal handlers).
 * SIGTERM/SIGINT drain gracefully; SIGKILL is covered by leases.
 */
#include <pthread.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "breakers.h"
#include "base/config.h"
#include "callbacks.h"
#include "kinds/httpreq.h"
#include "kinds.h"
#include "base/log.h"
#include "base/signals.h"
#include "pool.h"
#include "queues.h"
#include "scheduler.h"
#include "base/sdnotify.h"

static struct {
	const char *config, *db, *queues, *commands, *http_allow, *http_headers, *callback_secret,
		*log_level, *log_format, *log_file, *scheduler;
	long http_max_body, output_max, concurrency, claim_ahead, lease_s, poll_s, grace_s,
		retention_h, rollup_days;
	long breaker_failures, breaker_cooldown_s, breaker_max_cooldown_s, http_retry_after_max_s;
} g_cfg;

static const struct config_opt g_opts[] = {
	CONFIG_OPT_CONFIG("/etc/taskq/taskq-worker.conf", &g_cfg.config),
	CONFIG_OPT_DB(&g_cfg.db),
	{"concurrency", "TASKQ_CONCURRENCY", CFG_INT, "8", 1, 1024, "executor threads",
	 &g_cfg.concurrency},
	{"claim-ahead", "TASKQ_CLAIM_AHEAD", CFG_INT, "256", 0, 4096,
	 "most tasks claimed beyond the free executors, for short tasks (0: none)",
	 &g_cfg.claim_ahead},
	{"queues", "TASKQ_QUEUES", CFG_STR, "default", 0, 0,
	 "queues to serve: name[=max running here],...", &g_cfg.queues},
	{"lease", "TASKQ_LEASE_S", CFG_INT, "20", 2, 3600,
	 "seconds a claim holds a task without a heartbeat", &g_cfg.lease_s},
	{"poll", "TASKQ_POLL_S", CFG_INT, "5", 1, 3600,
	 "seconds between claims when no wake-up arrives", &g_cfg.poll_s},
	{"grace", "TASKQ_GRACE_S", CFG_INT, "10", 0, 3600,
	 "seconds running tasks get to finish on SIGTERM", &g_cfg.grace_s},
	{"commands", "TASKQ_COMMANDS", CFG_STR, NULL, 0, 0,
	 "command kinds: name=/absolute/path,... (payload JSON on stdin)", &g_cfg.commands},
	{"http-allow", "TASKQ_HTTP_ALLOW", CFG_STR, "*", 0, 0,
	 "http kind: hosts (*, name, *.domain) and CIDRs it may reach; private ranges need a CIDR",
	 &g_cfg.http_allow},
	{"http-max-body", "TASKQ_HTTP_MAX_BODY", CFG_INT, "1048576", 1024, 64L << 20,
	 "http kind: response bytes kept in the result (the rest is cut, truncated: true)",
	 &g_cfg.http_max_body},
	{"http-headers", "TASKQ_HTTP_HEADERS", CFG_STR, NULL, 0, 0,
	 "http kind: named headers payloads attach by name: name=Header: value;...",
	 &g_cfg.http_headers},
	{"output-max", "TASKQ_OUTPUT_MAX", CFG_INT, "1048576", 1024, 64L << 20,
	 "octets of streamed output a task keeps (past it the output is cut, and the cut reported)",
	 &g_cfg.output_max},
	{"breaker-failures", "TASKQ_BREAKER_FAILURES", CFG_INT, "5", 0, 1000000,
	 "http kind: consecutive failures of a host that open its circuit breaker (0: off)",
	 &g_cfg.breaker_failures},
	{"breaker-cooldown", "TASKQ_BREAKER_COOLDOWN_S", CFG_INT, "30", 1, 86400,
	 "http kind: seconds an open breaker holds a host's tasks before one probes",
	 &g_cfg.breaker_cooldown_s},
	{"breaker-max-cooldown", "TASKQ_BREAKER_MAX_COOLDOWN_S", CFG_INT, "600", 1, 86400,
	 "http kind: the longest cool-down (it doubles with every failed probe)",
	 &g_cfg.breaker_max_cooldown_s},
	{"http-retry-after-max", "TASKQ_HTTP_RETRY_AFTER_MAX_S", CFG_INT, "600", 1, 604800,
	 "http kind: the longest an upstream that asks to wait (429/503 Retry-After, a spent "
	 "rate limit) holds its tasks",
	 &g_cfg.http_retry_after_max_s},
	{"callback-secret", "TASKQ_CALLBACK_SECRET", CFG_STR, NULL, 0, 0,
	 "key of the X-Taskq-Signature HMAC-SHA256 on completion webhooks", &g_cfg.callback_secret},
	{"retention-h", "TASKQ_RETENTION_H", CFG_INT, "168", 1, 87600,
	 "hours finished tasks are kept before pruning", &g_cfg.retention_h},
	{"rollup-days", "TASKQ_ROLLUP_DAYS", CFG_INT, "7", 0, 3650,
	 "days the per-minute rollup of each queue (the console's charts) is kept; 0: no rollup",
	 &g_cfg.rollup_days},
	{"scheduler", "TASKQ_SCHEDULER", CFG_STR, "on", 0, 0,
	 "on: fire recurring schedules here too (each fire time runs once, however many fire)",
	 &g_cfg.scheduler},
	CONFIG_OPTS_LOG(&g_cfg.log_level, &g_cfg.log_format, &g_cfg.log_file),
};
#define NOPTS (sizeof g_opts / sizeof g_opts[0])

/* What a reload (SIGHUP) cannot change in a running worker: these take a restart. */
static const char *const g_fixed[] = {"config", "db",       "concurrency", "claim-ahead", "queues",
				      "lease",  "log-file", "scheduler",   "output-max",  NULL};

/* Checks --queues: comma-separated name[=limit]. */
static bool queues_valid(const char *s)
{
	char *names[64];
	int limits[64], n = queues_parse(s, names, limits, 64);

	for (int i = 0; i < n; i++)
		free(names[i]);
	return n > 0;
}

/* Checks the settings that are not plain numbers; applies the log ones. */
static bool check_settings(char *err, size_t errsize)
{
	int lvl = log_level_parse(g_cfg.log_level);

	if (lvl < 0 || !queues_valid(g_cfg.queues) || !log_format_valid(g_cfg.log_format) ||
	    (strcmp(g_cfg.scheduler, "on") && strcmp(g_cfg.scheduler, "off"))) {
		snprintf(err, errsize, "bad --log-level, --log-format, --queues or --scheduler");
		return false;
	}
	return true;
}

static void apply_log_settings(void)
{
	g_log_level = (enum log_level)log_level_parse(g_cfg.log_level);
	log_format_set(g_cfg.log_format);
}

static struct pool_config pool_config(void)
{
	return (struct pool_config){.db = g_cfg.db,
				    .queues = g_cfg.queues,
				    .concurrency = (int)g_cfg.concurrency,
				    .claim_ahead = (int)g_cfg.claim_ahead,
				    .output_max = g_cfg.output_max,
				    .lease_s = (int)g_cfg.lease_s,
				    .poll_s = (int)g_cfg.poll_s,
				    .grace_s = (int)g_cfg.grace_s,
				    .retention_h = (int)g_cfg.retention_h,
				    .rollup_days = (int)g_cfg.rollup_days};
}

struct running {
	int argc;
	char **argv;
	struct pool *pool;
	struct callbacks *cb;
	struct scheduler *sched;
};

/* SIGHUP: the configuration file (and flags) again; what a running worker can take is taken at
 * once (kinds, http allow-list and header sets, callback key, limits, log settings), tasks
 * that run keep what they started with, and nothing is applied unless all of it is valid. */
static void reload(void *arg)
{
	struct running *run = arg;
	struct taskq_err err;
	int fixed = 0;
	struct pool_config pc;

	if (!config_reload_checked(g_opts, NOPTS, &g_cfg, sizeof g_cfg, g_fixed, run->argc,
				   run->argv, &fixed, check_settings))
		return;
	if (httpreq_configure(g_cfg.http_allow, g_cfg.http_max_body, g_cfg.http_headers, &err) ||
	    kinds_init(g_cfg.commands, &err)) {
		log_error("event=reload_failed msg=\"%s\"", err.msg);
		config_reload_done(false);
		/* the old values again (they were valid at start or at the last reload) */
		httpreq_configure(g_cfg.http_allow, g_cfg.http_max_body, g_cfg.http_headers, &err);
		return;
	}
	apply_log_settings();
	if (config_changed(g_opts, NOPTS, "callback-secret"))
		callbacks_set_secret(run->cb, g_cfg.callback_secret);
	pc = pool_config();
	pool_reload(run->pool, &pc);
	breakers_configure((int)g_cfg.breaker_failures, (double)g_cfg.breaker_cooldown_s,
			   (double)g_cfg.breaker_max_cooldown_s,
			   (double)g_cfg.http_retry_after_max_s);
	config_reload_done(true);
	log_info("event=reloaded kept_for_restart=%d", fixed);
}

int main(int argc, char **argv)
{
	struct pool_config pc;
	struct taskq_err err;
	struct running run = {.argc = argc, .argv = argv};
	struct signal_actions actions = {reload, &run};
	sigset_t set;
	int rc;

	log_set_program("taskq-worker");
#ifdef M_ARENA_MAX
	/* as taskq-fcgi's (fcgi/main.c): an arena per busy executor keeps what its tasks freed;
	 * tasks allocate little and briefly, two arenas suffice */
	mallopt(M_ARENA_MAX, 2);
#endif
	sdnotify_init(); /* before any thread: it clears NOTIFY_SOCKET & co. from the environment */
	if ((rc = config_start("taskq-worker", g_opts, NOPTS, argc, argv, check_settings)) != 0)
		return rc < 0 ? 0 : rc;
	apply_log_settings();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (httpreq_configure(g_cfg.http_allow, g_cfg.http_max_body, g_cfg.http_headers, &err) ||
	    kinds_init(g_cfg.commands, &err) != TASKQ_OK) {
		fprintf(stderr, "taskq-worker: %s\n", err.msg);
		return 2;
	}

	breakers_configure((int)g_cfg.breaker_failures, (double)g_cfg.breaker_cooldown_s,
			   (double)g_cfg.breaker_max_cooldown_s,
			   (double)g_cfg.http_retry_after_max_s);
	signals_setup(&set);

	pc = pool_config();
	if (!(run.pool = pool_start(&pc))) {
		log_error("event=start_failed");
		return 1;
	}
	run.cb = callbacks_start(g_cfg.db, g_cfg.callback_secret);
	if (!strcmp(g_cfg.scheduler, "on"))
		run.sched = scheduler_start(g_cfg.db, pool_worker_id(run.pool));
	/* systemd (Type=notify): up; the claimer loop sends the watchdog's pings */
	sdnotify("READY=1\nSTATUS=running");
	signals_wait(&set, &actions);
	sdnotify("STOPPING=1\nSTATUS=draining");
	scheduler_stop(run.sched);
	callbacks_stop(run.cb);
	pool_stop(run.pool);
	log_info("event=stopped");
	kinds_cleanup();
	breakers_cleanup();
	httpreq_cleanup();
	curl_global_cleanup();
	config_cleanup();
	return 0;
}
