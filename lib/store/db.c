/*
 * db: connection, reconnect, prepared statements and SQLSTATE mapping for libpq (see
 * store/db.h; db_exec and db_exec_script are declared in store/exec.h, for lib/store/ only).
 * It knows no statement of its own: each lib/store/ file owns its statements and hands them
 * to db_exec, which prepares each once per connection.
 */
#include "store/db.h"

#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "store/dbreach.h"
#include "store/exec.h"

#define DB_MAX_LISTEN 4

struct db {
	PGconn *conn;
	char *conninfo;
	const char *app_name;
	int reach; /* dbreach entry of conninfo */
	const char *listen[DB_MAX_LISTEN];
	int nlisten;
	bool *prepared; /* by statement slot (struct db_stmt): prepared on this connection */
	int nprepared;
	bool ready;
	bool was_ready;   /* for logging a reconnect once */
	bool lost_midway; /* a statement lost the connection (db_retry_lost) */
	unsigned session; /* enum db_session_flag: settings made on each (re)connect */
};

/* Process-wide, for /metrics (relaxed atomics: they are counts, not synchronisation). */
static atomic_ullong g_lost, g_reconnects, g_connect_failed, g_statement_errors;
/* The slots handed out to statements so far (struct db_stmt's slot). */
static atomic_int g_slots;

