-- taskq schema, version 30: what the console reads. A per-minute rollup of every queue (the
-- charts of the console's queue page draw from it, so they need no Prometheus server) and the
-- index that keeps a page of one queue's tasks, or a payload search scoped to a queue and a
-- time range, an index range scan however many finished rows the table holds.
--
-- The rollup is written by the workers' maintenance (taskq.rollup_minutes, functions/
-- metrics.sql): each whole minute once it is over, from the tasks that finished in it (read
-- through tasks_finished) and the tasks that started in it. Rows older than the worker's
-- --rollup-days go.

CREATE TABLE taskq.queue_minutes (
  queue       text NOT NULL,
  minute      timestamptz NOT NULL,   -- the bucket's start (a whole minute)
  started     integer NOT NULL DEFAULT 0,  -- tasks whose last attempt started in the minute
  succeeded   integer NOT NULL DEFAULT 0,  -- tasks that finished in the minute, by state
  failed      integer NOT NULL DEFAULT 0,
  cancelled   integer NOT NULL DEFAULT 0,
  queued      integer,                -- tasks queued when the minute was last rolled (NULL: not sampled)
  wait_p50_ms double precision,       -- of the tasks that finished in the minute: runnable → started
  wait_p95_ms double precision,
  run_p50_ms  double precision,       -- started → finished
  run_p95_ms  double precision,
  PRIMARY KEY (queue, minute)
);
-- pruning by age
CREATE INDEX queue_minutes_minute ON taskq.queue_minutes (minute);

-- Where the rollup got to: the start of the minute it rolls next (one row).
CREATE TABLE taskq.rollup_state (
  one       boolean PRIMARY KEY DEFAULT true CHECK (one),
  rolled_to timestamptz NOT NULL
);

-- A queue's tasks newest first (GET /api/tasks?queue=…, with a time range and a payload
-- fragment): ids are time-ordered, so a time range is an id range of this index. It costs
-- every task three entries (the submit, and the claim and the completion, which are never
-- HOT updates: partial indexes name state), like tasks_state_id and tasks_owner_id: a
-- partial index of finished rows alone left a queue's few unfinished rows to a walk of the
-- primary key across every finished row. The hot path's next design takes these with it.
CREATE INDEX tasks_queue_id ON taskq.tasks (queue, id);
