-- taskq schema, version 27: fair shares between owners, priority aging, queue positions,
-- strict order per concurrency key.
--
-- taskq.owner_weights: an owner's share of the starts when owners compete for workers. The
-- fair place in line (functions/submit.sql, taskq.fair_run_at) moves an owner's virtual
-- clock by 100 µs / weight per task, so under saturation owners start tasks in the ratio of
-- their weights. An owner without a row has weight 1.
--
-- taskq.queue_aging: a queue whose waiting tasks gain one step of priority per
-- seconds_per_step of wait, so that low priorities never starve under a steady load of
-- higher ones. The workers' maintenance raises them in bounded batches
-- (functions/aging.sql): the claim still walks tasks_ready by priority, unchanged.
--
-- taskq.tasks.base_priority: the priority a task was submitted with, kept once aging raised
-- its priority (NULL: never aged). Aging counts its steps from it and from run_at.

CREATE TABLE taskq.owner_weights (
  owner      text PRIMARY KEY CHECK (owner ~ '^[A-Za-z0-9_.@:-]{1,64}$'),
  weight     double precision NOT NULL CHECK (weight >= 0.01 AND weight <= 100),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE taskq.queue_aging (
  queue            text PRIMARY KEY CHECK (queue ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  seconds_per_step double precision NOT NULL
                   CHECK (seconds_per_step >= 0.1 AND seconds_per_step <= 2592000),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE taskq.tasks ADD COLUMN base_priority smallint;

-- taskq.queue_rates: each queue's recent start rate, as the workers' maintenance measures it
-- about once a second (functions/position.sql): what a queued task's eta_s divides its
-- position by.
CREATE TABLE taskq.queue_rates (
  queue        text PRIMARY KEY,
  starts_per_s double precision NOT NULL,
  measured_at  timestamptz NOT NULL
);

-- Strict order per concurrency key: a task submitted with "ordering": "strict" (ordering) gets
-- the next number of taskq.strict_seq (strict_seq): the claim starts a key's strict tasks in
-- that order only, and none while one of them failed (functions/claim.sql, taskq.strict_head).
-- The indexes hold only strict tasks (none: empty): the queued ones of a key in order, and the
-- failed ones that block their key.
CREATE SEQUENCE taskq.strict_seq;
ALTER TABLE taskq.tasks ADD COLUMN ordering text CHECK (ordering = 'strict'),
                        ADD COLUMN strict_seq bigint;
CREATE INDEX tasks_strict ON taskq.tasks (concurrency_key, strict_seq)
  WHERE state = 'queued' AND strict_seq IS NOT NULL;
CREATE INDEX tasks_strict_failed ON taskq.tasks (concurrency_key)
  WHERE state = 'failed' AND strict_seq IS NOT NULL;

-- taskq.submit takes ordering: a new last argument, so the old signature goes
-- (functions/submit.sql makes the new one). IF EXISTS: a fresh install has no functions yet.
DROP FUNCTION IF EXISTS taskq.submit(text, jsonb, text, integer, double precision, integer,
                                     integer, text, text, text, uuid[], text);
