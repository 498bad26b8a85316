/*
 * served: whether a live worker serves a queue, for the task JSON taskq-fcgi sends. The
 * queues the live workers serve (taskq.served_queues) are read at most once a second, by
 * whichever thread with a connection asks first, and shared by the request threads, the
 * watcher (parked long-polls) and the publisher (live streams). A queued task in a queue that
 * no live worker serves then carries a "warning" saying so; anything else, or a set that
 * could not be read for a while, carries null. Encoding never queries: only served_refresh
 * does, outside the lock.
 */
#ifndef TASKQ_SERVED_H
#define TASKQ_SERVED_H

#include <json-c/json.h>

#include "model/task.h"
#include "store/db.h"

/* Reads the set again when it is older than a second (db: the caller's connection). A read
 * that fails keeps the old set; one older than a few seconds is not used. */
void served_refresh(struct db *db);
/* taskjson_encode(t), with its warning when t is queued in a queue no live worker serves;
 * the caller puts it. */
json_object *served_task_json(const struct task *t);
/* The same for each task of l: a new array. */
json_object *served_task_list_json(const struct task_list *l);
/* Whether some task of l is queued (a refresh is worth it). */
bool served_any_queued(const struct task_list *l);
void served_free(void);

#endif
