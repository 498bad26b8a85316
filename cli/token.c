/* token: `taskq token create OWNER [--admin] [--expires D] [--note TEXT]`, `taskq token list`
 * and `taskq token revoke ID|PREFIX`. The new token is printed once and never stored: only its
 * SHA-256 goes to PostgreSQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "store/auth.h"
#include "cred/token.h"

/* "90" (seconds), "15m", "12h", "30d" → seconds; -1 when malformed. */
static double duration_s(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v <= 0 || v > 1e9)
		return -1;
	if (!*end)
		return v;
	if (end[1])
		return -1;
	switch (*end) {
	case 's':
		return v;
	case 'm':
		return v * 60;
	case 'h':
		return v * 3600;
	case 'd':
		return v * 86400;
	default:
		return -1;
	}
}

static int token_create(struct db *db, const struct cli_opts *o, const char *owner)
{
	char tok[TOKEN_LEN + 1], hash[TOKEN_HASH_HEX + 1], prefix[TOKEN_PREFIX_LEN + 1];
	double expires = 0;
	struct taskq_err err;
	long long id;

	if (!owner || !token_owner_valid(owner))
		return cli_usage_error("an owner is 1-64 of A-Z a-z 0-9 _ . @ : -");
	if (o->expires && (expires = duration_s(o->expires)) < 0)
		return cli_usage_error("--expires takes seconds or a number with s, m, h or d");
	if (o->note && strlen(o->note) > 200)
		return cli_usage_error("--note takes at most 200 characters");
	if (!token_generate(tok))
		return cli_usage_error("no random numbers to be had");
	token_hash_hex(tok, hash);
	snprintf(prefix, sizeof prefix, "%.*s", TOKEN_PREFIX_LEN, tok);
	if (store_token_create(db, hash, prefix, owner, o->admin, expires, o->note, &id, &err))
		return cli_fail(&err);
	printf("%s\n", tok);
	fprintf(stderr, "taskq: token %lld for %s%s%s created; it is shown this once\n", id, owner,
		o->admin ? " (admin)" : "", expires > 0 ? ", expiring" : "");
	return CLI_OK;
}

static int token_list(struct db *db)
{
	struct token_row *t;
	struct taskq_err err;
	int n;

	if (store_token_list(db, &t, &n, &err))
		return cli_fail(&err);
	printf("%-6s %-11s %-20s %-5s %-8s %-27s %s\n", "ID", "PREFIX", "OWNER", "ADMIN", "STATUS",
	       "EXPIRES", "NOTE");
	for (int i = 0; i < n; i++) {
		printf("%-6lld %-11s %-20s %-5s %-8s %-27s ", t[i].id, t[i].prefix, t[i].owner,
		       t[i].admin ? "yes" : "no", t[i].status,
		       t[i].expires_at ? t[i].expires_at : "-");
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
