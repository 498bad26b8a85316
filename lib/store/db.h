/*
 * db: one PostgreSQL connection with reconnect, the statements it prepared (each on its first
 * run on that connection, again after a reconnect), optional LISTEN channels re-issued on
 * reconnect, and the mapping of SQLSTATEs to taskq_rc. A struct db is used by one thread at a
 * time. This header is what the binaries see of a connection: running statements and reading
 * their results is lib/store/'s alone (store/exec.h); no PGresult leaves lib/store/.
 */
#ifndef TASKQ_DB_H
#define TASKQ_DB_H

#include <stdbool.h>

#include "base/err.h"

struct db;

/* conninfo: a libpq conninfo string or URL, or NULL/"" for libpq's PG* environment.
 * app_name is borrowed for the db's lifetime. Returns a db not yet connected. */
struct db *db_new(const char *conninfo, const char *app_name);
void db_free(struct db *db);
/* Session settings a connection makes after every (re)connect (db_session). */
enum db_session_flag {
	/* plan_cache_mode = force_generic_plan: each statement is planned once per connection
	 * (the worker's statements run thousands of times a second with other values; a
	 * profile: a tenth of PostgreSQL's time in the planner; 20-40% faster drains). Not for
	 * taskq-fcgi, whose optional filters (GET /api/tasks?state=…) want a plan per call. */
	DB_GENERIC_PLANS = 1,
	/* taskq.announce = 'later': the change trigger does not NOTIFY for this connection's
	 * statements; the caller announces the tasks it changed after its commit, on another
	 * connection (worker/announce.c). A NOTIFY inside a transaction holds a cluster-wide
	 * lock from its commit until the commit is durable, so every NOTIFYing commit of every
	 * session waits for the one before it to reach the disk. */
	DB_ANNOUNCE_LATER = 2,
	/* synchronous_commit = off: for a connection that writes nothing that must survive a
	 * crash (one that only sends notifications: its commits need not wait for the disk). */
	DB_ASYNC_COMMIT = 4,
	/* taskq.announce_inserts = off: the trigger that announces new tasks
	 * (sql/functions/live.sql) leaves this connection's inserts to its caller, which
	 * announces them after their commit (taskq-fcgi's request threads: their ids ride on the
	 * wake-up, fcgi/bg/wake.c), so that a submit's transaction takes no NOTIFY lock. */
	DB_OWN_INSERTS = 8,
};
/* Adds these settings (enum db_session_flag) to the ones made after every connect. */
void db_session(struct db *db, unsigned flags);

/* LISTEN on channel after every connect (channel is borrowed; a fixed identifier). */
void db_listen(struct db *db, const char *channel);

/* Connects when not connected, or reconnects when the idle connection died (PostgreSQL
 * restarted, network cut). TASKQ_DB_DOWN when it cannot. */
enum taskq_rc db_ensure(struct db *db, struct taskq_err *err);

/* The connection's socket, or -1 when not connected. */
int db_socket(struct db *db);
bool db_connected(const struct db *db);

/* What every connection of this process went through since it started (monotonic counters,
 * for /metrics): connections lost (PostgreSQL restarted, network cut, closed while idle),
 * reconnects that succeeded, connection attempts that failed, and statements that failed with
 * an unexpected error (not a constraint or input error, which are the caller's answer). */
struct db_counters {
	unsigned long long lost, reconnects, connect_failed, statement_errors;
};
void db_counters(struct db_counters *out);
/* Reads what arrived on the socket and hands each notification's channel and payload
 * (borrowed for the call) to fn; returns how many arrived, or -1 when the connection died (it
 * will reconnect on the next db_ensure). */
int db_each_notify(struct db *db, void (*fn)(const char *channel, const char *payload, void *ctx),
		   void *ctx);

#endif
