-- functions/metrics.sql: the finished-task counters' writer, the views GET /metrics reads and
-- the pruning of the series of queues that are gone (the tables: schema/008_metrics.sql,
-- schema/018_queue_signals.sql). Must not hold verbs: every verb that finishes tasks counts
-- them itself, in its own statement.

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

-- The series of a queue that is gone: when no task of the queue is left in taskq.tasks and
-- its finished totals have not moved for `idle`, its rows of taskq.counters are deleted, and
-- its series leave /metrics (should it come back, its taskq_tasks_finished_total starts again
-- from 0, a counter reset). Returns how many queues went. The workers' maintenance calls it
-- every minute, after taskq.prune; one caller at a time does the work (the others find the
-- lock taken and return 0). While every queue is busy it reads taskq.counters only (at most
-- 16 rows per queue and final state) and taskq.queue_series (schema/018_queue_signals.sql);
-- whether a quiet queue has tasks left takes a pass over taskq.tasks (no index holds the
-- queue of finished rows), made only once some queue has been quiet for `idle`, and not again
-- for that queue before another `idle` has passed.
CREATE OR REPLACE FUNCTION taskq.prune_queue_series(idle interval DEFAULT '1 day')
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  quiet text[];
  busy text[];
  n integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(1952539763, hashtext('prune_queue_series')) THEN
    RETURN 0;
  END IF;
  -- totals that moved since the last call (or are new): the queue is alive now
  INSERT INTO taskq.queue_series AS s (queue, finished, moved_at)
  SELECT c.queue, sum(c.n), now() FROM taskq.counters c GROUP BY c.queue
  ON CONFLICT (queue) DO UPDATE SET finished = excluded.finished, moved_at = now()
   WHERE s.finished <> excluded.finished;
  DELETE FROM taskq.queue_series s
   WHERE NOT EXISTS (SELECT 1 FROM taskq.counters c WHERE c.queue = s.queue);
  SELECT array_agg(s.queue) INTO quiet FROM taskq.queue_series s WHERE s.moved_at <= now() - idle;
  IF quiet IS NULL THEN
    RETURN 0;
  END IF;
  -- quiet, but with tasks left (queued for long, running for long, or finished and not yet
  -- pruned): kept, and looked at again after another idle period. Unfinished ones are found
  -- through the indexes of queued and running rows; finished ones take the pass.
  SELECT coalesce(array_agg(u.q), '{}') INTO busy FROM unnest(quiet) AS u(q)
   WHERE EXISTS (SELECT 1 FROM taskq.tasks t WHERE t.queue = u.q AND t.state = 'queued')
      OR EXISTS (SELECT 1 FROM taskq.tasks t WHERE t.queue = u.q AND t.state = 'running');
  IF cardinality(busy) < cardinality(quiet) THEN
    busy := busy || coalesce((SELECT array_agg(DISTINCT t.queue) FROM taskq.tasks t
                               WHERE t.queue = ANY (quiet) AND NOT t.queue = ANY (busy)), '{}');
  END IF;
  UPDATE taskq.queue_series s SET moved_at = now() WHERE s.queue = ANY (busy);
  DELETE FROM taskq.counters c WHERE c.queue = ANY (quiet) AND NOT c.queue = ANY (busy);
  DELETE FROM taskq.queue_series s WHERE s.queue = ANY (quiet) AND NOT s.queue = ANY (busy);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
