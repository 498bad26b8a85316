/*
 * taskq-worker: the daemon that runs tasks. Parses its configuration, starts the pool,
 * and waits for a signal in the main thread (sigwait: no work in signal handlers).
 * SIGTERM/SIGINT drain gracefully; SIGKILL is covered by leases.
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "pool.h"
#include "queues.h"

static struct {
	const char *config, *db, *queues, *log_level;
	long concurrency, lease_s, poll_s, grace_s, retention_h;
} g_cfg;

static const struct config_opt g_opts[] = {
	{"config", "TASKQ_CONFIG", CFG_STR, NULL, 0, 0,
	 "file of key = value lines, keys as these flags (/etc/taskq/taskq.conf)", &g_cfg.config},
	{"db", "TASKQ_DATABASE_URL", CFG_STR, NULL, 0, 0,
	 "PostgreSQL conninfo or URL (default: libpq's PG* environment)", &g_cfg.db},
	{"concurrency", "TASKQ_CONCURRENCY", CFG_INT, "8", 1, 1024, "executor threads",
	 &g_cfg.concurrency},
	{"queues", "TASKQ_QUEUES", CFG_STR, "default", 0, 0,
	 "queues to serve: name[=max running here],...", &g_cfg.queues},
	{"lease", "TASKQ_LEASE_S", CFG_INT, "20", 2, 3600,
	 "seconds a claim holds a task without a heartbeat", &g_cfg.lease_s},
	{"poll", "TASKQ_POLL_S", CFG_INT, "5", 1, 3600,
	 "seconds between claims when no wake-up arrives", &g_cfg.poll_s},
	{"grace", "TASKQ_GRACE_S", CFG_INT, "10", 0, 3600,
	 "seconds running tasks get to finish on SIGTERM", &g_cfg.grace_s},
	{"retention-h", "TASKQ_RETENTION_H", CFG_INT, "168", 1, 87600,
	 "hours finished tasks are kept before pruning", &g_cfg.retention_h},
	{"log-level", "TASKQ_LOG_LEVEL", CFG_STR, "info", 0, 0, "debug, info, warn or error",
	 &g_cfg.log_level},
};
#define NOPTS (sizeof g_opts / sizeof g_opts[0])

/* Checks --queues: comma-separated name[=limit]. */
static bool queues_valid(const char *s)
{
	char *names[64];
	int limits[64], n = queues_parse(s, names, limits, 64);

	for (int i = 0; i < n; i++)
		free(names[i]);
	return n > 0;
}

int main(int argc, char **argv)
{
	struct pool_config pc;
	struct taskq_err err;
	struct pool *pool;
	int npos, help, lvl, sig;
	sigset_t set;

	log_set_program("taskq-worker");
	if (config_parse(g_opts, NOPTS, argc, argv, &npos, &help, &err)) {
		fprintf(stderr, "taskq-worker: %s\n", err.msg);
		return 2;
	}
	if (help || npos > 0) {
		config_usage(help ? stdout : stderr, "taskq-worker [options]", g_opts, NOPTS);
		return help ? 0 : 2;
	}
	if ((lvl = log_level_parse(g_cfg.log_level)) < 0 || !queues_valid(g_cfg.queues)) {
		fprintf(stderr, "taskq-worker: bad --log-level or --queues\n");
		return 2;
	}
	g_log_level = (enum log_level)lvl;

	/* a shell may start us with SIGINT ignored; an ignored signal never reaches sigwait */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	pc = (struct pool_config){.db = g_cfg.db,
				  .queues = g_cfg.queues,
				  .concurrency = (int)g_cfg.concurrency,
				  .lease_s = (int)g_cfg.lease_s,
				  .poll_s = (int)g_cfg.poll_s,
				  .grace_s = (int)g_cfg.grace_s,
				  .retention_h = (int)g_cfg.retention_h};
	if (!(pool = pool_start(&pc))) {
		log_error("event=start_failed");
		return 1;
	}
	do {
		if (sigwait(&set, &sig) != 0)
			sig = SIGTERM;
		if (sig == SIGHUP)
			log_info("event=sighup msg=\"nothing to reload yet\"");
	} while (sig == SIGHUP);
	log_info("event=stopping signal=%d", sig);
	pool_stop(pool);
	log_info("event=stopped");
	config_cleanup();
	return 0;
}
