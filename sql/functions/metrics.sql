-- functions/metrics.sql: the finished-task counters' writer and the views GET /metrics reads
-- (the tables: schema/008_metrics.sql). Must not hold verbs: every verb that finishes tasks
-- counts them itself, in its own statement.

-- Adds k to the counter of (queue, state) in this backend's shard: sharded by pid so that
-- concurrent workers' commits do not queue on one hot row. (plpgsql: its plan is kept for the
-- session, where an SQL function's INSERT would be planned at every call.)
CREATE OR REPLACE FUNCTION taskq.count_finished(q text, s taskq.state, k bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO taskq.counters AS c (queue, state, shard, n)
  SELECT q, s, (pg_backend_pid() % 16)::smallint, k WHERE k > 0
  ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n;
END $$;

-- The totals (what /metrics shows as taskq_tasks_finished_total): readers sum the shards.
CREATE OR REPLACE VIEW taskq.counter_totals AS
SELECT queue, state, sum(n)::bigint AS n
  FROM taskq.counters
 GROUP BY queue, state
 ORDER BY queue, state;

-- Per queue and state: how many tasks and how many reached that state in the last minute;
-- on the queued row, what its queued tasks wait for (functions/waits.sql, the one definition
-- /api/queues and the admin views read too): how long the longest-waiting runnable task has
-- waited since it became runnable (0 when none is runnable: delayed and blocked tasks do not
-- count), and how many are delayed and blocked. One pass over the table, one over its queued
-- rows: taskq-fcgi caches the answer for a second.
CREATE OR REPLACE VIEW taskq.metrics_queues AS
SELECT c.queue, c.state, c.count, c.finished_last_minute,
       CASE WHEN c.state = 'queued' THEN coalesce(w.oldest_runnable_s, 0) ELSE 0 END
         AS oldest_ready_s,
       CASE WHEN c.state = 'queued' THEN coalesce(w.delayed, 0) ELSE 0 END AS delayed,
       CASE WHEN c.state = 'queued' THEN coalesce(w.blocked, 0) ELSE 0 END AS blocked
  FROM (SELECT queue, state, count(*) AS count,
               count(*) FILTER (WHERE finished_at > now() - interval '1 minute')
                 AS finished_last_minute
          FROM taskq.tasks
         GROUP BY queue, state) c
  LEFT JOIN taskq.queue_wait_totals w ON w.queue = c.queue AND c.state = 'queued'
 ORDER BY c.queue, c.state;

