/* live: connections with their LISTEN channels, wake-ups, subscription notes and the
 * publisher's advisory lock (see store/live.h). */
#include "store/live.h"

#include <stdlib.h>

#include "store/exec.h"

static struct db_stmt s_wake = DB_STMT("wake", "SELECT pg_notify('taskq_wake', '')", 0);
static struct db_stmt s_wake_announce = DB_STMT("wake_announce", "SELECT taskq.announce($1)", 1);
static struct db_stmt s_watch_note =
	DB_STMT("watch_note", "SELECT pg_notify('taskq_watch', $1)", 1);
static struct db_stmt s_announce =
	DB_STMT("announce", "SELECT taskq.announce_tasks($1::uuid[])", 1);
static struct db_stmt s_publish_lock =
	DB_STMT("publish_lock", "SELECT pg_try_advisory_lock(1952539762, hashtext($1))", 1);

struct db *store_open(const char *conninfo, const char *app_name)
{
	return db_new(conninfo, app_name);
}

struct db *store_open_watcher(const char *conninfo, const char *app_name)
{
	struct db *db = store_open(conninfo, app_name);
	db_listen(db, "taskq_task");
	db_listen(db, "taskq_watch");
	db_listen(db, "taskq_tokens");
	db_listen(db, "taskq_output");
	return db;
}

struct db *store_open_listener(const char *conninfo, const char *app_name)
{
	struct db *db = store_open(conninfo, app_name);
	db_listen(db, "taskq_wake");
	db_listen(db, "taskq_breakers");
	return db;
}

enum taskq_rc store_wake(struct db *db, struct taskq_err *err)
{
	return store_exec(db, &s_wake, NULL, err);
}

enum taskq_rc store_wake_announce(struct db *db, const char *ids, struct taskq_err *err)
{
	const char *p[1] = {ids};
	return store_exec(db, &s_wake_announce, p, err);
}

enum taskq_rc store_watch_note(struct db *db, const char *note, struct taskq_err *err)
{
	const char *p[1] = {note};
	return store_exec(db, &s_watch_note, p, err);
}

enum taskq_rc store_publish_lock(struct db *db, const char *key, bool *got, struct taskq_err *err)
{
	const char *p[1] = {key};
	return store_exec_bool(db, &s_publish_lock, p, got, err);
}

enum taskq_rc store_announce(struct db *db, const char *const *ids, int n, struct taskq_err *err)
{
	char *arr = store_array_text(ids, n);
	const char *p[1] = {arr};
	enum taskq_rc rc = store_exec(db, &s_announce, p, err);

	free(arr);
	return rc;
}
