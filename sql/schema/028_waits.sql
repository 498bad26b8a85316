-- taskq schema, version 28: tasks that wait for a signal, signals, signal links and
-- checkpoints (their verbs: functions/signals.sql).
--
-- A task in state 'waiting' holds no worker slot and no lease and is never claimed: it waits
-- for a named signal (waiting_for: {"signal","until","on_timeout"}), until wait_until at the
-- latest (NULL: for ever). The signals a task received so far are kept in signals (name →
-- payload; NULL: none yet), so a signal sent before the wait satisfies it at once. checkpoint: the JSON a
-- command program last stored, handed to its next run. The partial index on wait_until
-- covers the waiting tasks that have a deadline (wait_until is set only while waiting), so
-- the workers' sweep of due timeouts reads only those. (The new state cannot be named in an
-- index here: PostgreSQL refuses an enum value in the transaction that added it.)

ALTER TYPE taskq.state ADD VALUE IF NOT EXISTS 'waiting';

ALTER TABLE taskq.tasks
  ADD COLUMN signals     jsonb,
  ADD COLUMN waiting_for jsonb,
  ADD COLUMN wait_until  timestamptz,
  ADD COLUMN checkpoint  jsonb;

CREATE INDEX tasks_wait_due ON taskq.tasks (wait_until) WHERE wait_until IS NOT NULL;

-- Signal links: one-time capabilities to send one signal to one task, for a person without
-- an account. The link holds "ts_" + random text; only its SHA-256 is kept.
CREATE TABLE taskq.signal_tokens (
  hash        bytea PRIMARY KEY CHECK (length(hash) = 32),
  task_id     uuid NOT NULL,
  name        text NOT NULL,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signal_tokens_expiry ON taskq.signal_tokens (expires_at);
REVOKE ALL ON taskq.signal_tokens FROM PUBLIC;

-- taskq.submit and taskq.view_token take a new argument (wait_for, can_signal): their old
-- signatures go (the function files make them anew; IF EXISTS: a fresh install has none yet).
DROP FUNCTION IF EXISTS taskq.submit(text, jsonb, text, integer, double precision, integer,
                                     integer, text, text, text, uuid[], text);
DROP FUNCTION IF EXISTS taskq.submit(text, jsonb, text, integer, double precision, integer,
                                     integer, text, text, text, uuid[], text, text, integer,
                                     integer, text, integer);
DROP FUNCTION IF EXISTS taskq.view_token(uuid, interval, boolean);
-- taskq.queue_overview_of answers the waiting tasks' count as a new column.
DROP FUNCTION IF EXISTS taskq.queue_overview_of(text);
