/*
 * scheduler: the worker thread that fires recurring schedules (sql/functions/schedules.sql). Once a
 * second, just after the second turns, it asks PostgreSQL which schedules are due, computes
 * their fire times with lib/cron.c in each schedule's zone (lib/tz.c, zones cached), and fires
 * each time with taskq.fire_schedule(), which inserts the task and a fire row keyed by
 * (schedule, time) in one transaction: every worker may try, one task per time lands.
 *
 * After downtime a schedule is due for several times: the latest runs, and `backfill` more
 * before it (the most recent ones). A new schedule (next_fire_at NULL, e.g. inserted with
 * SQL) gets its first fire time; a bad expression or zone, or a kind no worker registered
 * (taskq.kinds: the API and the CLI refuse it, SQL cannot), disables it with the reason in
 * last_error and a log line, before it fires a task that could only fail.
 */
#include "scheduler.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "time/cron.h"
#include "base/log.h"
#include "bgthread.h"
#include "store/live.h"
#include "store/schedules.h"
#include "time/tz.h"
#include "base/xalloc.h"

#define MAX_ZONES 64
#define MAX_STEPS 100000 /* fire times walked for one schedule in one round */

struct scheduler {
	struct bgthread bg;
	char worker_id[128];
	struct tz *zones[MAX_ZONES];
	int nzones;
};

/* The zone of this name, loaded once; NULL with a message. */
static const struct tz *zone(struct scheduler *s, const char *name, char *err, size_t errsize)
{
	struct tz *z;

	for (int i = 0; i < s->nzones; i++)
		if (!strcmp(tz_name(s->zones[i]), name))
			return s->zones[i];
	if (!(z = tz_load(name, err, errsize)))
		return NULL;
	if (s->nzones == MAX_ZONES) /* a full cache starts over: zones are cheap to load */
		while (s->nzones > 0)
			tz_free(s->zones[--s->nzones]);
	s->zones[s->nzones++] = z;
	return z;
}

static void fire(struct scheduler *s, const char *name, long long at, int *fired)
{
	struct taskq_err err;
	char task_id[40];

	if (store_schedule_fire(s->bg.db, name, at, s->worker_id, task_id, &err)) {
		log_warn("event=schedule_fire_failed schedule=%s fire_at=%lld msg=\"%s\"", name, at,
			 err.msg);
		return;
	}
	if (task_id[0]) {
		log_task(LOG_INFO, task_id, "event=schedule_fired schedule=%s fire_at=%lld", name,
			 at);
		(*fired)++;
	}
}

/* One due schedule: fire what is due, then set the next time. */
static void run_one(struct scheduler *s, const struct due_schedule *d, long long now, int *fired)
{
	char msg[200];
	struct taskq_err err;
	struct cron c;
	const struct tz *z = NULL;
	long long *times, t = d->next_fire, next;
	int keep = d->backfill + 1, n = 0, steps = 0;

	if (!d->kind_known) /* every task it fired would fail: the words of a refused submit */
		snprintf(msg, sizeof msg, "unknown task kind '%s'", d->kind);
	if (!d->kind_known || cron_parse(d->cron, &c, msg, sizeof msg) != 0 ||
	    !(z = zone(s, d->tz, msg, sizeof msg))) {
		log_warn("event=schedule_disabled schedule=%s msg=\"%s\"", d->name, msg);
		store_schedule_advance(s->bg.db, d->name, 0, msg, &err);
		return;
	}
	if (t < 0) { /* new: its first time after now */
		next = cron_next(&c, z, now);
	} else {
		/* the due times t <= now, keeping the last `keep` of them (a ring) */
		times = xcalloc((size_t)keep, sizeof *times);
		for (; t >= 0 && t <= now && steps < MAX_STEPS; steps++, t = cron_next(&c, z, t))
			times[n++ % keep] = t;
		if (steps == MAX_STEPS) /* a very long downtime of a frequent schedule */
			t = cron_next(&c, z, now);
		for (int i = n > keep ? n - keep : 0; i < n; i++)
			fire(s, d->name, times[i % keep], fired);
		if (n > keep)
			log_info("event=schedule_skipped schedule=%s missed=%d backfill=%d",
				 d->name, n - keep, d->backfill);
		free(times);
		next = t;
	}
	if (next < 0)
		store_schedule_advance(s->bg.db, d->name, 0,
				       "cron: the expression never fires again", &err);
	else if (store_schedule_advance(s->bg.db, d->name, next, NULL, &err))
		log_warn("event=schedule_advance_failed schedule=%s msg=\"%s\"", d->name, err.msg);
}

static void round_once(struct scheduler *s)
{
	struct due_schedule *due;
	struct taskq_err err;
	long long now = 0;
	int n, fired = 0;

	if (store_schedules_due(s->bg.db, &due, &n, &now, &err)) {
		log_debug("event=schedules_due_failed msg=\"%s\"", err.msg);
		return;
	}
	for (int i = 0; i < n && !bg_stopping(&s->bg); i++)
		run_one(s, &due[i], now, &fired);
	store_due_free(due, n);
	if (fired > 0)
		store_wake(s->bg.db, &err); /* best effort: the poll covers it */
}

/* Sleeps until just after the next whole second of the wall clock (fire times are whole
 * seconds), in steps short enough to notice a stop. */
static void sleep_to_next_second(struct scheduler *s)
{
	struct timespec now, until;

	clock_gettime(CLOCK_REALTIME, &now);
	until = (struct timespec){now.tv_sec + 1, 2 * 1000000L};
	while (!bg_stopping(&s->bg)) {
		long long left_ns;
		struct timespec step;

		clock_gettime(CLOCK_REALTIME, &now);
		left_ns =
			(until.tv_sec - now.tv_sec) * 1000000000LL + (until.tv_nsec - now.tv_nsec);
		if (left_ns <= 0)
			return;
		if (left_ns > 200000000LL)
			left_ns = 200000000LL;
		step = (struct timespec){0, (long)left_ns};
		nanosleep(&step, NULL);
	}
}

static void *scheduler_main(void *arg)
{
	struct scheduler *s = arg;

	while (!bg_stopping(&s->bg)) {
		sleep_to_next_second(s);
		if (!bg_stopping(&s->bg))
			round_once(s);
	}
	return NULL;
}

struct scheduler *scheduler_start(const char *conninfo, const char *worker_id)
{
	struct scheduler *s = xcalloc(1, sizeof *s);

	snprintf(s->worker_id, sizeof s->worker_id, "%s", worker_id ? worker_id : "");
	bg_start(&s->bg, conninfo, "taskq-worker-scheduler", 0, scheduler_main, s);
	return s;
}

void scheduler_stop(struct scheduler *s)
{
	if (!s)
		return;
	bg_stop(&s->bg);
	for (int i = 0; i < s->nzones; i++)
		tz_free(s->zones[i]);
	free(s);
}
