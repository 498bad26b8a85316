-- functions/maintenance.sql: what the workers' maintenance runs: lease rescue and retention,
-- plus the admin's purge. Must not run on a request's path.

-- Lease rescue: running tasks whose lease expired (their worker died or lost the database)
-- go back to queued, or to failed when no attempts remain, or to cancelled when that was
-- asked. Returns how many it moved. Each gets a `rescued` history row, after the claim of
-- the attempt it ends (implied by the row until now: functions/history.sql), in one INSERT so
-- that the two keep their order. Workers that stopped answering long ago leave the fleet table.
CREATE OR REPLACE FUNCTION taskq.rescue(batch integer DEFAULT 100) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  -- the tasks it moves are announced by the change trigger, whoever calls it
  PERFORM set_config('taskq.announce', 'now', true);
  WITH expired AS MATERIALIZED (
    SELECT id, worker_id AS held_by FROM taskq.tasks
     WHERE state = 'running' AND lease_until < now()
     LIMIT batch FOR UPDATE SKIP LOCKED
  ), moved AS (
    UPDATE taskq.tasks t
       SET state = CASE WHEN t.cancel_requested THEN 'cancelled'::taskq.state
                        WHEN t.attempts < t.max_attempts THEN 'queued'::taskq.state
                        ELSE 'failed'::taskq.state END,
           finished_at = CASE WHEN t.cancel_requested OR t.attempts >= t.max_attempts
                              THEN now() END,
           error = 'lease expired: worker ' || coalesce(t.worker_id, '?') || ' stopped answering',
           run_at = now(), lease_until = NULL, worker_id = NULL,
           updated_at = now(), version = t.version + 1
      FROM expired
     WHERE t.id = expired.id
    RETURNING t.id, t.state, t.attempts, t.error, t.queue, t.started_at, expired.held_by
  ), ev AS (
    INSERT INTO taskq.task_events (task_id, at, event, attempt, worker_id, detail)
    SELECT x.task_id, x.at, x.event, x.attempt, x.worker_id, x.detail
      FROM (SELECT i.task_id, i.k, i.at, i.event, i.attempt, i.worker_id, NULL AS detail
              FROM moved m
             CROSS JOIN LATERAL taskq.implied_events(m.id, 'running', m.attempts, m.held_by,
                                                     m.started_at, NULL) i
            UNION ALL
            SELECT m.id, 3, now(), 'rescued', m.attempts, NULL,
                   m.error || ' (now ' || m.state::text || ')'
              FROM moved m) x
     ORDER BY x.task_id, x.k
  ), counted AS (
    INSERT INTO taskq.counters AS c (queue, state, shard, n)
    SELECT m.queue, m.state, (pg_backend_pid() % 16)::smallint, count(*) FROM moved m
     WHERE m.state IN ('failed', 'cancelled')
     GROUP BY m.queue, m.state
    ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n
  )
  SELECT count(*) INTO n FROM moved;
  IF n > 0 THEN
    PERFORM pg_notify('taskq_wake', '');
  END IF;
  -- workers that stopped answering long ago leave the fleet table
  DELETE FROM taskq.workers WHERE last_seen < now() - interval '5 minutes';
  RETURN n;
END $$;

-- Retention: deletes up to `batch` finished tasks older than older_than, and their events
-- and streamed output (no foreign key: pruning deletes them in batches of its own). Small batches keep locks
-- short; the workers' maintenance calls it until it returns < batch. Fire rows of schedules
-- go with the finished tasks (the worker's --retention-h); the latest fire time of each
-- schedule lives on in taskq.schedules.last_fire_at.
CREATE OR REPLACE FUNCTION taskq.prune(older_than interval DEFAULT '7 days',
                                       batch integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  WITH old AS (
    SELECT id FROM taskq.tasks
     WHERE state IN ('succeeded', 'failed', 'cancelled') AND finished_at < now() - older_than
     ORDER BY finished_at
     LIMIT batch
     FOR UPDATE SKIP LOCKED
  ), gone AS (
    DELETE FROM taskq.tasks t USING old WHERE t.id = old.id RETURNING t.id
  ), ev AS (
    DELETE FROM taskq.task_events e USING gone WHERE e.task_id = gone.id
  ), out AS (
    DELETE FROM taskq.task_output o USING gone WHERE o.task_id = gone.id
  ), outh AS (
    DELETE FROM taskq.task_output_heads h USING gone WHERE h.task_id = gone.id
  )
  SELECT count(*) INTO n FROM gone;
  -- signal links past their lifetime by as long (functions/signals.sql)
  DELETE FROM taskq.signal_tokens s
   WHERE s.hash = ANY (ARRAY(SELECT x.hash FROM taskq.signal_tokens x
                              WHERE x.expires_at < now() - older_than LIMIT batch));
  DELETE FROM taskq.schedule_fires f
   WHERE f.ctid = ANY (ARRAY(SELECT x.ctid FROM taskq.schedule_fires x
                              WHERE x.fired_at < now() - older_than LIMIT batch));
  RETURN n;
END $$;

-- Admin: delete every finished task older than older_than now, in batches.
CREATE OR REPLACE FUNCTION taskq.purge(older_than interval) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  total bigint := 0;
  n integer;
BEGIN
  LOOP
    n := taskq.prune(older_than, 5000);
    total := total + n;
    EXIT WHEN n < 5000;
  END LOOP;
  RETURN total;
END $$;
