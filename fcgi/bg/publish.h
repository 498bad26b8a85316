/*
 * publish: feeds nginx's nchan module, which holds every open live stream (SSE, WebSocket,
 * long-poll) so that no stream holds a taskq-fcgi thread. taskq-fcgi publishes a task's JSON to
 * channel "task.<id>" when the task changes and someone subscribed to it, and batches of
 * changed tasks to channel "tasks" (and each owner's to "owner.<owner>") while the dashboard's
 * live feeds have subscribers. Publishing
 * goes over nchan's internal publisher location on a unix socket (never reachable from
 * outside), with one kept-alive libcurl handle. Without --publish everything else works and
 * clients fall back to long-polls.
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

/* A subscription to one task was authorised: publish its current state (the subscriber
 * receives the newest message first; a resuming one, with Last-Event-ID, only a state newer
 * than the last published), and tell every process of this nginx (db: the caller's
 * connection) so that its one publisher keeps publishing the task's changes. */
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
/* Publishes the re-read tasks: each watched one to its channel, all of them to the feed. */
void publish_tasks(const struct task_list *l);

#endif
