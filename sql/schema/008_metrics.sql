-- taskq schema, version 8: what GET /metrics reads.
--
-- 1. taskq.counters: how many tasks reached each final state, per queue, for ever (true
--    counters: they only grow; retention and purges do not lower them). Every verb that
--    finishes tasks adds its count in the same statement, once per statement and queue (a
--    batch of 100 completions is one row update, not 100). Rows are sharded by the backend's
--    pid, so concurrent workers' commits do not queue on one hot row; readers sum the shards.
-- 2. taskq.workers.metrics: each worker's own counters (claimed, outcomes, run times …) as
--    JSON, written by its heartbeat. taskq-fcgi turns them into series with a `worker` label.
-- 3. taskq.metrics_queues: counts by queue and state, the wait of the oldest ready task and
--    what finished in the last minute, in one pass (taskq-fcgi caches it for a second).
-- The counting, the views and the verbs that count: functions/metrics.sql, complete.sql,
-- cancel.sql, maintenance.sql, workers.sql.

CREATE TABLE taskq.counters (
  queue text NOT NULL,
  state taskq.state NOT NULL CHECK (state IN ('succeeded', 'failed', 'cancelled')),
  shard smallint NOT NULL,
  n     bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (queue, state, shard)
);

ALTER TABLE taskq.workers ADD COLUMN metrics jsonb;

-- The heartbeat also stores the worker's counters (metrics) since version 8: a new signature,
-- and the old one dropped, so that a worker built for version 7 fails its heartbeat loudly
-- instead of calling a function that silently keeps no counters. IF EXISTS: a fresh install
-- has no functions yet at this point.
DROP FUNCTION IF EXISTS taskq.heartbeat(text, integer, uuid[], integer[], text, integer, text, text,
                                        integer);
