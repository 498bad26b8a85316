-- functions/view_tokens.sql: view tokens, capabilities to follow one task from a browser (the
-- format and the keys' table: schema/015_view_tokens.sql). The same bytes are made in C
-- (lib/viewtoken.c); must not change one without the other.

-- 32 bytes from PostgreSQL's strong random source (gen_random_uuid() draws 122 random bits
-- from it each; the SHA-256 of four spreads 488 of them over the key).
CREATE OR REPLACE FUNCTION taskq.view_key_secret() RETURNS bytea
LANGUAGE sql VOLATILE AS $$
  SELECT sha256(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()) ||
                uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()))
$$;

-- A new signing key (the next id, wrapping after 255 and replacing the key that had it).
-- Returns its id. Old keys keep verifying until deleted, so that a rotation does not cut off
-- the tokens already handed out:
--   DELETE FROM taskq.view_keys WHERE id <> (SELECT max(id) FROM taskq.view_keys);
-- after the longest lifetime handed out has passed (deleting a key revokes its tokens).
CREATE OR REPLACE FUNCTION taskq.view_key_rotate() RETURNS smallint
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
CREATE OR REPLACE FUNCTION taskq.hmac_sha256(key bytea, msg bytea) RETURNS bytea
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

-- A view token for one task: read and follow it, cancel it when can_cancel, and send it
-- signals when can_signal (flags bit 1: the Approve / Reject of <taskq-progress>). Raises
-- no_data_found for an unknown task. Runs with its owner's rights (it reads the key), so an
-- app's role needs only EXECUTE on it; call it in the transaction that submitted the task.
CREATE OR REPLACE FUNCTION taskq.view_token(task uuid, ttl interval DEFAULT '1 hour',
                                            can_cancel boolean DEFAULT false,
                                            can_signal boolean DEFAULT false) RETURNS text
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
         || set_byte('\x00'::bytea, 0,
                     CASE WHEN can_cancel THEN 1 ELSE 0 END | CASE WHEN can_signal THEN 2 ELSE 0 END)
         || int8send(extract(epoch FROM now() + ttl)::bigint)
         || uuid_send(task);
  RETURN 'tv_' || translate(rtrim(replace(encode(msg || taskq.hmac_sha256(key, msg), 'base64'),
                                          E'\n', ''), '='), '+/', '-_');
END $$;
