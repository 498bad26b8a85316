/*
 * replica: status reads from a streaming replica (--read-db), with read-your-writes. A request
 * thread owns one replica connection beside its primary one. GET /api/tasks/{id} reads the
 * replica first and falls back to the primary when the replica cannot show the client
 * something at least as new as what it already saw: the row is not there yet (a task just
 * submitted), its version is older than the one the client names in If-None-Match (the ETag,
 * which the 202 of the submit already carries), or the replica is unreachable or failing
 * (then it is left alone for a few seconds, so that requests do not wait on its connects).
 */
#ifndef TASKQ_REPLICA_H
#define TASKQ_REPLICA_H

#include <stdbool.h>

#include "promtext.h"
#include "req.h"
#include "model/task.h"

/* At start, before the request threads: conninfo of the replica, or NULL/"" for none. */
void replica_init(const char *conninfo);
bool replica_on(void);
/* A request thread's replica connection (not yet connected), or NULL when replica reads are
 * off. */
struct db *replica_open(void);

/* The task id for r, at least as new as version `known` (0: no version known), from the
 * replica when it can, else from the primary (r->db). Errors as store_get. */
enum taskq_rc replica_get(struct req *r, const char *id, long long known, struct task *out,
			  struct taskq_err *err);

/* The newest version named by an If-None-Match value ("3", W/"3", "2", "3"), or 0. */
long long replica_known_version(const char *inm);

/* taskq_read_replica_total{result="served|fallback"} for /metrics. */
void replica_write_metrics(struct ptext *t);

#endif
