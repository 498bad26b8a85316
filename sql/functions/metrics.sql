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

-- Per queue and state: how many tasks, how many reached that state in the last minute, and
-- (on the queued row) how long the longest-waiting ready task has waited since it became
-- due: since its run_at for a delayed or backing-off task, since its submit otherwise (a
-- fair-queued task's run_at may lie before its submit). Tasks not yet due do not count. One
-- pass over the table: taskq-fcgi caches the answer for a second.
CREATE OR REPLACE VIEW taskq.metrics_queues AS
SELECT queue, state, count(*) AS count,
       count(*) FILTER (WHERE finished_at > now() - interval '1 minute') AS finished_last_minute,
       coalesce(extract(epoch FROM now() - min(greatest(run_at, created_at))
                        FILTER (WHERE state = 'queued' AND run_at <= now())), 0)
         AS oldest_ready_s
  FROM taskq.tasks
 GROUP BY queue, state
 ORDER BY queue, state;
