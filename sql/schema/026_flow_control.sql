-- taskq schema, version 26: flow control. A queue can be paused (taskq.queue_pauses: one row
-- per paused queue, read by every claim of that queue, functions/flow.sql), a queued task can
-- be held ('held': out of every claim's reach, and out of tasks_ready, until released), and a
-- submit can debounce (debounce_limit: the latest start a debounced task may be moved to,
-- its first submit's time plus max_delay_ms) and expire (start_by_s: a task not started that
-- many seconds after it became runnable is cancelled, never started late).
--
-- The new state value is not used in this step: a value added by ALTER TYPE cannot be used in
-- the transaction that adds it (the function files, applied after the chain in a transaction
-- of their own, use it).

ALTER TYPE taskq.state ADD VALUE IF NOT EXISTS 'held';

CREATE TABLE taskq.queue_pauses (
  queue     text PRIMARY KEY CHECK (length(queue) BETWEEN 1 AND 64),
  paused_at timestamptz NOT NULL DEFAULT now(),
  paused_by text
);

ALTER TABLE taskq.tasks
  ADD COLUMN start_by_s     integer CHECK (start_by_s BETWEEN 1 AND 31536000),
  ADD COLUMN debounce_limit timestamptz;

-- The queued tasks that may expire, for the maintenance's sweep (a plain submit has no
-- start_by_s and is not here, so it costs submits nothing).
CREATE INDEX tasks_start_by ON taskq.tasks (run_at)
  WHERE state = 'queued' AND start_by_s IS NOT NULL;

-- taskq.queue_overview_of gains the held count and the paused flag (a new result type), and
-- taskq.submit the flow-control arguments (a new signature): both are made anew by their
-- function files. IF EXISTS: a fresh install has no functions yet at this point.
DROP FUNCTION IF EXISTS taskq.queue_overview_of(text);
DROP FUNCTION IF EXISTS taskq.submit(text, jsonb, text, integer, double precision, integer,
                                     integer, text, text, text, uuid[], text);
