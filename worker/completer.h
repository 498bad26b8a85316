/*
 * completer: group commit of successful attempts, off the executors' path. An executor whose
 * task succeeded hands the result over and goes on to its next task at once; one thread with
 * its own connection records everything handed over since its last round in one statement
 * (taskq.complete_many): one commit, one change notification and one history INSERT for the
 * batch. It logs and counts each success after its batch committed, fails for good a task
 * whose result PostgreSQL refuses, and rides out a database outage while the lease lasts.
 * Failures, cancellations and releases stay one statement each in the executor: they are rare
 * and carry more detail.
 */
#ifndef TASKQ_COMPLETER_H
#define TASKQ_COMPLETER_H

#include <json-c/json.h>

#include "store/worker.h"

struct completer;

/* Called on the completer's thread once a success handed over with tag is recorded (or given
 * up): the pool frees the task's place under its queue's limit then, not before. */
typedef void (*completer_done_fn)(void *ctx, int tag);

/* worker: the worker id every verb is fenced by (borrowed for the completer's lifetime);
 * lease_s: how long a success may wait for the database before the lease has expired and the
 * task will run again (it is then given up, with a log line). */
struct completer *completer_start(const char *conninfo, const char *worker, int lease_s,
				  completer_done_fn done, void *ctx);
/* Records what is still handed over (giving up at once if the database is down), then stops
 * the thread and closes its connection; c is a started completer. */
void completer_stop(struct completer *c);

/*
 * Hands over h's success (h and kind copied) with result (NULL for {}), whose reference moves
 * to the completer: json-c's reference counts are not atomic, so the caller must not touch
 * result again. Returns at once, unless the completer is already that far behind (a slow
 * database): then when there is room again, so that executors never outrun the commits.
 */
void completer_complete(struct completer *c, const struct holder *h, const char *kind,
			json_object *result, int tag);

#endif
