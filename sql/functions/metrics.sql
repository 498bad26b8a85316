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

-- The console's per-minute rollup (schema/030_rollup.sql): rolls every whole minute from where
-- the last call got to up to the current one (at most the last hour; with current, the
-- current minute too, which the next call rolls again), and deletes the rows older than
-- keep_days. Per queue and minute: the tasks that finished in it by state, with the p50 and
-- p95 of their wait (runnable → started, the last attempt's) and run time; the tasks whose
-- last attempt started in it (those finished since and those running now: a task that went
-- back to the queue in between is not counted); on the last minute rolled, how many tasks are
-- queued. Reads the tasks that finished in those minutes (tasks_finished) and the running
-- ones (tasks_running), never the whole table, and each finished task once. The workers'
-- maintenance calls it every 20 seconds: once a minute it has a minute to roll, else it
-- returns at once. One caller at a time does the work (the others find the lock taken and
-- return 0). Returns how many rows it wrote.
CREATE OR REPLACE FUNCTION taskq.rollup_minutes(keep_days integer DEFAULT 7,
                                                current boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  this_minute timestamptz := date_trunc('minute', now());
  upto timestamptz := this_minute + CASE WHEN current THEN interval '1 minute' ELSE interval '0' END;
  since timestamptz;
  n integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(1952539763, hashtext('rollup_minutes')) THEN
    RETURN 0;
  END IF;
  SELECT greatest(rolled_to, this_minute - interval '1 hour') INTO since FROM taskq.rollup_state;
  since := coalesce(since, this_minute - interval '1 hour');
  IF since >= upto THEN
    RETURN 0;
  END IF;
  INSERT INTO taskq.queue_minutes AS m (queue, minute, started, succeeded, failed, cancelled,
                                        queued, wait_p50_ms, wait_p95_ms, run_p50_ms, run_p95_ms)
  WITH fin AS MATERIALIZED (
    SELECT t.queue, t.state, t.started_at, date_trunc('minute', t.finished_at) AS minute,
           1000 * extract(epoch FROM t.started_at
                          - least(t.started_at, greatest(t.created_at, t.run_at))) AS wait_ms,
           1000 * extract(epoch FROM t.finished_at - t.started_at) AS run_ms
      FROM taskq.tasks t
     WHERE t.state IN ('succeeded', 'failed', 'cancelled')
       AND t.finished_at >= since AND t.finished_at < upto
  ), f AS (
    -- one sort per figure: both percentiles from it
    SELECT fin.queue, fin.minute,
           count(*) FILTER (WHERE fin.state = 'succeeded') AS succeeded,
           count(*) FILTER (WHERE fin.state = 'failed') AS failed,
           count(*) FILTER (WHERE fin.state = 'cancelled') AS cancelled,
           percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY fin.wait_ms) AS wait_p,
           percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY fin.run_ms) AS run_p
      FROM fin
     GROUP BY 1, 2
  ), s AS (
    SELECT x.queue, date_trunc('minute', x.started_at) AS minute, count(*) AS n
      FROM (SELECT fin.queue, fin.started_at FROM fin
            UNION ALL
            SELECT r.queue, r.started_at FROM taskq.tasks r WHERE r.state = 'running') x
     WHERE x.started_at >= since AND x.started_at < upto
     GROUP BY 1, 2
  ), q AS (
    SELECT x.queue, least(upto, this_minute + interval '1 minute') - interval '1 minute' AS minute,
           count(*) AS n
      FROM taskq.tasks x
     WHERE x.state = 'queued'
     GROUP BY 1
  )
  SELECT coalesce(f.queue, s.queue, q.queue), coalesce(f.minute, s.minute, q.minute),
         coalesce(s.n, 0), coalesce(f.succeeded, 0), coalesce(f.failed, 0),
         coalesce(f.cancelled, 0),
         -- the last minute's sample: 0 for a queue with nothing queued then
         CASE WHEN coalesce(f.minute, s.minute, q.minute)
                   = least(upto, this_minute + interval '1 minute') - interval '1 minute'
              THEN coalesce(q.n, 0) END,
         f.wait_p[1], f.wait_p[2], f.run_p[1], f.run_p[2]
    FROM f
    FULL JOIN s ON s.queue = f.queue AND s.minute = f.minute
    FULL JOIN q ON q.queue = coalesce(f.queue, s.queue) AND q.minute = coalesce(f.minute, s.minute)
  ON CONFLICT (queue, minute) DO UPDATE
     SET started = excluded.started, succeeded = excluded.succeeded, failed = excluded.failed,
         cancelled = excluded.cancelled, queued = coalesce(excluded.queued, m.queued),
         wait_p50_ms = excluded.wait_p50_ms, wait_p95_ms = excluded.wait_p95_ms,
         run_p50_ms = excluded.run_p50_ms, run_p95_ms = excluded.run_p95_ms;
  GET DIAGNOSTICS n = ROW_COUNT;
  INSERT INTO taskq.rollup_state AS r (one, rolled_to) VALUES (true, least(upto, this_minute))
  ON CONFLICT (one) DO UPDATE SET rolled_to = excluded.rolled_to;
  DELETE FROM taskq.queue_minutes
   WHERE minute < now() - make_interval(days => greatest(keep_days, 1));
  RETURN n;
END $$;

-- A queue's series for the console's charts: one point per bucket of `step` from `since` to
-- now, oldest first, from the rollup (a bucket without a row is absent: no task finished,
-- started or waited then). Over a bucket of several minutes the counts add up, queued is the
-- last sample, p50 is the mean of the minutes' p50 weighted by their finished tasks and p95
-- the largest of their p95 (an upper bound: percentiles do not add up).
CREATE OR REPLACE FUNCTION taskq.queue_series(q text, since interval, step interval)
RETURNS TABLE (at timestamptz, started bigint, succeeded bigint, failed bigint,
               cancelled bigint, queued integer, wait_p50_ms double precision,
               wait_p95_ms double precision, run_p50_ms double precision,
               run_p95_ms double precision)
LANGUAGE sql STABLE AS $$
  SELECT date_bin(step, m.minute, timestamptz '2000-01-01 00:00:00+00') AS at,
         sum(m.started)::bigint, sum(m.succeeded)::bigint, sum(m.failed)::bigint,
         sum(m.cancelled)::bigint,
         (array_agg(m.queued ORDER BY m.minute DESC) FILTER (WHERE m.queued IS NOT NULL))[1],
         sum(m.wait_p50_ms * (m.succeeded + m.failed + m.cancelled))
           / nullif(sum(m.succeeded + m.failed + m.cancelled)
                    FILTER (WHERE m.wait_p50_ms IS NOT NULL), 0),
         max(m.wait_p95_ms),
         sum(m.run_p50_ms * (m.succeeded + m.failed + m.cancelled))
           / nullif(sum(m.succeeded + m.failed + m.cancelled)
                    FILTER (WHERE m.run_p50_ms IS NOT NULL), 0),
         max(m.run_p95_ms)
    FROM taskq.queue_minutes m
   WHERE m.queue = q AND m.minute >= date_trunc('minute', now() - since)
   GROUP BY 1
   ORDER BY 1
$$;
