-- functions/auth.sql: bearer tokens: the lookup taskq-fcgi makes, revocation, the list admins
-- read (the table: schema/007_auth.sql). Must never return a token's hash.

-- The check taskq-fcgi makes (and caches for a few seconds): the owner and role (admin,
-- read-only or neither) of a live token, no row for an unknown, expired or revoked one.
CREATE OR REPLACE FUNCTION taskq.token_lookup(token_hash bytea, OUT owner text, OUT admin boolean,
                                              OUT expires_in_s float8, OUT read_only boolean)
LANGUAGE sql STABLE AS $$
  SELECT t.owner, t.admin, extract(epoch FROM t.expires_at - now())::float8, t.read_only
    FROM taskq.tokens t
   WHERE t.hash = token_hash AND t.revoked_at IS NULL
     AND (t.expires_at IS NULL OR t.expires_at > now())
$$;

-- A revocation (or any change of a token or a view key) reaches every taskq-fcgi at once, on
-- channel taskq_tokens (triggers tokens_notify and view_keys_notify, triggers.sql, with
-- taskq.notify_channel): they drop their caches.

-- Revoke by id or by prefix (unique among live tokens, or nothing is revoked: a prefix must
-- never revoke a token its user did not mean). Returns the ids revoked.
CREATE OR REPLACE FUNCTION taskq.token_revoke(which text) RETURNS SETOF bigint
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
CREATE OR REPLACE VIEW taskq.token_list AS
SELECT id, prefix, owner, admin, note, created_at, expires_at, revoked_at,
       CASE WHEN revoked_at IS NOT NULL THEN 'revoked'
            WHEN expires_at IS NOT NULL AND expires_at <= now() THEN 'expired'
            ELSE 'live' END AS status,
       read_only
  FROM taskq.tokens
 ORDER BY id;
