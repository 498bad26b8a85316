/*
 * store/auth: bearer tokens (lookup by hash, create, list, revoke) and the signing keys of
 * view tokens. Only hashes go to PostgreSQL; the token itself never leaves the process that
 * holds it.
 */
#ifndef TASKQ_STORE_AUTH_H
#define TASKQ_STORE_AUTH_H

#include <stdbool.h>

#include "base/err.h"
#include "store/db.h"

/* A token's role: an owner's (neither), an admin's, or read-only (sees what an admin sees,
 * changes nothing); never both. */
struct token_role {
	bool admin, read_only;
};

/* The owner (copied into owner, 65 bytes) and role of the live token with this SHA-256
 * (64 hex digits); *found false for an unknown, expired or revoked one. *expires_in_s is
 * the time it has left (< 0: no expiry). */
enum taskq_rc store_token_lookup(struct db *db, const char *hash_hex, bool *found, char *owner,
				 struct token_role *role, double *expires_in_s,
				 struct taskq_err *err);
/* Stores a new token's hash; expires_s <= 0 means never. *id receives its id, *expires_at
 * the instant it expires as stored (RFC 3339 UTC; NULL: never; the caller frees it). */
enum taskq_rc store_token_create(struct db *db, const char *hash_hex, const char *prefix,
				 const char *owner, struct token_role role, double expires_s,
				 const char *note, long long *id, char **expires_at,
				 struct taskq_err *err);
/* One row of taskq.token_list (no hash). Strings owned (store_tokens_free). */
struct token_row {
	long long id;
	char *prefix, *owner, *note, *created_at, *expires_at, *status;
	bool admin, read_only;
};
enum taskq_rc store_token_list(struct db *db, struct token_row **out, int *n,
			       struct taskq_err *err);
void store_tokens_free(struct token_row *t, int n);
/* Revokes the token with this id, or the one live token with this prefix; *n revoked. */
enum taskq_rc store_token_revoke(struct db *db, const char *which, int *n, struct taskq_err *err);

/* The view-token signing keys (taskq.view_keys), newest first: up to max of them into ids[]
 * and secrets[] (VIEW_KEY_LEN bytes each); *n how many. */
enum taskq_rc store_view_keys(struct db *db, int max, int *ids, unsigned char (*secrets)[32],
			      int *n, struct taskq_err *err);

#endif
