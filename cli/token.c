/* token: `taskq token create OWNER [--admin|--read-only] [--expires D] [--note TEXT]`,
 * `taskq token list`
 * and `taskq token revoke ID|PREFIX`. The new token is printed once on stdout (its id, owner
 * and expiry instant on stderr) and never stored: only its SHA-256 goes to PostgreSQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "store/auth.h"
#include "cred/token.h"

#define EXPIRES_MAX_S (3650.0 * 86400) /* ten years: beyond that, leave --expires out */

/* --expires: "90" (seconds), "90s", "15m", "12h", "30d", "1.5h": digits with at most one
 * decimal point, then at most one unit. The seconds in *out; false when malformed, or not
 * between 1 s and EXPIRES_MAX_S. */
static bool parse_expires(const char *s, double *out)
{
	size_t n = strspn(s, "0123456789."), dots = 0;
	char num[32];
	double v, unit;

	for (size_t i = 0; i < n; i++)
		dots += s[i] == '.';
	if (n == 0 || n >= sizeof num || dots > 1 || n == dots)
		return false;
	switch (s[n]) {
	case '\0':
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return false;
	}
	if (s[n] && s[n + 1])
		return false;
	memcpy(num, s, n);
	num[n] = '\0';
	v = strtod(num, NULL) * unit;
	if (!(v >= 1 && v <= EXPIRES_MAX_S))
		return false;
	*out = v;
	return true;
}

static int token_create(struct db *db, const struct cli_opts *o, const char *owner)
{
	char tok[TOKEN_LEN + 1], hash[TOKEN_HASH_HEX + 1], prefix[TOKEN_PREFIX_LEN + 1];
	char *expires_at = NULL;
	double expires = 0;
	struct taskq_err err;
	struct token_role role;
	long long id;

	if (!owner)
		return cli_usage_error("usage: taskq token create OWNER");
	if (!token_owner_valid(owner))
		return cli_data_error("an owner is 1-64 of A-Z a-z 0-9 _ . @ : -");
	if (o->expires && !parse_expires(o->expires, &expires))
		return cli_data_error("--expires takes a duration from 1 second to 3650 days: a "
				      "number of seconds, or a number with s, m, h or d (90, 15m, "
				      "1.5h, 30d)");
	if (o->note && strlen(o->note) > 200)
		return cli_data_error("--note takes at most 200 characters");
	if (o->admin && o->read_only)
		return cli_usage_error("a token is an admin's or read-only, not both");
	if (!token_generate(tok)) {
		fprintf(stderr, "taskq: no random numbers to be had\n");
		return CLI_ERROR;
	}
	token_hash_hex(tok, hash);
	snprintf(prefix, sizeof prefix, "%.*s", TOKEN_PREFIX_LEN, tok);
	role.admin = o->admin;
	role.read_only = o->read_only;
	if (store_token_create(db, hash, prefix, owner, role, expires, o->note, &id, &expires_at,
			       &err))
		return cli_fail(&err);
	printf("%s\n", tok);
	fflush(stdout);
	fprintf(stderr, "taskq: token %lld for %s%s created, %s%s; it is shown this once\n", id,
		owner,
		o->admin       ? " (admin)"
		: o->read_only ? " (read-only)"
			       : "",
		expires_at ? "expires " : "never expires", expires_at ? expires_at : "");
	free(expires_at);
	return CLI_OK;
}

static int token_list(struct db *db)
{
	struct token_row *t;
	struct taskq_err err;
	int n;

	if (store_token_list(db, &t, &n, &err))
		return cli_fail(&err);
	printf("%-6s %-11s %-20s %-9s %-8s %-27s %s\n", "ID", "PREFIX", "OWNER", "ROLE", "STATUS",
	       "EXPIRES", "NOTE");
	for (int i = 0; i < n; i++) {
		printf("%-6lld %-11s %-20s %-9s %-8s %-27s ", t[i].id, t[i].prefix, t[i].owner,
		       t[i].admin       ? "admin"
		       : t[i].read_only ? "read-only"
					: "owner",
		       t[i].status, t[i].expires_at ? t[i].expires_at : "-");
		cli_put_text(stdout, t[i].note, 60, false);
		putchar('\n');
	}
	store_tokens_free(t, n);
	return CLI_OK;
}

static int token_revoke(struct db *db, const char *which)
{
	struct taskq_err err;
	int n;

	if (!which)
		return cli_usage_error("usage: taskq token revoke ID|PREFIX");
	/* a whole token is a secret: never sent to the database nor echoed, past its prefix */
	if (token_well_formed(which))
		return cli_data_error("that is a whole token: revoke it by its prefix (%.*s) or id",
				      TOKEN_PREFIX_LEN, which);
	if (store_token_revoke(db, which, &n, &err))
		return cli_fail(&err);
	if (n == 0) {
		fprintf(stderr, "taskq: no live token is %s (or the prefix is not unique)\n",
			which);
		return CLI_NOTFOUND;
	}
	fprintf(stderr, "taskq: revoked %d token%s\n", n, n == 1 ? "" : "s");
	return CLI_OK;
}

int cmd_token(struct db *db, const struct cli_opts *o, const char *verb, const char *arg)
{
	if (!strcmp(verb, "create"))
		return token_create(db, o, arg);
	if (!strcmp(verb, "list") && !arg)
		return token_list(db);
	if (!strcmp(verb, "revoke"))
		return token_revoke(db, arg);
	return cli_usage_error("usage: taskq token create OWNER | list | revoke ID|PREFIX");
}
