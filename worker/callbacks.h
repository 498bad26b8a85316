/*
 * callbacks: delivery of completion webhooks. One thread per worker daemon, with its own
 * connection, takes due callbacks from PostgreSQL (leased, so any worker may deliver and a
 * crash only delays one), POSTs the task JSON to the task's callback_url through httpreq (the
 * same allow-list as the http kind), signed with HMAC-SHA256 of the body under the configured
 * secret, and records the outcome. A failing receiver is retried with back-off; the task's own
 * outcome never changes.
 */
#ifndef TASKQ_CALLBACKS_H
#define TASKQ_CALLBACKS_H

#include <stddef.h>

struct callbacks;

/* secret: the HMAC key (NULL or "": deliveries go unsigned, and a warning says so). */
struct callbacks *callbacks_start(const char *conninfo, const char *secret);
/* A new key (SIGHUP); deliveries from now on use it. */
void callbacks_set_secret(struct callbacks *c, const char *secret);
void callbacks_stop(struct callbacks *c);

/* Writes "sha256=<64 hex digits>" of HMAC-SHA256(secret, body) into out (at least 72 bytes);
 * false when the crypto library fails. */
int callbacks_sign(const char *secret, const char *body, size_t len, char *out, size_t size);

#endif
