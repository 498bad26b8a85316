/*
 * completer: group commit of successful attempts. An executor whose task succeeded hands the
 * result over and waits; one thread with its own connection records everything handed over
 * since its last round in one statement (taskq.complete_many), so executors that finish at the
 * same time share one commit, one change notification and one history INSERT. Failures,
 * cancellations and releases stay one statement each: they are rare and carry more detail.
 */
#ifndef TASKQ_COMPLETER_H
#define TASKQ_COMPLETER_H

#include <json-c/json.h>
#include <stdbool.h>

#include "store/worker.h"

struct completer;

/* worker: the worker id every verb is fenced by (borrowed for the completer's lifetime). */
struct completer *completer_start(const char *conninfo, const char *worker);
/* Records what is still queued, then stops the thread and closes its connection. */
void completer_stop(struct completer *c);

/*
 * Records h's success with result (borrowed; NULL for {}) and returns when its batch was
 * committed. *held says whether the attempt still held the task (if not, nothing was
 * recorded). TASKQ_DB_DOWN: try again later; TASKQ_INVAL: PostgreSQL refused this result.
 */
enum taskq_rc completer_complete(struct completer *c, const struct holder *h, json_object *result,
				 bool *held, struct taskq_err *err);

#endif
