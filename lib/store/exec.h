/*
 * exec: what the lib/store/ files share, and nothing outside lib/store/ includes: a statement
 * (each file owns its own, as static struct db_stmt), running it (db_exec, in lib/store/db.c),
 * the one family of helpers that decode result rows (columns by number or by name, NULL-aware)
 * and run-and-decode shapes (one value, one row, all rows into an array, task rows), and the
 * PostgreSQL array parameters built from typed arrays. Every PGresult is cleared in the
 * function that received it; none leaves lib/store/.
 */
#ifndef TASKQ_STORE_EXEC_H
#define TASKQ_STORE_EXEC_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "model/record.h"
#include "model/task.h"

struct db; /* store/db.h */

/* One prepared statement: its name (unique across lib/store/), SQL text and parameter count.
 * slot is db.c's: the statement's place in each connection's "prepared here" flags, given on
 * its first run. Define each as static struct db_stmt x = DB_STMT(name, sql, nparams). */
struct db_stmt {
	const char *name;
	const char *sql;
	int nparams;
	atomic_int slot;
};
#define DB_STMT(name, sql, nparams)         \
	{                                   \
		(name), (sql), (nparams), 0 \
	}

/* Runs stmt (prepared on this connection first, once) with text parameters (NULL entries
 * are SQL NULL). On success *out receives the result (the caller clears it) and TASKQ_OK.
 * On failure *out is NULL; the rc maps the SQLSTATE (connection loss → TASKQ_DB_DOWN). */
enum taskq_rc db_exec(struct db *db, struct db_stmt *stmt, const char *const *params,
		      PGresult **out, struct taskq_err *err);
/* Runs SQL text without parameters (migrations: several statements). */
enum taskq_rc db_exec_script(struct db *db, const char *sql, struct taskq_err *err);

/*
 * Retry once on a fresh connection after a lost one. A connection that dies while a statement
 * runs (the server restarted or ended the backend, the link broke) leaves its outcome unknown:
 * the statement may have been rolled back, or committed with only its answer lost. db_retry_lost
 * runs op(db, ctx, false, err); when it fails with TASKQ_DB_DOWN because one of its statements
 * lost the connection (not because no connection could be made: then nothing was sent), it
 * runs op(db, ctx, true, err) once more, which reconnects first. op must be idempotent: its
 * second run finds what the first one committed rather than doing it again (the submits make
 * their task ids before the first run and insert only the ids that are not there yet), and it
 * answers as if the first had succeeded. again tells it that it runs for the second time, for
 * an op whose fast first statement cannot tell (a plain INSERT). The op's rc is returned.
 */
typedef enum taskq_rc db_retry_fn(struct db *db, void *ctx, bool again, struct taskq_err *err);
enum taskq_rc db_retry_lost(struct db *db, db_retry_fn *op, void *ctx, struct taskq_err *err);

/* ---- decoding one row: col < 0 (a column the result lacks) reads as SQL NULL ---------- */

struct row {
	const PGresult *res;
	int i;
};

/* The number of the column called name, or -1. */
int row_col(const struct row *r, const char *name);
/* The text, borrowed from the result ("" for NULL). */
const char *row_text(const struct row *r, int col);
/* A copy of the text, or NULL for NULL; the caller frees it. */
char *row_str(const struct row *r, int col);
/* A copy of the text, "" for NULL (never NULL); the caller frees it. */
char *row_dup(const struct row *r, int col);
/* The text into buf (truncated to size - 1 bytes; "" for NULL). */
void row_copy(const struct row *r, int col, char *buf, size_t size);
long long row_ll(const struct row *r, int col, long long dflt);
double row_double(const struct row *r, int col, double dflt);
/* A boolean column: true only for true. */
bool row_bool(const struct row *r, int col);
/* A timestamptz column as RFC 3339 UTC text (NULL for NULL and for 'infinity'); the caller
 * frees it. */
char *row_time(const struct row *r, int col);
/* A store_decode_fn: a copy of the first column (row_dup) into *(char **)elem. */
void row_dup_first(const struct row *r, void *elem);
/* A row into the record rec of type t (model/record.h), each field from the column of its
 * name; the caller has zeroed rec. */
