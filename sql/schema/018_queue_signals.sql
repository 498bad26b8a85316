-- taskq schema, version 18: queue figures that tell the truth.
--
-- 1. taskq.queue_overview_of(owner) answers, since version 18, how many of a queue's queued
--    tasks are delayed and blocked and how many live workers serve it, and its oldest_queued_s
--    is the wait of the oldest runnable task (functions/waits.sql): a new result type, so the
--    old signature goes (functions/admin_views.sql makes it anew). IF EXISTS: a fresh install
--    has no functions yet at this point.
-- 2. taskq.queue_series: what the workers' maintenance saw of each queue's finished totals
--    (taskq.counters) and since when they have not moved. A queue with no task left in
--    taskq.tasks whose totals stood still for a day loses its counter rows, and with them its
--    series on /metrics (taskq.prune_queue_series, functions/metrics.sql).

DROP FUNCTION IF EXISTS taskq.queue_overview_of(text);

CREATE TABLE taskq.queue_series (
  queue    text PRIMARY KEY,
  finished bigint NOT NULL,                    -- the sum of its counters when last seen moving
  moved_at timestamptz NOT NULL DEFAULT now()  -- when they were seen to move (or first seen)
);
