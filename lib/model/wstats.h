/*
 * wstats: a worker's own counters for /metrics as they travel between the two daemons.
 * taskq-worker encodes them at each heartbeat into the JSON that its row of taskq.workers
 * keeps (column metrics); taskq-fcgi decodes the rows and shows them with a `worker` label
 * (no second HTTP server). This module owns the struct and its JSON, both ways (json-c), and
 * nothing else: it must not count (worker/counters.c does, with atomics), read the database
 * or write Prometheus text.
 *
 * The JSON (every number a count since the worker started, run times in seconds):
 *   {"claimed":N, "rescued":N,
 *    "outcomes":{"succeeded":N,"failed":N,"retried":N,"cancelled":N,"released":N,"lost":N},
 *    "claim_batch":{"le":[1,2,4,…],"buckets":[n,…,n_inf],"sum":N,"count":N},
 *    "kinds":{"noop":{"count":N,"sum_s":S},…},
 *    "db":{"lost":N,"reconnects":N,"connect_failed":N,"statement_errors":N}}
 * buckets are per bucket (not cumulative), one more than le (the last is above every bound).
 *
 * Decoding takes what it can: a member that is missing or malformed (a negative count, bounds
 * that do not increase, a bucket list of the wrong length) is left out (its bit in `has`
 * clear; a kind without a valid count and sum is not listed), the rest is still shown, so a
 * worker of another version never breaks /metrics.
 */
#ifndef TASKQ_WSTATS_H
#define TASKQ_WSTATS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

enum wstats_outcome {
	WS_SUCCEEDED, /* recorded as succeeded */
	WS_FAILED,    /* the attempt failed and the task failed for good */
	WS_RETRIED,   /* the attempt failed and the task was queued again */
	WS_CANCELLED, /* stopped on a cancel request, recorded as cancelled */
	WS_RELEASED,  /* handed back on shutdown */
	WS_LOST,      /* the task was no longer this worker's: nothing recorded */
	WS_NOUTCOMES
};

/* PostgreSQL trouble of the worker's connections (lib/db.h's struct db_counters). */
enum wstats_db { WSDB_LOST, WSDB_RECONNECTS, WSDB_CONNECT_FAILED, WSDB_STATEMENT_ERRORS, WSDB_N };

/* Which members of a struct wstats hold a value (bits of `has`). */
#define WSTATS_CLAIMED (1u << 0)
#define WSTATS_RESCUED (1u << 1)
#define WSTATS_BATCH (1u << 2)
#define WSTATS_OUTCOME(o) (1u << (3 + (unsigned)(o)))
#define WSTATS_DB(d) (1u << (3 + WS_NOUTCOMES + (unsigned)(d)))
#define WSTATS_ALL ((1u << (3 + WS_NOUTCOMES + WSDB_N)) - 1)

#define WSTATS_MAX_BOUNDS 32 /* of the claim batch histogram */

struct wstats_kind {
	char *name; /* owned */
	unsigned long long count;
	double sum_s;
};

struct wstats {
	unsigned has; /* WSTATS_* bits; encoding writes only these members */
	unsigned long long claimed, rescued;
	unsigned long long outcome[WS_NOUTCOMES];
	/* claim batch sizes: nbounds increasing bounds, nbounds + 1 per-bucket counts */
	int nbounds;
	double le[WSTATS_MAX_BOUNDS];
	unsigned long long buckets[WSTATS_MAX_BOUNDS + 1];
	unsigned long long batch_sum, batch_count;
	struct wstats_kind *kinds; /* owned; nkinds of them, in order */
	size_t nkinds;
	unsigned long long db[WSDB_N];
};

/* An empty record (nothing in has, no kinds). */
void wstats_init(struct wstats *s);
/* Frees what s holds (its kinds) and empties it; s itself is the caller's. */
void wstats_cleanup(struct wstats *s);
/* Appends a kind row (name is copied). */
void wstats_add_kind(struct wstats *s, const char *name, unsigned long long count, double sum_s);
/* The outcome's name in the JSON and in /metrics ("succeeded" …); NULL out of range. */
const char *wstats_outcome_name(enum wstats_outcome o);
/* The member's name in the JSON's "db" object ("lost" …); NULL out of range. */
const char *wstats_db_name(enum wstats_db d);

/* The JSON above, of the members in s->has (kinds always: {} for none); a new string the
 * caller frees. */
char *wstats_encode(const struct wstats *s);
/* Reads JSON text into *out (initialised here; wstats_cleanup it afterwards, whatever the
 * answer). TASKQ_INVAL (err says why, *out empty) when text is NULL or not a JSON object. */
enum taskq_rc wstats_decode(const char *text, struct wstats *out, struct taskq_err *err);

#endif
