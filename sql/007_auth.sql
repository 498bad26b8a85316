-- taskq schema, version 7: bearer tokens, owner-scoped reads, and what per-owner limits need.

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

-- The check taskq-fcgi makes (and caches for a few seconds): the owner and role of a live
-- token, no row for an unknown, expired or revoked one.
CREATE FUNCTION taskq.token_lookup(token_hash bytea, OUT owner text, OUT admin boolean,
                                   OUT expires_in_s float8)
LANGUAGE sql STABLE AS $$
  SELECT t.owner, t.admin, extract(epoch FROM t.expires_at - now())::float8
    FROM taskq.tokens t
   WHERE t.hash = token_hash AND t.revoked_at IS NULL
     AND (t.expires_at IS NULL OR t.expires_at > now())
$$;

-- A revocation (or any change) reaches every taskq-fcgi at once: they drop their token cache.
CREATE FUNCTION taskq.tokens_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('taskq_tokens', '');
  RETURN NULL;
END $$;

CREATE TRIGGER tokens_notify
  AFTER UPDATE OR DELETE ON taskq.tokens
  FOR EACH STATEMENT EXECUTE FUNCTION taskq.tokens_changed();

-- Revoke by id or by prefix (unique among live tokens, or nothing is revoked). Returns the
-- ids revoked.
CREATE FUNCTION taskq.token_revoke(which text) RETURNS SETOF bigint
LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  IF which ~ '^[0-9]{1,18}$' THEN
    RETURN QUERY UPDATE taskq.tokens SET revoked_at = now()
                  WHERE id = which::bigint AND revoked_at IS NULL RETURNING id;
    RETURN;
  END IF;
  SELECT count(*) INTO n FROM taskq.tokens WHERE prefix = which AND revoked_at IS NULL;
  IF n = 1 THEN
    RETURN QUERY UPDATE taskq.tokens SET revoked_at = now()
                  WHERE prefix = which AND revoked_at IS NULL RETURNING id;
  END IF;
END $$;

-- What admins read: never the hash.
CREATE VIEW taskq.token_list AS
SELECT id, prefix, owner, admin, note, created_at, expires_at, revoked_at,
       CASE WHEN revoked_at IS NOT NULL THEN 'revoked'
            WHEN expires_at IS NOT NULL AND expires_at <= now() THEN 'expired'
            ELSE 'live' END AS status
  FROM taskq.tokens
 ORDER BY id;

-- An owner's tasks, newest first (the owner-scoped list and queue overview), and its
-- unfinished ones (the per-owner cap): both stay small reads however big the table grows.
CREATE INDEX tasks_owner_id ON taskq.tasks (owner, id);
CREATE INDEX tasks_owner_unfinished ON taskq.tasks (owner) WHERE state IN ('queued', 'running');

-- The queue overview of one owner's tasks (same columns as taskq.queue_overview).
CREATE FUNCTION taskq.queue_overview_of(who text)
RETURNS TABLE (queue text, queued bigint, running bigint, succeeded bigint, failed bigint,
               cancelled bigint, oldest_queued_s numeric, finished_last_minute bigint)
LANGUAGE sql STABLE AS $$
  SELECT t.queue,
         count(*) FILTER (WHERE t.state = 'queued'),
         count(*) FILTER (WHERE t.state = 'running'),
         count(*) FILTER (WHERE t.state = 'succeeded'),
         count(*) FILTER (WHERE t.state = 'failed'),
         count(*) FILTER (WHERE t.state = 'cancelled'),
         extract(epoch FROM now() - min(t.created_at) FILTER (WHERE t.state = 'queued')),
         count(*) FILTER (WHERE t.finished_at > now() - interval '1 minute')
    FROM taskq.tasks t
   WHERE t.owner = who
   GROUP BY t.queue
   ORDER BY t.queue
$$;
