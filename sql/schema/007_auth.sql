-- taskq schema, version 7: bearer tokens, and the indexes owner-scoped reads and per-owner
-- limits need. (Token lookup and revocation, the token list and an owner's queue overview:
-- functions/auth.sql and admin_views.sql.)

-- One row per token. The token itself is shown once, when `taskq token create` makes it;
-- only its SHA-256 is kept (tokens are 256 random bits, so an unsalted hash is safe to
-- store and cheap to look up). prefix is the token's first characters, for telling tokens
-- apart in lists and logs without revealing them.
CREATE TABLE taskq.tokens (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  hash        bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
  prefix      text NOT NULL,
  owner       text NOT NULL CHECK (owner ~ '^[A-Za-z0-9_.@:-]{1,64}$'),
  admin       boolean NOT NULL DEFAULT false,
  note        text CHECK (length(note) <= 200),
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz,
  revoked_at  timestamptz
);

-- An owner's tasks, newest first (the owner-scoped list and queue overview), and its
-- unfinished ones (the per-owner cap): both stay small reads however big the table grows.
CREATE INDEX tasks_owner_id ON taskq.tasks (owner, id);
CREATE INDEX tasks_owner_unfinished ON taskq.tasks (owner) WHERE state IN ('queued', 'running');
