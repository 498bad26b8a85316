/*
 * exec: the row decoding and run-and-decode helpers every lib/store/ file uses (see
 * store/exec.h), the decoding of task rows, and the array parameters. No statement of its own,
 * no verb of the queue: those belong to the area files.
 */
#include "store/exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "model/taskjson.h"

/* ---- one row ------------------------------------------------------------------------- */

int row_col(const struct row *r, const char *name)
{
	return PQfnumber(r->res, name);
}

static bool row_null(const struct row *r, int col)
{
	return col < 0 || PQgetisnull(r->res, r->i, col);
}

const char *row_text(const struct row *r, int col)
{
	return row_null(r, col) ? "" : PQgetvalue(r->res, r->i, col);
}

char *row_str(const struct row *r, int col)
{
	return row_null(r, col) ? NULL : xstrdup(PQgetvalue(r->res, r->i, col));
}

char *row_dup(const struct row *r, int col)
{
	return xstrdup(row_text(r, col));
}

void row_dup_first(const struct row *r, void *elem)
{
	*(char **)elem = row_dup(r, 0);
}

void row_copy(const struct row *r, int col, char *buf, size_t size)
{
	snprintf(buf, size, "%s", row_text(r, col));
}

long long row_ll(const struct row *r, int col, long long dflt)
{
	return row_null(r, col) ? dflt : strtoll(PQgetvalue(r->res, r->i, col), NULL, 10);
}

double row_double(const struct row *r, int col, double dflt)
{
	return row_null(r, col) ? dflt : strtod(PQgetvalue(r->res, r->i, col), NULL);
}

bool row_bool(const struct row *r, int col)
{
	return !strcmp(row_text(r, col), "t");
}

/* PostgreSQL's ISO output in UTC ("2026-11-24 22:42:00.123456+00") → RFC 3339
 * ("2026-11-24T22:42:00.123456Z"). 'infinity' (the run_at of a task blocked by its parents:
 * no time yet) is NULL. */
char *row_time(const struct row *r, int col)
{
	char *s = row_str(r, col);
	size_t n;

	if (s && !strcmp(s, "infinity")) {
		free(s);
		s = NULL;
	}
	if (!s)
		return NULL;
	n = strlen(s);
	if (n > 10 && s[10] == ' ')
		s[10] = 'T';
	if (n > 3 && !strcmp(s + n - 3, "+00")) {
		s[n - 3] = 'Z';
		s[n - 2] = '\0';
	}
	return s;
}

/* A uuid[] column as JSON array text (taskjson_ids_from_pg); NULL for NULL. */
static char *row_uuid_array(const struct row *r, int col)
{
	return row_null(r, col) ? NULL : taskjson_ids_from_pg(PQgetvalue(r->res, r->i, col));
}

void row_record(const struct row *r, const struct record_type *t, void *rec)
{
	for (size_t k = 0; k < t->n; k++) {
		const struct field *f = &t->f[k];
		void *p = record_at(rec, f);
		int col = row_col(r, f->name);

		switch (f->type) {
		case FIELD_CHARS:
			row_copy(r, col, p, (size_t)f->dflt);
			break;
		case FIELD_STR:
		case FIELD_JSON:
			*(char **)p = row_str(r, col);
			break;
		case FIELD_TIME:
			*(char **)p = row_time(r, col);
			break;
		case FIELD_IDS:
			*(char **)p = row_uuid_array(r, col);
			break;
		case FIELD_INT:
		case FIELD_INT_OPT:
			*(int *)p = (int)row_ll(r, col, f->dflt);
			break;
		case FIELD_LL:
			*(long long *)p = row_ll(r, col, f->dflt);
			break;
		case FIELD_DOUBLE:
			*(double *)p = row_double(r, col, f->dflt);
			break;
		case FIELD_BOOL:
			*(bool *)p = row_bool(r, col);
			break;
		case FIELD_ENUM:
			*(int *)p = record_enum(f, row_text(r, col));
			break;
		}
	}
}

void row_task(const struct row *r, void *elem)
{
	memset(elem, 0, sizeof(struct task));
	row_record(r, &task_record, elem);
}

/* ---- running and decoding ------------------------------------------------------------ */

enum taskq_rc store_exec(struct db *db, struct db_stmt *stmt, const char *const *params,
			 struct taskq_err *err)
{
	PGresult *res;
	enum taskq_rc rc = db_exec(db, stmt, params, &res, err);

	PQclear(res);
	return rc;
}

enum taskq_rc store_exec_value(struct db *db, struct db_stmt *stmt, const char *const *params,
			       char **val, struct taskq_err *err)
{
	PGresult *res;
	enum taskq_rc rc = db_exec(db, stmt, params, &res, err);

	*val = NULL;
	if (rc)
		return rc;
	if (PQntuples(res) > 0)
		*val = row_str(&(struct row){res, 0}, 0);
	PQclear(res);
	return TASKQ_OK;
}

enum taskq_rc store_exec_ll(struct db *db, struct db_stmt *stmt, const char *const *params,
			    long long dflt, long long *val, struct taskq_err *err)
{
	char *v;
	enum taskq_rc rc = store_exec_value(db, stmt, params, &v, err);

	*val = v ? strtoll(v, NULL, 10) : dflt;
	free(v);
	return rc;
}

enum taskq_rc store_exec_bool(struct db *db, struct db_stmt *stmt, const char *const *params,
			      bool *val, struct taskq_err *err)
{
	char *v;
	enum taskq_rc rc = store_exec_value(db, stmt, params, &v, err);

	if (val)
		*val = v && !strcmp(v, "t");
	free(v);
	return rc;
}

