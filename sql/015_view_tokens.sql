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
-- the other.

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

-- 32 bytes from PostgreSQL's strong random source (gen_random_uuid() draws 122 random bits
-- from it each; the SHA-256 of four spreads 488 of them over the key).
CREATE FUNCTION taskq.view_key_secret() RETURNS bytea
LANGUAGE sql VOLATILE AS $$
  SELECT sha256(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()) ||
                uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()))
$$;

INSERT INTO taskq.view_keys (id, secret) VALUES (1, taskq.view_key_secret());

-- A key change reaches every taskq-fcgi at once (the same channel as a token revocation).
CREATE TRIGGER view_keys_notify
  AFTER INSERT OR UPDATE OR DELETE ON taskq.view_keys
  FOR EACH STATEMENT EXECUTE FUNCTION taskq.tokens_changed();

-- A new signing key (the next id, wrapping after 255 and replacing the key that had it).
-- Returns its id. Old keys keep verifying until deleted:
--   DELETE FROM taskq.view_keys WHERE id <> (SELECT max(id) FROM taskq.view_keys);
-- after the longest lifetime handed out has passed (deleting a key revokes its tokens).
CREATE FUNCTION taskq.view_key_rotate() RETURNS smallint
LANGUAGE plpgsql AS $$
DECLARE
  next_id smallint;
BEGIN
  LOCK TABLE taskq.view_keys IN EXCLUSIVE MODE;
  SELECT (k.id % 255) + 1 INTO next_id
    FROM taskq.view_keys k ORDER BY k.created_at DESC, k.id DESC LIMIT 1;
  next_id := coalesce(next_id, 1);
  DELETE FROM taskq.view_keys WHERE id = next_id;
  INSERT INTO taskq.view_keys (id, secret) VALUES (next_id, taskq.view_key_secret());
  RETURN next_id;
END $$;

-- HMAC-SHA256 (RFC 2104) on the core sha256(), so that no extension is needed.
CREATE FUNCTION taskq.hmac_sha256(key bytea, msg bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  k bytea := key;
  ipad bytea;
  opad bytea;
BEGIN
  IF length(k) > 64 THEN
    k := sha256(k);
  END IF;
  k := k || decode(repeat('00', 64 - length(k)), 'hex');
  ipad := k;
  opad := k;
  FOR i IN 0..63 LOOP
    ipad := set_byte(ipad, i, get_byte(k, i) # 54);  -- 0x36
    opad := set_byte(opad, i, get_byte(k, i) # 92);  -- 0x5c
  END LOOP;
  RETURN sha256(opad || sha256(ipad || msg));
END $$;

-- A view token for one task: read and follow it, and cancel it when can_cancel. Raises
-- no_data_found for an unknown task. Runs with its owner's rights (it reads the key), so an
-- app's role needs only EXECUTE on it; call it in the transaction that submitted the task.
CREATE FUNCTION taskq.view_token(task uuid, ttl interval DEFAULT '1 hour',
                                 can_cancel boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  key_id smallint;
  key bytea;
  msg bytea;
BEGIN
  IF ttl IS NULL OR ttl <= interval '0' THEN
    RAISE EXCEPTION 'view token lifetime must be positive' USING ERRCODE = '22023';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM taskq.tasks t WHERE t.id = task) THEN
    RAISE EXCEPTION 'no such task: %', task USING ERRCODE = 'P0002';
  END IF;
  SELECT k.id, k.secret INTO key_id, key
    FROM taskq.view_keys k ORDER BY k.created_at DESC, k.id DESC LIMIT 1;
  IF key IS NULL THEN
    RAISE EXCEPTION 'no view key (taskq.view_key_rotate() makes one)' USING ERRCODE = '55000';
  END IF;
  msg := '\x01'::bytea || decode(lpad(to_hex(key_id::integer), 2, '0'), 'hex')
         || CASE WHEN can_cancel THEN '\x01'::bytea ELSE '\x00'::bytea END
         || int8send(extract(epoch FROM now() + ttl)::bigint)
         || uuid_send(task);
  RETURN 'tv_' || translate(rtrim(replace(encode(msg || taskq.hmac_sha256(key, msg), 'base64'),
                                          E'\n', ''), '='), '+/', '-_');
END $$;
