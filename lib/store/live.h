/*
 * live: opening taskq's connections, with the LISTEN channels each kind of connection needs,
 * and the notifications and advisory lock of the live paths (wake-ups for the workers,
 * subscriptions between taskq-fcgi processes, the one publisher per nginx). It owns the
 * channel names; it does not read the notifications (db_each_notify does).
 */
#ifndef TASKQ_STORE_LIVE_H
#define TASKQ_STORE_LIVE_H

#include <stdbool.h>

#include "base/err.h"
#include "store/db.h"

/* Opens (lazily: nothing is sent until first use) a connection for store statements. The
 * caller frees it with db_free. */
struct db *store_open(const char *conninfo, const char *app_name);
/* The same, LISTENing for task changes (channel taskq_task: comma-separated ids), for
 * subscriptions other processes authorised (channel taskq_watch), for token changes
 * (taskq_tokens) and for tasks' new streamed output (taskq_output: comma-separated ids). */
struct db *store_open_watcher(const char *conninfo, const char *app_name);
/* The same, LISTENing for worker wake-ups (channel taskq_wake) and changes of the circuit
 * breakers (taskq_breakers) on every (re)connect. */
struct db *store_open_listener(const char *conninfo, const char *app_name);

/* Sends one wake-up NOTIFY to the workers (its own transaction). */
enum taskq_rc store_wake(struct db *db, struct taskq_err *err);
/* Announces that the tasks ids[0..n) changed (channel taskq_task), for a session whose
 * statements do not (DB_ANNOUNCE_LATER); its own transaction. */
enum taskq_rc store_announce(struct db *db, const char *const *ids, int n, struct taskq_err *err);
/* Wakes the workers and announces new tasks on taskq_task in the same transaction: ids, the
 * ids comma-separated ("" for none), inserted on connections that announce their own inserts
 * (DB_OWN_INSERTS). */
enum taskq_rc store_wake_announce(struct db *db, const char *ids, struct taskq_err *err);
/* Tells the other processes (channel taskq_watch) about a subscription. */
enum taskq_rc store_watch_note(struct db *db, const char *note, struct taskq_err *err);
/* Tries to take the session advisory lock that makes this process the one publisher for key
 * (one per nginx: host and publisher socket); *got says whether it holds it. */
enum taskq_rc store_publish_lock(struct db *db, const char *key, bool *got, struct taskq_err *err);

#endif