enum taskq_rc store_exec_row(struct db *db, struct db_stmt *stmt, const char *const *params,
			     store_decode_fn *decode, void *elem, bool *found,
			     struct taskq_err *err)
{
	PGresult *res;
	enum taskq_rc rc = db_exec(db, stmt, params, &res, err);

	*found = false;
	if (rc)
		return rc;
	if (PQntuples(res) > 0) {
		*found = true;
		if (decode)
			decode(&(struct row){res, 0}, elem);
	}
	PQclear(res);
	return TASKQ_OK;
}

enum taskq_rc store_exec_found(struct db *db, struct db_stmt *stmt, const char *const *params,
			       store_decode_fn *decode, void *elem, const char *missing,
			       struct taskq_err *err)
{
	bool found;
	enum taskq_rc rc = store_exec_row(db, stmt, params, decode, elem, &found, err);

	if (rc == TASKQ_OK && !found)
		return taskq_fail(err, TASKQ_NOTFOUND, "%s", missing);
	return rc;
}

enum taskq_rc store_exec_one(struct db *db, struct db_stmt *stmt, const char *const *params,
			     store_decode_fn *decode, void *elem, const char *fn,
			     struct taskq_err *err)
{
	enum taskq_rc rc = store_exec_found(db, stmt, params, decode, elem, fn, err);

	return rc == TASKQ_NOTFOUND ? taskq_fail(err, TASKQ_INTERNAL, "%s returned no row", fn)
				    : rc;
}

enum taskq_rc store_exec_each(struct db *db, struct db_stmt *stmt, const char *const *params,
			      store_decode_fn *decode, void *ctx, struct taskq_err *err)
{
	PGresult *res;
	enum taskq_rc rc = db_exec(db, stmt, params, &res, err);

	if (rc)
		return rc;
	for (int i = 0, n = PQntuples(res); i < n; i++)
		decode(&(struct row){res, i}, ctx);
	PQclear(res);
	return TASKQ_OK;
}

/* Decodes every row of res into a new array of size-byte elements (one spare at the end). */
/* How rows become elements: a decode function, or a record type's field table. */
struct decoder {
	store_decode_fn *fn;
	const struct record_type *t;
};

static void *decode_all(const PGresult *res, size_t size, const struct decoder *d, int *n)
{
	char *v;

	*n = PQntuples(res);
	v = xcalloc((size_t)*n + 1, size);
	for (int i = 0; i < *n; i++) {
		const struct row r = {res, i};

		if (d->t)
			row_record(&r, d->t, v + (size_t)i * size);
		else
			d->fn(&r, v + (size_t)i * size);
	}
	return v;
}

static enum taskq_rc exec_decoded(struct db *db, struct db_stmt *stmt, const char *const *params,
				  size_t size, const struct decoder *d, void *out, int *n,
				  struct taskq_err *err)
{
	PGresult *res;
	enum taskq_rc rc = db_exec(db, stmt, params, &res, err);
	void *v = NULL;

	*n = 0;
	if (rc == TASKQ_OK) {
		v = decode_all(res, size, d, n);
		PQclear(res);
	}
	memcpy(out, &v, sizeof v); /* into the caller's struct x *, whatever x is */
	return rc;
}

enum taskq_rc store_exec_rows(struct db *db, struct db_stmt *stmt, const char *const *params,
			      size_t size, store_decode_fn *decode, void *out, int *n,
			      struct taskq_err *err)
{
	return exec_decoded(db, stmt, params, size, &(struct decoder){decode, NULL}, out, n, err);
}

enum taskq_rc store_exec_records(struct db *db, struct db_stmt *stmt, const char *const *params,
				 const struct record_type *t, size_t size, void *out, int *n,
				 struct taskq_err *err)
{
	return exec_decoded(db, stmt, params, size, &(struct decoder){NULL, t}, out, n, err);
}

enum taskq_rc store_exec_tasks(struct db *db, struct db_stmt *stmt, const char *const *params,
			       struct task_list *out, struct taskq_err *err)
{
	PGresult *res;
	enum taskq_rc rc = db_exec(db, stmt, params, &res, err);
	int n;

	if (rc)
		return rc;
	if (PQntuples(res) == 0) {
		out->v = NULL;
		out->n = 0;
	} else {
		out->v = decode_all(res, sizeof *out->v, &(struct decoder){row_task, NULL}, &n);
		out->n = (size_t)n;
	}
	PQclear(res);
	return TASKQ_OK;
}

/* ---- array parameters ----------------------------------------------------------------- */

char *store_array_text(const char *const *v, int n)
{
	size_t cap = 3, at = 0;
	char *out;

	for (int i = 0; i < n; i++)
		cap += 2 * strlen(v[i]) + 3;
	out = xmalloc(cap);
	out[at++] = '{';
	for (int i = 0; i < n; i++) {
		if (i)
			out[at++] = ',';
		out[at++] = '"';
		for (const char *c = v[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				out[at++] = '\\';
			out[at++] = *c;
		}
		out[at++] = '"';
	}
	out[at++] = '}';
	out[at] = '\0';
	return out;
}

char *store_array_int(const int *v, int n)
{
	size_t cap = (size_t)n * 12 + 3, at = 1;
	char *out = xmalloc(cap);

	out[0] = '{';
	for (int i = 0; i < n; i++)
		at += (size_t)snprintf(out + at, cap - at, "%s%d", i ? "," : "", v[i]);
	snprintf(out + at, cap - at, "}");
	return out;
}
