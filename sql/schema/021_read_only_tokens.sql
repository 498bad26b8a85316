-- taskq schema, version 21: read-only tokens. A token may be an owner's, an admin's, or
-- read-only: it sees everything an admin sees and changes nothing (taskq-fcgi answers 403 to
-- it on every route that is not a read). taskq.token_lookup answers the new role as a new
-- OUT parameter, so its old signature goes (functions/auth.sql makes it anew; IF EXISTS: a
-- fresh install has no functions yet at this point).

ALTER TABLE taskq.tokens
  ADD COLUMN read_only boolean NOT NULL DEFAULT false,
  ADD CONSTRAINT tokens_role_check CHECK (NOT (admin AND read_only));

DROP FUNCTION IF EXISTS taskq.token_lookup(bytea);
