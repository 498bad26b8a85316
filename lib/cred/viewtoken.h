/*
 * viewtoken: per-task view tokens, the capability a browser holds to follow one task (read it,
 * stream it and, when the token says so, cancel it). "tv_" + base64url (no padding) of
 *   version 1 | key id | flags (bit 0: may cancel, bit 1: may send signals) | expiry (int64 BE, Unix s) | task id (16)
 *   | HMAC-SHA256 of those 27 bytes (32)
 * sql/functions/view_tokens.sql makes the same bytes in SQL (taskq.view_token()). Pure code
 * (OpenSSL's HMAC), unit-tested; the keys live in PostgreSQL (taskq.view_keys).
 */
#ifndef TASKQ_VIEWTOKEN_H
#define TASKQ_VIEWTOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define VIEW_TOKEN_LEN 82 /* "tv_" + 79 */
#define VIEW_KEY_LEN 32

struct view_claims {
	char task[37];     /* lowercase UUID text */
	long long expires; /* Unix seconds */
	bool cancel;
	bool signal; /* may send the task signals (POST /api/tasks/{id}/signals/{name}) */
	int key_id;  /* 1-255 */
};

/* True when s starts like a view token (then it is never looked up as a bearer token). */
bool view_token_like(const char *s);
/* Signs c with key into out (VIEW_TOKEN_LEN + 1). false: c.task is not a UUID or c.key_id
 * is out of range. */
bool view_token_sign(const struct view_claims *c, const unsigned char key[VIEW_KEY_LEN],
		     char out[VIEW_TOKEN_LEN + 1]);
/* Decodes tok's claims without checking its signature (the key id says which key to check
 * it with). false: not a well-formed view token. */
bool view_token_decode(const char *tok, struct view_claims *c);
/* True when tok is well formed and its signature is key's (constant-time comparison). The
 * caller checks the expiry. */
bool view_token_verify(const char *tok, const unsigned char key[VIEW_KEY_LEN]);

#endif
