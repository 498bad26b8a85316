/*
 * publish: feeds nginx's nchan module, which holds every open live stream (SSE, WebSocket,
 * long-poll) so that no stream holds a taskq-fcgi thread. taskq-fcgi publishes to channel
 * "task.<id>" while someone subscribes to the task: the whole task when a subscriber arrives
 * (its first message), then each change without the payload and without the large fields
 * that did not change (change.h); a final state ends the channel a moment later (its
 * subscribers' connections close). Batches of changed and new tasks go to channel "tasks"
 * (and each owner's to "owner.<owner>") while the dashboard's live feeds have subscribers.
 * Publishing goes over nchan's internal publisher location on a unix socket (nchan.h). Without
 * --publish everything else works and clients fall back to long-polls.
 */
#ifndef TASKQ_PUBLISH_H
#define TASKQ_PUBLISH_H

#include <stdbool.h>

#include "store/db.h"
#include "model/task.h"

/* socket: the unix socket of nginx's publisher server block, or NULL/"" to disable. */
void publish_start(const char *socket);
void publish_stop(void);
bool publish_enabled(void);

/* A subscription to one task was authorised: publish the whole task (the subscriber receives
 * the newest message first; nothing when the newest is already the whole current task) and
 * hold the task's changes for a moment, so that it is still the newest when nchan attaches
 * the subscriber; for a resuming one (Last-Event-ID), only a state newer than the last
 * published, as a change. Tells every process of this nginx (db: the caller's connection),
 * so that its one publisher keeps publishing the task's changes. */
void publish_subscribed(const struct task *t, bool resuming, struct db *db);
/* A taskq_watch notification: a subscription some process of this nginx authorised. */
void publish_note(const char *payload);

/* Several taskq-fcgi processes may serve one nginx; each change must reach it once. The one
 * holding the advisory lock named by publish_key() publishes changes; the others publish only
 * the first state of the subscriptions they authorise. */
const char *publish_key(void);
void publish_set_leader(bool leader);
bool publish_is_leader(void);
/* A subscription to a live feed was authorised: of every task (owner NULL, channel "tasks")
 * or of one owner's (channel "owner.<owner>"). Tells the publisher of this nginx (db: the
 * caller's connection). */
void publish_feed_subscribed(const char *owner, struct db *db);

/* The *count ids whose changes should be published among those announced; NULL when none.
 * all_watched: ignore `announced` and return every watched id (after a reconnect, or when too
 * many were announced to list). One allocation: the caller frees it with free(). */
const char **publish_wanted(char (*announced)[TASK_ID_LEN + 1], int n, bool all_watched,
			    int *count);
/* A new publisher does not know who subscribed before it (its predecessor died, or this
 * process restarted): it publishes these tasks (the running ones) and watches them for a
 * while, so that streams opened earlier go on. */
void publish_adopt(const struct task_list *l);
/* Publishes the re-read tasks: each watched one to its channel (a change, unless held:
 * publish_due hands it back), and with feeds all of them to the live feeds. */
void publish_tasks(const struct task_list *l, bool feeds);
/* What is due now: deletes the channels of final tasks whose end has come, and returns the
 * ids of the tasks whose held change may go out now (the caller re-reads them and calls
 * publish_tasks without feeds), NULL when none, in one allocation the caller frees; *next_s:
 * seconds until something else falls due. Called by the watcher thread of every process. */
const char **publish_due(int *count, double *next_s);

#endif
