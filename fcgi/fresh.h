/*
 * fresh: which version of a task taskq-fcgi knows to be current, so that a status read whose
 * If-None-Match names it is answered 304 without PostgreSQL. The request threads record what
 * they read from the primary; the watcher (bg/watch.c), which hears every change on
 * taskq_task, forgets the tasks it hears of. A record is used only while the watcher is
 * connected, for at most FRESH_TTL_S seconds (a safety net for a change nobody announced: a
 * task deleted by retention), and never for a queued task (its warning and its place move
 * without a change of its own). A record made from a read that began before a change was
 * heard is refused (fresh_begin / fresh_put), so a slow read cannot bring an old version back.
 * Staleness is bounded by how late the watcher hears a change: a few milliseconds, like a
 * replica read. Must not query or block: a direct-mapped table under striped locks.
 */
#ifndef TASKQ_FRESH_H
#define TASKQ_FRESH_H

#include <stdbool.h>
#include <stdint.h>

#include "promtext.h"
#include "req.h"
#include "model/task.h"

#define FRESH_TTL_S 10.0

/* The moment a read of the primary begins: pass it to fresh_put after the read. */
uint64_t fresh_begin(void);
/* Records t (just read from the primary, after fresh_begin returned since) as current, unless
 * a change of a task that maps to its slot was heard since, or t is queued. */
void fresh_put(const struct task *t, uint64_t since);
/* True when task id's current version is known, matches If-None-Match inm and r may see the
 * task: the caller answers 304 with *version as the ETag. */
bool fresh_not_modified(const struct req *r, const char *id, const char *inm, long long *version);

/* The watcher's side: tasks ids heard of (comma-separated, as the notification's payload);
 * every record forgotten (a reconnect, a notification overflow); whether it is listening. */
void fresh_changed(const char *payload);
void fresh_forget_all(void);
void fresh_set_listening(bool on);

/* taskq_http_not_modified_total{source="memory"} for /metrics. */
void fresh_write_metrics(struct ptext *t);

#endif