static void bump(atomic_ullong *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

void db_counters(struct db_counters *out)
{
	out->lost = atomic_load_explicit(&g_lost, memory_order_relaxed);
	out->reconnects = atomic_load_explicit(&g_reconnects, memory_order_relaxed);
	out->connect_failed = atomic_load_explicit(&g_connect_failed, memory_order_relaxed);
	out->statement_errors = atomic_load_explicit(&g_statement_errors, memory_order_relaxed);
}

struct db *db_new(const char *conninfo, const char *app_name)
{
	struct db *db = xcalloc(1, sizeof *db);
	db->conninfo = xstrdup(conninfo ? conninfo : "");
	db->reach = dbreach_entry(db->conninfo);
	db->app_name = app_name;
	return db;
}

/* What each enum db_session_flag sets (store/db.h says why). */
static const struct {
	unsigned flag;
	const char *sql;
} g_session[] = {
	{DB_GENERIC_PLANS, "SET plan_cache_mode = force_generic_plan"},
	{DB_ANNOUNCE_LATER, "SET taskq.announce = 'later'"},
	{DB_ASYNC_COMMIT, "SET synchronous_commit = off"},
	{DB_OWN_INSERTS, "SET taskq.announce_inserts = off"},
};

void db_session(struct db *db, unsigned flags)
{
	db->session |= flags;
}

void db_free(struct db *db)
{
	if (!db)
		return;
	if (db->conn)
		PQfinish(db->conn);
	free(db->conninfo);
	free(db->prepared);
	free(db);
}

void db_listen(struct db *db, const char *channel)
{
	if (db->nlisten < DB_MAX_LISTEN)
		db->listen[db->nlisten++] = channel;
}

bool db_connected(const struct db *db)
{
	return db->ready;
}

static void drop(struct db *db)
{
	if (db->conn)
		PQfinish(db->conn);
	db->conn = NULL;
	db->ready = false;
	if (db->nprepared)
		memset(db->prepared, 0, (size_t)db->nprepared * sizeof *db->prepared);
}

/* Maps a failed result (or a dead connection) to an rc and message. */
static enum taskq_rc map_error(struct db *db, const PGresult *res, struct taskq_err *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *msg = primary ? primary : PQerrorMessage(db->conn);

	if (PQstatus(db->conn) != CONNECTION_OK || !state || !strncmp(state, "08", 2) ||
	    !strncmp(state, "57P", 3)) {
		if (db->ready) {
			log_warn("event=db_lost sqlstate=%s msg=\"%s\"", state ? state : "-", msg);
			bump(&g_lost);
		}
		drop(db);
		return taskq_fail(err, TASKQ_DB_DOWN, "database unavailable");
	}
	if (!strcmp(state, "23505"))
		return taskq_fail(err, TASKQ_CONFLICT, "%s", msg);
	if (!strcmp(state,
		    "53400")) /* an owner's cap on unfinished tasks (sql/functions/owners.sql) */
		return taskq_fail(err, TASKQ_OVER_CAP, "%s", msg);
	if (!strncmp(state, "22", 2) || !strncmp(state, "23", 2))
		return taskq_fail(err, TASKQ_INVAL, "%s", msg);
	log_error("event=db_error sqlstate=%s msg=\"%s\"", state, msg);
	bump(&g_statement_errors);
	return taskq_fail(err, TASKQ_INTERNAL, "database error %s: %s", state, msg);
}

static enum taskq_rc run_simple(struct db *db, const char *sql, struct taskq_err *err)
{
	PGresult *res = PQexec(db->conn, sql);
	enum taskq_rc rc = TASKQ_OK;
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = map_error(db, res, err);
	PQclear(res);
	return rc;
}

/* Server notices (e.g. "already exists, skipping") are not events worth a line. */
static void on_notice(void *arg, const char *message)
{
	(void)arg;
	log_debug("event=db_notice msg=\"%.200s\"", message);
}

/*
 * How long a connection may hang on a link that went silent (a cut cable, a host that died
 * without a word): libpq's calls block, and without a bound a thread would wait for TCP's own
 * retransmission timeout (15 minutes). The defaults come before the conninfo, which may
 * override each (`keepalives_idle=30`, `connect_timeout=10`...); on a unix socket they do
 * nothing. With these:
 * - connect: 5 s per host of a multi-host conninfo (`host=pg1,pg2`), then the next;
 * - a statement sent into a dead link: the kernel gives up after 5 s without an
 *   acknowledgement (tcp_user_timeout), the statement fails, the next call reconnects;
 * - a connection waiting for an answer or a notification: probed after 5 s of silence, every
 *   2 s, and closed once the probes went unanswered for the user timeout (about 10 s after
 *   the last word from the server).
 * The application name comes last: the process's, whatever the conninfo says.
 */
static const char *const conn_keys[] = {"connect_timeout",
					"keepalives",
					"keepalives_idle",
					"keepalives_interval",
					"keepalives_count",
					"tcp_user_timeout",
					"dbname",
					"application_name",
					NULL};
#define CONN_DBNAME 6

static enum taskq_rc connect_now(struct db *db, struct taskq_err *err)
{
	const char *vals[] = {"5", "1", "5", "2", "3", "5000", NULL, NULL, NULL};
	enum taskq_rc rc;
	bool probe;
	double t0;

	drop(db);
	if (!dbreach_may_try(db->reach, &probe)) {
		bump(&g_connect_failed);
		return taskq_fail(
			err, TASKQ_DB_DOWN,
			"database unavailable: unreachable (another connection is trying)");
	}
	vals[CONN_DBNAME] = db->conninfo;
	vals[CONN_DBNAME + 1] = db->app_name;
	t0 = clock_mono_s();
	db->conn = PQconnectdbParams(conn_keys, vals, 1);
	dbreach_done(db->reach, probe, PQstatus(db->conn) == CONNECTION_OK, clock_mono_s() - t0);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		char msg[200];
		snprintf(msg, sizeof msg, "%s", PQerrorMessage(db->conn));
		drop(db);
		bump(&g_connect_failed);
		if (db->was_ready)
			log_debug("event=db_connect_failed msg=\"%s\"", msg);
		return taskq_fail(err, TASKQ_DB_DOWN, "database unavailable: %s", msg);
	}
	PQsetNoticeProcessor(db->conn, on_notice, NULL);
	if ((rc = run_simple(db, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'", err)))
		return rc;
	for (size_t i = 0; i < sizeof g_session / sizeof g_session[0]; i++)
		if ((db->session & g_session[i].flag) &&
		    (rc = run_simple(db, g_session[i].sql, err)))
			return rc;
	for (int i = 0; i < db->nlisten; i++) {
		char *ident = PQescapeIdentifier(db->conn, db->listen[i], strlen(db->listen[i]));
		char sql[128];
		snprintf(sql, sizeof sql, "LISTEN %s", ident ? ident : "taskq_wake");
		PQfreemem(ident);
		if ((rc = run_simple(db, sql, err)))
			return rc;
	}
	if (db->was_ready) {
		log_info("event=db_reconnected");
		bump(&g_reconnects);
	}
	db->ready = db->was_ready = true;
	return TASKQ_OK;
}

/* An idle connection whose socket is readable has been told something: usually that the
 * server is shutting down, or EOF. Find out before sending a statement into it. */
static void check_idle(struct db *db)
{
	struct pollfd p = {.fd = PQsocket(db->conn), .events = POLLIN};

	if (p.fd < 0) {
		drop(db);
		return;
	}
	if (poll(&p, 1, 0) <= 0)
		return;
	/* Only a LISTENing connection expects unsolicited messages. On any other, something
	 * readable while idle is the server's goodbye (a FATAL, then EOF): reconnect now rather
	 * than fail the statement we are about to send. */
	if (db->nlisten == 0 || (p.revents & (POLLHUP | POLLERR)) || !PQconsumeInput(db->conn) ||
	    PQstatus(db->conn) != CONNECTION_OK) {
		log_info("event=db_reconnect reason=\"connection closed while idle\"");
		bump(&g_lost);
		drop(db);
	}
}

enum taskq_rc db_ensure(struct db *db, struct taskq_err *err)
{
	if (db->ready && dbreach_unreachable(db->reach)) {
		log_debug("event=db_drop reason=\"the database is unreachable\"");
		drop(db);
	}
	if (db->ready)
		check_idle(db);
	if (db->ready)
		return TASKQ_OK;
	return connect_now(db, err);
}

#define DB_TRIES 3

/* Whether a failed statement may simply run again: it lost a deadlock or a serialization
 * conflict (its transaction was rolled back whole), and it was a transaction of its own (an
 * explicit one is the caller's to repeat). Transactions that settle the children of parents
 * finishing together lock rows in one order, but two can still cross (a child submitted
 * while its parents finish in a batch): PostgreSQL then picks a victim. */
static bool run_again(struct db *db, const PGresult *res, const char *name)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	if (!state || (strcmp(state, "40P01") && strcmp(state, "40001")) ||
	    PQstatus(db->conn) != CONNECTION_OK || PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		return false;
	log_info("event=db_retry sqlstate=%s statement=%s", state, name);
	return true;
}

/* The statement's slot: given on its first run in this process (a race between two threads
 * wastes a number, nothing else), the same for every connection after that. */
static int slot_of(struct db_stmt *s)
{
	int slot = atomic_load_explicit(&s->slot, memory_order_acquire), none = 0;

	if (slot)
		return slot - 1;
	slot = atomic_fetch_add_explicit(&g_slots, 1, memory_order_relaxed) + 1;
	if (!atomic_compare_exchange_strong_explicit(&s->slot, &none, slot, memory_order_acq_rel,
						     memory_order_acquire))
		slot = none; /* another thread gave it one first */
	return slot - 1;
}

/* Whether statement slot is prepared on this connection; grows the flags to hold it. */
static bool *prepared_flag(struct db *db, int slot)
{
	if (slot >= db->nprepared) {
		int n = slot + 16;
		db->prepared = xrealloc(db->prepared, (size_t)n * sizeof *db->prepared);
		memset(db->prepared + db->nprepared, 0,
		       (size_t)(n - db->nprepared) * sizeof *db->prepared);
		db->nprepared = n;
	}
	return &db->prepared[slot];
}

enum taskq_rc db_exec(struct db *db, struct db_stmt *stmt, const char *const *params,
		      PGresult **out, struct taskq_err *err)
{
	enum taskq_rc rc;
	PGresult *res;
	ExecStatusType st;
	bool *prepared;

	*out = NULL;
	if ((rc = db_ensure(db, err)))
		return rc;
	prepared = prepared_flag(db, slot_of(stmt));
	if (!*prepared) {
		/* prepared on first use, so a connection only prepares what it runs, and the
		 * migrator can connect before the schema exists */
		res = PQprepare(db->conn, stmt->name, stmt->sql, stmt->nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			rc = map_error(db, res, err);
			PQclear(res);
			db->lost_midway |= rc == TASKQ_DB_DOWN;
			return rc;
		}
		PQclear(res);
		*prepared = true;
	}
	for (int tries = 1;; tries++) {
		double t0 = clock_mono_s();

		res = PQexecPrepared(db->conn, stmt->name, stmt->nparams, params, NULL, NULL, 0);
		st = PQresultStatus(res);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
			break;
		if (tries < DB_TRIES && run_again(db, res, stmt->name)) {
			PQclear(res);
			continue;
		}
		rc = map_error(db, res, err);
		PQclear(res);
		if (rc == TASKQ_DB_DOWN) {
			dbreach_lost(db->reach, clock_mono_s() - t0);
			db->lost_midway = true;
		}
		return rc;
	}
	*out = res;
	return TASKQ_OK;
}

enum taskq_rc db_exec_script(struct db *db, const char *sql, struct taskq_err *err)
{
	enum taskq_rc rc = db_ensure(db, err);

	if (rc)
		return rc;
	rc = run_simple(db, sql, err);
	db->lost_midway |= rc == TASKQ_DB_DOWN;
	return rc;
}

enum taskq_rc db_retry_lost(struct db *db, db_retry_fn *op, void *ctx, struct taskq_err *err)
{
	enum taskq_rc rc;

	db->lost_midway = false;
	rc = op(db, ctx, false, err);
	if (rc != TASKQ_DB_DOWN || !db->lost_midway)
		return rc; /* done, refused, or no connection to be had: nothing was sent */
	log_info("event=db_retry reason=\"connection lost during a statement\"");
	db->lost_midway = false;
	return op(db, ctx, true, err);
}

int db_socket(struct db *db)
{
	return db->ready ? PQsocket(db->conn) : -1;
}

int db_each_notify(struct db *db, void (*fn)(const char *channel, const char *payload, void *ctx),
		   void *ctx)
{
	PGnotify *n;
	int count = 0;

	if (!db->ready)
		return -1;
	if (!PQconsumeInput(db->conn) || PQstatus(db->conn) != CONNECTION_OK) {
		log_warn("event=db_lost msg=\"listen connection closed\"");
		bump(&g_lost);
		drop(db);
		return -1;
	}
	while ((n = PQnotifies(db->conn)) != NULL) {
		count++;
		fn(n->relname, n->extra, ctx);
		PQfreemem(n);
	}
	return count;
}
