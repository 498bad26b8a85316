/* store/auth: the statements behind bearer tokens, view keys and per-owner limits (see
 * store/auth.h). */
#include "store/auth.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/hex.h"
#include "store/exec.h"

static struct db_stmt s_token_lookup = DB_STMT("token_lookup",
					       "SELECT owner, admin, expires_in_s, read_only"
					       " FROM taskq.token_lookup(decode($1, 'hex'))"
					       " WHERE owner IS NOT NULL",
					       1);
static struct db_stmt s_token_create =
	DB_STMT("token_create",
		"INSERT INTO taskq.tokens (hash, prefix, owner, admin, note, expires_at, read_only)"
		" VALUES (decode($1, 'hex'), $2, $3, $4::boolean, $5,"
		" CASE WHEN $6::float8 > 0 THEN now() + make_interval(secs => $6::float8) END,"
		" $7::boolean)"
		" RETURNING id, expires_at",
		7);
static struct db_stmt s_token_list =
	DB_STMT("token_list",
		"SELECT id, prefix, owner, admin, coalesce(note, '') AS note, created_at,"
		" expires_at, status, read_only FROM taskq.token_list",
		0);
static struct db_stmt s_token_revoke =
	DB_STMT("token_revoke", "SELECT count(*) FROM taskq.token_revoke($1)", 1);
static struct db_stmt s_view_keys = DB_STMT("view_keys",
					    "SELECT id, encode(secret, 'hex') FROM taskq.view_keys"
					    " ORDER BY created_at DESC, id DESC",
					    0);

/* What a token lookup answers (owner: 65 bytes). */
struct lookup {
	char *owner;
	struct token_role *role;
	double *expires_in_s;
};

static void decode_lookup(const struct row *r, void *elem)
{
	struct lookup *l = elem;

	row_copy(r, 0, l->owner, 65);
	l->role->admin = row_bool(r, 1);
	*l->expires_in_s = row_double(r, 2, -1);
	l->role->read_only = row_bool(r, 3);
}

enum taskq_rc store_token_lookup(struct db *db, const char *hash_hex, bool *found, char *owner,
				 struct token_role *role, double *expires_in_s,
				 struct taskq_err *err)
{
	const char *p[1] = {hash_hex};
	struct lookup l = {owner, role, expires_in_s};

	return store_exec_row(db, &s_token_lookup, p, decode_lookup, &l, found, err);
}

/* What a token's insert answers. */
struct created {
	long long *id;
	char **expires_at;
};

static void decode_created(const struct row *r, void *elem)
{
	struct created *c = elem;

	*c->id = row_ll(r, 0, 0);
	*c->expires_at = row_time(r, 1);
}

enum taskq_rc store_token_create(struct db *db, const char *hash_hex, const char *prefix,
				 const char *owner, struct token_role role, double expires_s,
				 const char *note, long long *id, char **expires_at,
				 struct taskq_err *err)
{
	char exp[32];
	const char *p[7] = {hash_hex,
			    prefix,
			    owner,
			    role.admin ? "t" : "f",
			    note,
			    exp,
			    role.read_only ? "t" : "f"};
	struct created c = {id, expires_at};

	*expires_at = NULL;
	snprintf(exp, sizeof exp, "%.3f", expires_s);
	return store_exec_found(db, &s_token_create, p, decode_created, &c, "no token stored", err);
}

static const struct field token_fields[] = {
	FIELD(struct token_row, FIELD_LL, id),
	FIELD(struct token_row, FIELD_STR, prefix),
	FIELD(struct token_row, FIELD_STR, owner),
	FIELD(struct token_row, FIELD_BOOL, admin),
	FIELD(struct token_row, FIELD_STR, note),
	FIELD(struct token_row, FIELD_TIME, created_at),
	FIELD(struct token_row, FIELD_TIME, expires_at),
	FIELD(struct token_row, FIELD_STR, status),
	FIELD(struct token_row, FIELD_BOOL, read_only),
};
static const struct record_type token_record = RECORD_TYPE(token_fields);

enum taskq_rc store_token_list(struct db *db, struct token_row **out, int *n, struct taskq_err *err)
{
	return store_exec_records(db, &s_token_list, NULL, &token_record, sizeof **out, out, n,
				  err);
}

void store_tokens_free(struct token_row *t, int n)
{
	records_free(&token_record, t, n, sizeof *t);
}

enum taskq_rc store_token_revoke(struct db *db, const char *which, int *n, struct taskq_err *err)
{
	const char *p[1] = {which};
	long long v;
	enum taskq_rc rc = store_exec_ll(db, &s_token_revoke, p, 0, &v, err);

	*n = (int)v;
	return rc;
}

/* The view keys read so far: up to max, those whose secret is not 32 bytes of hex left out. */
struct view_keys {
	int max, *ids, *n;
	unsigned char (*secrets)[32];
};

static void decode_view_key(const struct row *r, void *elem)
{
	struct view_keys *k = elem;

	if (*k->n >= k->max || !hex_decode(row_text(r, 1), k->secrets[*k->n], 32))
		return;
	k->ids[*k->n] = (int)row_ll(r, 0, 0);
	(*k->n)++;
}

enum taskq_rc store_view_keys(struct db *db, int max, int *ids, unsigned char (*secrets)[32],
			      int *n, struct taskq_err *err)
{
	struct view_keys k = {max, ids, n, secrets};

	*n = 0;
	return store_exec_each(db, &s_view_keys, NULL, decode_view_key, &k, err);
}
