/*
 * store_auth: the statements behind bearer tokens and per-owner limits (see store.h). Only
 * hashes go to PostgreSQL; the token itself never leaves the process that holds it.
 */
#include "store/impl.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "base/xalloc.h"

enum taskq_rc store_token_lookup(struct db *db, const char *hash_hex, bool *found, char *owner,
				 bool *admin, double *expires_in_s, struct taskq_err *err)
{
	const char *p[1] = {hash_hex};
	PGresult *res;
	enum taskq_rc rc = db_exec(db, S_TOKEN_LOOKUP, p, &res, err);

	*found = false;
	if (rc)
		return rc;
	if (PQntuples(res) == 1) {
		*found = true;
		snprintf(owner, 65, "%s", PQgetvalue(res, 0, 0));
		*admin = !strcmp(PQgetvalue(res, 0, 1), "t");
		*expires_in_s = PQgetisnull(res, 0, 2) ? -1 : strtod(PQgetvalue(res, 0, 2), NULL);
	}
	PQclear(res);
	return TASKQ_OK;
}

enum taskq_rc store_token_create(struct db *db, const char *hash_hex, const char *prefix,
				 const char *owner, bool admin, double expires_s, const char *note,
				 long long *id, struct taskq_err *err)
{
	char exp[32], *v;
	const char *p[6] = {hash_hex, prefix, owner, admin ? "t" : "f", note, exp};
	enum taskq_rc rc;

	snprintf(exp, sizeof exp, "%.3f", expires_s);
	rc = store_exec_value(db, S_TOKEN_CREATE, p, &v, err);
	*id = v ? strtoll(v, NULL, 10) : 0;
	free(v);
	return rc;
}

enum taskq_rc store_token_list(struct db *db, struct token_row **out, int *n,
			       struct taskq_err *err)
{
	PGresult *res;
	enum taskq_rc rc = db_exec(db, S_TOKEN_LIST, NULL, &res, err);

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	*n = PQntuples(res);
	*out = xcalloc((size_t)*n + 1, sizeof **out);
	for (int i = 0; i < *n; i++) {
		struct token_row *t = &(*out)[i];
		t->id = store_opt_ll(res, i, 0, 0);
		t->prefix = store_opt_str(res, i, 1);
		t->owner = store_opt_str(res, i, 2);
		t->admin = !strcmp(PQgetvalue(res, i, 3), "t");
		t->note = store_opt_str(res, i, 4);
		t->created_at = store_opt_time(res, i, 5);
		t->expires_at = store_opt_time(res, i, 6);
		t->status = store_opt_str(res, i, 7);
	}
	PQclear(res);
	return TASKQ_OK;
}

void store_tokens_free(struct token_row *t, int n)
{
	for (int i = 0; i < n; i++) {
		free(t[i].prefix);
		free(t[i].owner);
		free(t[i].note);
		free(t[i].created_at);
		free(t[i].expires_at);
		free(t[i].status);
	}
	free(t);
}

enum taskq_rc store_token_revoke(struct db *db, const char *which, int *n, struct taskq_err *err)
{
	const char *p[1] = {which};
	char *v;
	enum taskq_rc rc = store_exec_value(db, S_TOKEN_REVOKE, p, &v, err);

	*n = v ? (int)strtol(v, NULL, 10) : 0;
	free(v);
	return rc;
}

enum taskq_rc store_owner_unfinished(struct db *db, const char *owner, long long *n,
				     struct taskq_err *err)
{
	const char *p[1] = {owner};
	char *v;
	enum taskq_rc rc = store_exec_value(db, S_OWNER_UNFINISHED, p, &v, err);

	*n = v ? strtoll(v, NULL, 10) : 0;
	free(v);
	return rc;
}

enum taskq_rc store_view_keys(struct db *db, int max, int *ids, unsigned char (*secrets)[32],
			      int *n, struct taskq_err *err)
{
	PGresult *res;
	enum taskq_rc rc = db_exec(db, S_VIEW_KEYS, NULL, &res, err);

	*n = 0;
	if (rc)
		return rc;
	for (int i = 0; i < PQntuples(res) && *n < max; i++) {
		if (!hex_decode(PQgetvalue(res, i, 1), secrets[*n], 32))
			continue;
		ids[*n] = (int)strtol(PQgetvalue(res, i, 0), NULL, 10);
		(*n)++;
	}
	PQclear(res);
	return TASKQ_OK;
}
