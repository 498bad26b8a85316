/* who: acting with a bearer token's rights (see who.h). */
#include "who.h"

#include <stdio.h>
#include <string.h>

#include "store/auth.h"
#include "cred/token.h"

/* The token, out of argv; longer than any token is malformed anyway. */
static char g_token[TOKEN_LEN + 2];
/* The owner of an owner's token, which o->owner then points at. */
static char g_owner[65];

void who_take_token(struct cli_opts *o, int argc, char *const *args)
{
	if (!o->token)
		return;
	snprintf(g_token, sizeof g_token, "%s", o->token);
	for (int i = 0; i < argc; i++) {
		size_t len = strlen(args[i]);

		if (o->token >= args[i] && o->token < args[i] + len) {
			memset(args[i] + (o->token - args[i]), 'x', strlen(o->token));
			break;
		}
	}
	o->token = g_token;
}

int who_resolve(struct db *db, struct cli_opts *o, const char *cmd, bool admin_only, bool reads)
{
	char hash[TOKEN_HASH_HEX + 1];
	struct taskq_err err;
	struct token_role role = {false, false};
	bool found = false;
	double left;

	if (!o->token)
		return CLI_OK;
	/* a malformed token is refused without a lookup, as taskq-fcgi refuses it */
	if (token_well_formed(o->token)) {
		token_hash_hex(o->token, hash);
		if (store_token_lookup(db, hash, &found, g_owner, &role, &left, &err)) {
			struct taskq_err why = err;

			snprintf(why.msg, sizeof why.msg, "cannot check the token: %.200s",
				 err.msg);
			return cli_fail(&why);
		}
	}
	if (!found) {
		fprintf(stderr, "taskq: the token (--token or TASKQ_TOKEN) is unknown, expired or "
				"revoked\n");
		return CLI_NOPERM;
	}
	if (role.read_only && !reads) {
		fprintf(stderr, "taskq: the token is read-only: taskq %s changes things\n", cmd);
		return CLI_NOPERM;
	}
	if (role.admin || role.read_only)
		return CLI_OK; /* an admin's token (or a read-only one, reading): as no token */
	if (admin_only) {
		fprintf(stderr,
			"taskq: taskq %s is for admins; the token is %s's, not an admin's\n", cmd,
			g_owner);
		return CLI_NOPERM;
	}
	if (o->owner && strcmp(o->owner, g_owner) != 0) {
		fprintf(stderr,
			"taskq: the token is %s's: it acts as that owner only (not as "
			"--owner's)\n",
			g_owner);
		return CLI_NOPERM;
	}
	o->owner = g_owner;
	o->as_owner = true;
	return CLI_OK;
}
