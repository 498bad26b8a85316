/*
 * who: whom the CLI acts as. Whoever can connect to the database is an admin; a bearer token
 * (--token, or TASKQ_TOKEN) makes it act with that token's rights instead, as the HTTP API
 * would: the token is checked the way taskq-fcgi checks it (its shape, then its SHA-256
 * against taskq.tokens with store_token_lookup), an owner's token makes every command act as
 * that owner (the store functions the API scopes with do the rest) and refuses the admins'
 * commands, an admin's acts as no token does. The token itself never reaches stdout, stderr,
 * a log or the database (only its hash does), and it is wiped from the command line that
 * ps(1) shows.
 */
#ifndef TASKQ_CLI_WHO_H
#define TASKQ_CLI_WHO_H

#include <stdbool.h>

#include "cli.h"

/* After config_parse: moves o->token out of the command line (args: a copy of argv[0..argc)
 * taken before config_parse reordered it) into memory of this file, and overwrites it there. */
void who_take_token(struct cli_opts *o, int argc, char *const *args);

/* With a token (o->token, NULL: none), checks it for command cmd, which only admins may run
 * when admin_only, and which changes nothing when reads: an owner's token sets o->owner to its
 * owner (--owner may only repeat it) and o->as_owner; a read-only token may run what reads, as
 * an admin. CLI_OK, or the exit code after saying why not: CLI_NOPERM for a token that is
 * unknown, expired or revoked, an owner's where an admin's is needed, or a read-only one for
 * a command that changes things. */
int who_resolve(struct db *db, struct cli_opts *o, const char *cmd, bool admin_only, bool reads);

#endif
