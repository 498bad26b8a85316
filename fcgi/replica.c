/* replica: status reads from a streaming replica with read-your-writes (see replica.h). */
#include "replica.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/live.h"
#include "store/tasks.h"

/* Seconds the replica is left alone after it failed (a connect to a cut host costs the
 * connect timeout, which no request should pay each time). */
#define REPLICA_HOLD_OFF_S 3.0

static const char *g_conninfo;
static atomic_ullong g_served, g_fallback_missing, g_fallback_stale, g_fallback_down;
/* monotonic milliseconds until which the replica is not asked */
static atomic_llong g_hold_until_ms;

void replica_init(const char *conninfo)
{
	g_conninfo = conninfo && *conninfo ? conninfo : NULL;
}

bool replica_on(void)
{
	return g_conninfo != NULL;
}

struct db *replica_open(void)
{
	return g_conninfo ? store_open(g_conninfo, "taskq-fcgi-read") : NULL;
}

static void bump(atomic_ullong *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static long long now_ms(void)
{
	return (long long)(clock_mono_s() * 1000.0);
}

static bool held_off(void)
{
	return now_ms() < atomic_load_explicit(&g_hold_until_ms, memory_order_relaxed);
}

static void hold_off(const struct taskq_err *err)
{
	long long until = now_ms() + (long long)(REPLICA_HOLD_OFF_S * 1000.0);

	if (atomic_exchange_explicit(&g_hold_until_ms, until, memory_order_relaxed) < now_ms())
		log_warn("event=replica_unavailable hold_off_s=%.0f msg=\"%s\"", REPLICA_HOLD_OFF_S,
			 err->msg);
}

long long replica_known_version(const char *inm)
{
	long long best = 0;
	const char *p = inm;

	while (p && (p = strchr(p, '"')) != NULL) {
		char *end;
		long long v = strtoll(p + 1, &end, 10);

		if (end != p + 1 && *end == '"' && v > best)
			best = v;
		p = *end ? end + 1 : end;
	}
	return best;
}

enum taskq_rc replica_get(struct req *r, const char *id, long long known, struct task *out,
			  struct taskq_err *err)
{
	enum taskq_rc rc;

	if (!r->rdb || held_off())
		return store_get(r->db, id, out, err);
	rc = store_get(r->rdb, id, out, err);
	if (rc == TASKQ_OK && out->version >= known) {
		bump(&g_served);
		return TASKQ_OK;
	}
	if (rc == TASKQ_OK) {
		bump(&g_fallback_stale);
		task_cleanup(out);
		memset(out, 0, sizeof *out);
	} else if (rc == TASKQ_NOTFOUND) {
		bump(&g_fallback_missing);
	} else {
		bump(&g_fallback_down);
		hold_off(err);
	}
	return store_get(r->db, id, out, err);
}

void replica_write_metrics(struct ptext *t)
{
	unsigned long long missing, stale, down;

	if (!g_conninfo)
		return;
	missing = atomic_load_explicit(&g_fallback_missing, memory_order_relaxed);
	stale = atomic_load_explicit(&g_fallback_stale, memory_order_relaxed);
	down = atomic_load_explicit(&g_fallback_down, memory_order_relaxed);
	pt_family(t, "taskq_read_replica_total", "counter",
		  "GET /api/tasks/{id} reads meant for the replica (--read-db): served by it, or "
		  "sent to the primary because the replica did not have the task yet, had an older "
		  "version than the client's If-None-Match, or failed.");
	pt_sample_u64(t, "", (const char *const[]){"result", "served", "reason", "fresh", NULL},
		      atomic_load_explicit(&g_served, memory_order_relaxed));
	pt_sample_u64(t, "", (const char *const[]){"result", "fallback", "reason", "missing", NULL},
		      missing);
	pt_sample_u64(t, "", (const char *const[]){"result", "fallback", "reason", "stale", NULL},
		      stale);
	pt_sample_u64(t, "",
		      (const char *const[]){"result", "fallback", "reason", "unavailable", NULL},
		      down);
}
