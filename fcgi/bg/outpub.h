/*
 * outpub: feeds the output streams, nginx's nchan channels "output.<id>" that
 * GET /api/tasks/{id}/output/stream subscribes to (nginx/taskq-streams.conf.in), apart from
 * the task's own channel "task.<id>" (publish.h): each message is one chunk of the task's
 * streamed output, {"seq","attempt","data","at"} ("truncated": true on the cap's marker), in
 * seq order, so its SSE id is nchan's and the chunk's seq is in the data. A subscription is
 * authorised here once: a channel new to this process gets the task's newest OUT_BACKLOG
 * chunks (or {"seq":0} when it has none: the channel's opening message, no output), which
 * nchan hands every subscriber first (oldest first). After that, the publisher of this nginx
 * (the leader, publish_is_leader) reads the chunks after the last one it published whenever
 * taskq_output (or taskq_task) announces the task, and a moment after the task's final state
 * deletes the channel; a channel nobody listens to for a minute is no longer fed (the next
 * subscription opens it anew). A subscriber that lost chunks (nchan's buffer dropped them, or it
 * subscribed after they went out) reads them with GET /api/tasks/{id}/output?after=SEQ.
 * It must not publish a task's state (publish.c does).
 */
#ifndef TASKQ_OUTPUT_PUBLISH_H
#define TASKQ_OUTPUT_PUBLISH_H

#include "model/task.h"
#include "store/db.h"

#define OUT_BACKLOG 256 /* chunks a new channel starts with, at most */

/* A subscription to t's output stream was authorised (a request thread; db: its
 * connection): opens the channel when this process has not, and tells the publisher. */
void outpub_subscribed(const struct task *t, struct db *db);
/* A new publisher knows nothing of the output streams opened before it (its predecessor
 * died, or this process restarted): it feeds the channels of these tasks (the running ones)
 * from their next chunk on; a client fills what it missed with GET /output. */
void outpub_adopt(const struct task_list *l);
/* A taskq_watch notification (another process authorised a subscription). */
void outpub_note(const char *payload);
/* The comma-separated task ids of a taskq_output or taskq_task notification: the watched
 * ones are read at the next outpub_flush. all: every watched task (after a reconnect). */
void outpub_announced(const char *payload, bool all);
/* The publisher's round (the watcher thread, db its connection): publishes the new chunks of
 * the announced tasks in one query, and schedules the end of the channels of finished ones. */
void outpub_flush(struct db *db);
/* Deletes the channels whose end has come and forgets the stale ones; returns the seconds
 * until something falls due (0: more chunks wait to be read). */
double outpub_due(void);
/* Forgets everything (taskq-fcgi stops). */
void outpub_stop(void);

#endif
