-- taskq schema, version 1: the task states, the tasks table and its indexes, and the registered
-- kinds (sleep and noop built in).
--
-- sql/schema/ is an append-only chain: `taskq migrate` applies each NNN_*.sql not yet recorded
-- in taskq.schema_version, in its own transaction, and records it. It holds tables, types,
-- indexes, grants and data changes; the functions, views and triggers live in sql/functions/,
-- which every migrate re-applies after the chain. Never edit a step that was released: add one.

CREATE TYPE taskq.state AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');

-- UUIDv7: 48 bits of Unix milliseconds, then random bits, so ids are unguessable yet
-- time-ordered (the primary key stays append-mostly and keyset pages follow creation order).
-- The one function of the schema chain rather than of sql/functions/: taskq.tasks.id takes it
-- as its default, so it must exist before the table does, and the function files are applied
-- after the chain. Its body is part of the table's definition: never replace it in place.
CREATE FUNCTION taskq.uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(
           set_bit(set_bit(
             overlay(uuid_send(gen_random_uuid())
                     PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                     FROM 1 FOR 6),
             52, 1), 53, 1),
           'hex')::uuid
$$;

CREATE TABLE taskq.kinds (
  name          text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  builtin       boolean NOT NULL DEFAULT false,
  registered_at timestamptz NOT NULL DEFAULT now(),
  last_seen     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO taskq.kinds (name, builtin) VALUES ('sleep', true), ('noop', true);

CREATE TABLE taskq.tasks (
  id               uuid PRIMARY KEY DEFAULT taskq.uuid_v7(),
  -- names are checked by the API (and kinds by taskq.kinds); a regular expression CHECK here
  -- would cost a fifth of the insert rate
  kind             text NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
  queue            text NOT NULL DEFAULT 'default' CHECK (length(queue) BETWEEN 1 AND 64),
  payload          jsonb NOT NULL DEFAULT '{}',
  state            taskq.state NOT NULL DEFAULT 'queued',
  progress         smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  message          text,
  result           jsonb,
  error            text,
  priority         smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN -1000 AND 1000),
  attempts         integer NOT NULL DEFAULT 0,
  max_attempts     integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
  run_at           timestamptz NOT NULL DEFAULT now(),
  timeout_s        integer CHECK (timeout_s BETWEEN 1 AND 86400),
  lease_until      timestamptz,
  worker_id        text,
  cancel_requested boolean NOT NULL DEFAULT false,
  dedupe_key       text CHECK (length(dedupe_key) BETWEEN 1 AND 200),
  concurrency_key  text CHECK (length(concurrency_key) BETWEEN 1 AND 200),
  owner            text NOT NULL DEFAULT 'anonymous',
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  version          bigint NOT NULL DEFAULT 1
) WITH (fillfactor = 80);  -- room for HOT updates of progress and state

-- Claimable rows only: finished rows (millions of them) cost the claim nothing.
CREATE INDEX tasks_ready ON taskq.tasks (queue, priority DESC, run_at, id) WHERE state = 'queued';
-- Running rows, for the heartbeat (by worker), lease rescue and the admin's view of what runs.
-- lease_until is deliberately not indexed: progress writes and heartbeats then change no
-- indexed column and stay HOT updates.
CREATE INDEX tasks_running ON taskq.tasks (worker_id) WHERE state = 'running';
-- At most one unfinished task per owner and dedupe key.
CREATE UNIQUE INDEX tasks_dedupe ON taskq.tasks (owner, dedupe_key)
  WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running');
-- Listing by state and kind (newest first comes from the time-ordered id).
CREATE INDEX tasks_state_id ON taskq.tasks (state, id);
