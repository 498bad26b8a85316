-- taskq schema, version 2: the events history, the fleet table, concurrency keys and the indexes
-- that retention and keyed claims read. (The verbs that write the history, the heartbeat,
-- retention and the admin views are in sql/functions/.)

-- One row per state change, for admins and the task's page: who did what, when, and why.
-- No foreign key: pruning deletes tasks and their events in batches of its own.
CREATE TABLE taskq.task_events (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id   uuid NOT NULL,
  at        timestamptz NOT NULL DEFAULT now(),
  event     text NOT NULL,  -- claimed succeeded retry failed cancel_requested cancelled
                            -- released rescued retried
  attempt   integer,
  worker_id text,
  detail    text
);
CREATE INDEX task_events_task ON taskq.task_events (task_id, id);

-- One row per live worker daemon, upserted at every heartbeat.
CREATE TABLE taskq.workers (
  id          text PRIMARY KEY,
  host        text NOT NULL,
  pid         integer NOT NULL,
  version     text NOT NULL,
  queues      text NOT NULL,
  concurrency integer NOT NULL,
  running     integer NOT NULL DEFAULT 0,
  started_at  timestamptz NOT NULL DEFAULT now(),
  last_seen   timestamptz NOT NULL DEFAULT now()
);

-- At most max_running tasks with this concurrency_key run at once, across all workers. A key
-- without a row here allows one.
CREATE TABLE taskq.concurrency_limits (
  key         text PRIMARY KEY,
  max_running integer NOT NULL CHECK (max_running >= 1)
);

-- Keyed tasks leave the plain claim's index: the plain claim never walks past a backlog of
-- tasks waiting for their key.
DROP INDEX taskq.tasks_ready;
CREATE INDEX tasks_ready ON taskq.tasks (queue, priority DESC, run_at, id)
  WHERE state = 'queued' AND concurrency_key IS NULL;
CREATE INDEX tasks_ready_keyed ON taskq.tasks (queue, concurrency_key, priority DESC, run_at, id)
  WHERE state = 'queued' AND concurrency_key IS NOT NULL;
CREATE INDEX tasks_running_key ON taskq.tasks (concurrency_key)
  WHERE state = 'running' AND concurrency_key IS NOT NULL;
-- Pruning walks finished rows oldest first.
CREATE INDEX tasks_finished ON taskq.tasks (finished_at)
  WHERE state IN ('succeeded', 'failed', 'cancelled');

-- The heartbeat's first signature (version 1); version 2's takes the fleet row too
-- (functions/workers.sql). IF EXISTS: a fresh install has no functions yet at this point.
DROP FUNCTION IF EXISTS taskq.heartbeat(text, integer, uuid[]);
