/*
 * token: bearer tokens as text. A token is "tq_" + 43 base64url characters (256 random
 * bits); PostgreSQL keeps only its SHA-256. Pure code (OpenSSL's RNG and digest), unit-tested.
 */
#ifndef TASKQ_TOKEN_H
#define TASKQ_TOKEN_H

#include <stdbool.h>

#define TOKEN_LEN 46        /* "tq_" + 43 */
#define TOKEN_PREFIX_LEN 10 /* what lists show: "tq_" + 7 */
#define TOKEN_HASH_HEX 64

/* Writes a new random token (TOKEN_LEN chars + NUL); false when the RNG failed. */
bool token_generate(char out[TOKEN_LEN + 1]);
/* True when s has a token's shape (checked before any lookup). */
bool token_well_formed(const char *s);
/* SHA-256 of the token as 64 lowercase hex digits + NUL. */
void token_hash_hex(const char *token, char out[TOKEN_HASH_HEX + 1]);
/* True for a valid owner name: 1-64 of A-Z a-z 0-9 _ . @ : - */
bool token_owner_valid(const char *s);

#endif
