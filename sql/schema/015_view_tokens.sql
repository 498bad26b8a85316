-- taskq schema, version 15: view tokens, capabilities to follow one task from a browser.
--
-- An app's backend submits a task (over HTTP with its owner token, or with taskq.submit() in
-- its own transaction) and hands the browser a view token for it: "tv_" + base64url of
--   version (1 byte, 1) | key id (1 byte) | flags (1 byte; bit 0: may cancel)
--   | expiry (8 bytes, Unix seconds, big-endian) | task id (16 bytes)
--   | HMAC-SHA256 of the 27 bytes before it, keyed with taskq.view_keys' secret (32 bytes)
-- taskq-fcgi checks it without a database round trip (it caches the keys) and lets its bearer
-- read, follow and (if the flag says so) cancel that one task, nothing else. The same bytes
-- are made here in SQL and in C (lib/viewtoken.c); the integration tests check one against
-- the other. (Rotation, signing and the notifying trigger: functions/view_tokens.sql.)

-- The signing keys. The newest live key signs; every key not yet deleted verifies, so a
-- rotation (taskq.view_key_rotate()) does not cut off the tokens already handed out: delete
-- the old key once they have expired. Readable by taskq's own role only: apps mint tokens
-- through taskq.view_token(), which runs with its owner's rights.
CREATE TABLE taskq.view_keys (
  id          smallint PRIMARY KEY CHECK (id BETWEEN 1 AND 255),
  secret      bytea NOT NULL CHECK (length(secret) = 32),
  created_at  timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON taskq.view_keys FROM PUBLIC;

-- The first key. The secret is made as taskq.view_key_secret() makes it (functions/
-- view_tokens.sql), written out because the schema chain runs before any function file: 32
-- bytes from PostgreSQL's strong random source (gen_random_uuid() draws 122 random bits from
-- it each; the SHA-256 of four spreads 488 of them over the key).
INSERT INTO taskq.view_keys (id, secret)
VALUES (1, sha256(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()) ||
                  uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())));
