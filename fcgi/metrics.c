/* metrics: in-process request figures of taskq-fcgi (see metrics.h). */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "store/db.h"
#include "routes.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "dev"
#endif

/* the route table's patterns, in the order of fcgi/main.c's table (both from TASKQ_ROUTES) */
#define ROUTE_NAME(method, pattern, handler, flags, params) {method, pattern},
static const struct {
	const char *method, *pattern;
} g_route[] = {TASKQ_ROUTES(ROUTE_NAME)};
#define NROUTES ((int)(sizeof g_route / sizeof g_route[0]))

/* methods of requests that matched no route, folded into a fixed set */
static const char *const g_method[] = {"GET",   "HEAD",   "POST",    "PUT",
				       "PATCH", "DELETE", "OPTIONS", "other"};
#define NMETHODS ((int)(sizeof g_method / sizeof g_method[0]))

/* every status taskq-fcgi sends (fcgi/resp.c), and one slot for anything else */
static const int g_status[] = {200, 202, 204, 304, 400, 401, 403, 404, 405,
			       409, 411, 413, 415, 429, 500, 503, 0};
#define NSTATUS ((int)(sizeof g_status / sizeof g_status[0]))

/* latency buckets (seconds), 0.5 ms to 10 s */
static const double g_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
			      0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NLE ((int)(sizeof g_le / sizeof g_le[0]))

#define NSLOTS (NROUTES + NMETHODS)

struct slot {
	atomic_ullong status[NSTATUS];
	atomic_ullong bucket[NLE + 1];
	atomic_ullong sum_ns;
};

static struct {
	struct slot slot[NSLOTS];
	atomic_long in_flight;
	double start_unix;
} g;

static void add(atomic_ullong *c, unsigned long long n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static unsigned long long get(atomic_ullong *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

void metrics_init(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	g.start_unix = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The slot of a request: its route, or "unmatched" with its method. */
static int slot_of(const struct req *r)
{
	if (r->route > 0 && r->route <= NROUTES)
		return r->route - 1;
	for (int i = 0; i < NMETHODS - 1; i++)
		if (r->method && !strcmp(r->method, g_method[i]))
			return NROUTES + i;
	return NROUTES + NMETHODS - 1;
}

static int status_index(int status)
{
	for (int i = 0; i < NSTATUS - 1; i++)
		if (g_status[i] == status)
			return i;
	return NSTATUS - 1;
}

void metrics_request_start(struct req *r)
{
	r->started = clock_mono_s();
	atomic_fetch_add_explicit(&g.in_flight, 1, memory_order_relaxed);
}

static void count(const struct req *r, bool timed)
{
	struct slot *s = &g.slot[slot_of(r)];

	add(&s->status[status_index(r->status)], 1);
	if (timed) {
		double d = clock_mono_s() - r->started;
		int b = 0;

		if (d < 0)
			d = 0;
		while (b < NLE && d > g_le[b])
			b++;
		add(&s->bucket[b], 1);
		add(&s->sum_ns, (unsigned long long)(d * 1e9));
	}
}

void metrics_request_end(const struct req *r)
{
	atomic_fetch_sub_explicit(&g.in_flight, 1, memory_order_relaxed);
	if (!r->parked)
		count(r, true);
}

void metrics_parked_answered(const struct req *r)
{
	count(r, false);
}

/* route and method labels of a slot */
static void slot_labels(int i, const char **route, const char **method)
{
	if (i < NROUTES) {
		*route = g_route[i].pattern;
		*method = g_route[i].method;
	} else {
		*route = "unmatched";
		*method = g_method[i - NROUTES];
	}
}

void metrics_write_http(struct ptext *t)
{
	char status[8];

	pt_family(t, "taskq_http_requests_total", "counter",
		  "HTTP requests answered by taskq-fcgi, by route pattern, method and status.");
	for (int i = 0; i < NSLOTS; i++)
		for (int s = 0; s < NSTATUS; s++) {
			unsigned long long v = get(&g.slot[i].status[s]);
			const char *route, *method;

			if (!v)
				continue;
			slot_labels(i, &route, &method);
			if (g_status[s])
				snprintf(status, sizeof status, "%d", g_status[s]);
			else
				snprintf(status, sizeof status, "other");
			pt_sample_u64(t, "",
				      (const char *const[]){"route", route, "method", method,
							    "status", status, NULL},
				      v);
		}

	pt_family(t, "taskq_http_request_duration_seconds", "histogram",
		  "Time from taking a request to answering it, by route pattern and method "
		  "(parked long-polls left out).");
	for (int i = 0; i < NSLOTS; i++) {
		unsigned long long b[NLE + 1], n = 0;
		const char *route, *method;

		for (int k = 0; k <= NLE; k++)
			n += b[k] = get(&g.slot[i].bucket[k]);
		if (!n)
			continue;
		slot_labels(i, &route, &method);
		pt_histogram(t, (const char *const[]){"route", route, "method", method, NULL}, g_le,
			     NLE, b, (double)get(&g.slot[i].sum_ns) / 1e9);
	}

	pt_family(
		t, "taskq_http_requests_in_flight", "gauge",
		"Requests a request thread of taskq-fcgi is handling now (this scrape included).");
	pt_sample(t, "", NULL, (double)atomic_load_explicit(&g.in_flight, memory_order_relaxed));
}

void metrics_write_db(struct ptext *t)
{
	struct db_counters dc;

	db_counters(&dc);
	pt_family(t, "taskq_db_errors_total", "counter",
		  "PostgreSQL trouble of taskq-fcgi's connections: connections lost, connection "
		  "attempts that failed, statements that failed unexpectedly.");
	pt_sample_u64(t, "", (const char *const[]){"type", "connection_lost", NULL}, dc.lost);
	pt_sample_u64(t, "", (const char *const[]){"type", "connect_failed", NULL},
		      dc.connect_failed);
	pt_sample_u64(t, "", (const char *const[]){"type", "statement", NULL}, dc.statement_errors);
	pt_family(t, "taskq_db_reconnects_total", "counter",
		  "Connections of taskq-fcgi to PostgreSQL made again after one was lost.");
	pt_sample_u64(t, "", NULL, dc.reconnects);
}

void metrics_write_build(struct ptext *t)
{
	pt_family(t, "taskq_fcgi_start_time_seconds", "gauge",
		  "When this taskq-fcgi process started, in seconds since the Unix epoch.");
	pt_sample(t, "", NULL, g.start_unix);
	pt_family(t, "taskq_build_info", "gauge", "The version of taskq-fcgi; always 1.");
	pt_sample(t, "", (const char *const[]){"version", PACKAGE_VERSION, NULL}, 1);
}
