/*
 * store/output: the statements of streamed output (see store/output.h). The cap, the seq
 * numbering and the fencing live in sql/functions/output.sql; this file passes the
 * arguments and maps the rows.
 */
#include "store/output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "store/exec.h"

static struct db_stmt s_output_many =
	DB_STMT("output_many",
		"SELECT taskq.output_many($1, $2::uuid[], $3::int[], $4::jsonb, $5::boolean[],"
		" $6::bigint)",
		6);
static struct db_stmt s_output_page =
	DB_STMT("output_page", "SELECT * FROM taskq.output_page($1::uuid, $2::bigint, $3::int)", 3);
static struct db_stmt s_output_since = DB_STMT(
	"output_since", "SELECT * FROM taskq.output_since($1::uuid[], $2::bigint[], $3::int)", 3);

/* "{v0,v1,...}" for a bigint[] from v, or "{t,f,...}" for a boolean[] from b; caller frees. */
static char *array_of(const long long *v, const bool *b, int n)
{
	size_t cap = (size_t)n * 22 + 3, at = 1;
	char *out = xmalloc(cap);

	out[0] = '{';
	for (int i = 0; i < n; i++) {
		if (b)
			at += (size_t)snprintf(out + at, cap - at, "%s%c", i ? "," : "",
					       b[i] ? 't' : 'f');
		else
			at += (size_t)snprintf(out + at, cap - at, "%s%lld", i ? "," : "", v[i]);
	}
	snprintf(out + at, cap - at, "}");
	return out;
}

void store_output_free(struct out_chunk *c, int n)
{
	for (int i = 0; c && i < n; i++) {
		free(c[i].state);
		free(c[i].data);
		free(c[i].at);
	}
	free(c);
}

static void decode_chunk(const struct row *r, void *elem)
{
	struct out_chunk *c = elem;

	row_copy(r, row_col(r, "task_id"), c->task_id, sizeof c->task_id);
	c->state = row_str(r, row_col(r, "state"));
	c->seq = row_ll(r, row_col(r, "seq"), 0);
	c->attempt = (int)row_ll(r, row_col(r, "attempt"), 0);
	c->data = row_dup(r, row_col(r, "data"));
	c->at = row_time(r, row_col(r, "at"));
	c->truncated = row_bool(r, row_col(r, "truncated"));
	c->output_truncated = row_bool(r, row_col(r, "output_truncated"));
	c->last_seq = row_ll(r, row_col(r, "last_seq"), 0);
}

struct capped_rows {
	void (*on_capped)(const char *id, void *ctx);
	void *ctx;
};

static void decode_capped(const struct row *r, void *elem)
{
	struct capped_rows *c = elem;

	if (row_text(r, 0)[0])
		c->on_capped(row_text(r, 0), c->ctx);
}

enum taskq_rc store_output_many(struct db *db, const char *worker, const char *const *ids,
				const int *attempts, const bool *overs, int n,
				const char *chunks_json, long long cap,
				void (*on_capped)(const char *id, void *ctx), void *ctx,
				struct taskq_err *err)
{
	char *ids_arr = store_array_text(ids, n), *att_arr = store_array_int(attempts, n),
	     *over_arr = array_of(NULL, overs, n), caps[24];
	const char *p[6] = {worker, ids_arr, att_arr, chunks_json, over_arr, caps};
	struct capped_rows c = {on_capped, ctx};
	enum taskq_rc rc;

	snprintf(caps, sizeof caps, "%lld", cap);
	rc = store_exec_each(db, &s_output_many, p, decode_capped, &c, err);
	free(ids_arr);
	free(att_arr);
	free(over_arr);
	return rc;
}

enum taskq_rc store_output_page(struct db *db, const char *id, long long after, int limit,
				struct out_chunk **out, int *n, struct taskq_err *err)
{
	char as[24], ls[16];
	const char *p[3] = {id, as, ls};

	snprintf(as, sizeof as, "%lld", after);
	snprintf(ls, sizeof ls, "%d", limit);
	return store_exec_rows(db, &s_output_page, p, sizeof **out, decode_chunk, out, n, err);
}

enum taskq_rc store_output_since(struct db *db, const char *const *ids, const long long *afters,
				 int n, int limit, struct out_chunk **out, int *nout,
				 struct taskq_err *err)
{
	char *ids_arr = store_array_text(ids, n), *after_arr = array_of(afters, NULL, n), ls[16];
	const char *p[3] = {ids_arr, after_arr, ls};
	enum taskq_rc rc;

	snprintf(ls, sizeof ls, "%d", limit);
	rc = store_exec_rows(db, &s_output_since, p, sizeof **out, decode_chunk, out, nout, err);
	free(ids_arr);
	free(after_arr);
	return rc;
}