void row_record(const struct row *r, const struct record_type *t, void *rec);
/* A task row (columns by name, as taskq.tasks has them) into *(struct task *)t, which the
 * caller cleans up with task_cleanup. */
void row_task(const struct row *r, void *t);

/* ---- running and decoding ------------------------------------------------------------ */

/* Decodes row r into elem (an element of the caller's array). */
typedef void store_decode_fn(const struct row *r, void *elem);

/* Runs a statement for its effect: the result is not read. */
enum taskq_rc store_exec(struct db *db, struct db_stmt *stmt, const char *const *params,
			 struct taskq_err *err);
/* Runs a statement that answers at most one value: *val is a copy of the first column of the
 * first row, or NULL (no row, or SQL NULL); the caller frees it. */
enum taskq_rc store_exec_value(struct db *db, struct db_stmt *stmt, const char *const *params,
			       char **val, struct taskq_err *err);
/* The same as a number: dflt for no row or NULL (also after a failure). */
enum taskq_rc store_exec_ll(struct db *db, struct db_stmt *stmt, const char *const *params,
			    long long dflt, long long *val, struct taskq_err *err);
/* The same as a boolean: false for no row or NULL; val may be NULL. */
enum taskq_rc store_exec_bool(struct db *db, struct db_stmt *stmt, const char *const *params,
			      bool *val, struct taskq_err *err);
/* Runs a statement and decodes its first row into elem (decode may be NULL: only whether
 * there was one); *found says whether there was a row. */
enum taskq_rc store_exec_row(struct db *db, struct db_stmt *stmt, const char *const *params,
			     store_decode_fn *decode, void *elem, bool *found,
			     struct taskq_err *err);
/* store_exec_row for a row that must be there: none is TASKQ_NOTFOUND, with the message
 * missing ("no such schedule"). */
enum taskq_rc store_exec_found(struct db *db, struct db_stmt *stmt, const char *const *params,
			       store_decode_fn *decode, void *elem, const char *missing,
			       struct taskq_err *err);
/* store_exec_row for a function that always answers one row: none is TASKQ_INTERNAL ("fn
 * returned no row"). */
enum taskq_rc store_exec_one(struct db *db, struct db_stmt *stmt, const char *const *params,
			     store_decode_fn *decode, void *elem, const char *fn,
			     struct taskq_err *err);
/* Runs a statement and hands every row to decode, with ctx as its elem each time. */
enum taskq_rc store_exec_each(struct db *db, struct db_stmt *stmt, const char *const *params,
			      store_decode_fn *decode, void *ctx, struct taskq_err *err);
/* Runs a statement and decodes every row into a new array of *n elements of size bytes
 * (zeroed, with one spare zeroed element at the end). out is the address of the caller's
 * typed pointer (a struct x **, size being sizeof **out), which receives the array; the
 * caller frees it with the area's _free function. On failure that pointer is NULL and *n 0. */
enum taskq_rc store_exec_rows(struct db *db, struct db_stmt *stmt, const char *const *params,
			      size_t size, store_decode_fn *decode, void *out, int *n,
			      struct taskq_err *err);
/* store_exec_rows for records of type t (model/record.h): each row decoded by row_record,
 * columns by the fields' names; the caller frees the array with records_free. */
enum taskq_rc store_exec_records(struct db *db, struct db_stmt *stmt, const char *const *params,
				 const struct record_type *t, size_t size, void *out, int *n,
				 struct taskq_err *err);
/* Runs a statement returning task rows into *out (the caller cleans it up; left as it was
 * on failure). */
enum taskq_rc store_exec_tasks(struct db *db, struct db_stmt *stmt, const char *const *params,
			       struct task_list *out, struct taskq_err *err);

/* ---- array parameters ----------------------------------------------------------------- */

/* v[0..n) as a PostgreSQL array literal of text ("{"a","b"}", each element quoted), for a
 * $k::uuid[] or $k::text[] parameter; the caller frees it. */
char *store_array_text(const char *const *v, int n);
/* v[0..n) as a PostgreSQL array literal of integers ("{1,2}"); the caller frees it. */
char *store_array_int(const int *v, int n);

#endif
