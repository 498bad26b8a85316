-- taskq schema, version 11: chains, fan-in and follow-ups: a task's parents, the count of those
-- not finished yet, and the unsettled edges. Blocked is state 'queued' with run_at 'infinity'
-- (every claim asks run_at <= now(), so the claim and the ready index need no change). How
-- parents are named, settled and cancelled, and follow-ups: functions/chains.sql.

ALTER TABLE taskq.tasks
  ADD COLUMN parents uuid[],                       -- NULL: none
  ADD COLUMN pending_parents integer NOT NULL DEFAULT 0,
  ADD COLUMN after_policy text CHECK (after_policy IN ('success', 'always')),
  ADD COLUMN after_delay_s double precision,       -- delay_s of a child, counted from its release
  ADD COLUMN has_children boolean NOT NULL DEFAULT false;

-- The unsettled edges, looked up by parent when it finishes. (A child's own list is its
-- parents column; an edge whose child was pruned meanwhile settles nothing.)
CREATE TABLE taskq.task_deps (
  parent uuid NOT NULL,
  child  uuid NOT NULL,
  PRIMARY KEY (parent, child)
);

-- taskq.submit_many and taskq.submit take parents since version 11 (functions/submit.sql): the
-- signatures without them go. IF EXISTS: a fresh install has no functions yet at this point.
DROP FUNCTION IF EXISTS taskq.submit_many(jsonb, text, boolean);
DROP FUNCTION IF EXISTS taskq.submit(text, jsonb, text, integer, double precision, integer, integer,
                                     text, text, text);
