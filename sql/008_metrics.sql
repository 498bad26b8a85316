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

CREATE TABLE taskq.counters (
  queue text NOT NULL,
  state taskq.state NOT NULL CHECK (state IN ('succeeded', 'failed', 'cancelled')),
  shard smallint NOT NULL,
  n     bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (queue, state, shard)
);

-- Adds k to the counter of (queue, state) in this backend's shard. (plpgsql: its plan is kept
-- for the session, where an SQL function's INSERT would be planned at every call.)
CREATE FUNCTION taskq.count_finished(q text, s taskq.state, k bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO taskq.counters AS c (queue, state, shard, n)
  SELECT q, s, (pg_backend_pid() % 16)::smallint, k WHERE k > 0
  ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n;
END $$;

-- The totals (what /metrics shows as taskq_tasks_finished_total).
CREATE VIEW taskq.counter_totals AS
SELECT queue, state, sum(n)::bigint AS n
  FROM taskq.counters
 GROUP BY queue, state
 ORDER BY queue, state;

-- ---- the verbs that finish tasks, as in versions 2, 5 and 6, plus their count -------------

CREATE OR REPLACE FUNCTION taskq.complete(task uuid, worker text, att integer, res jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  t taskq.tasks;
BEGIN
  UPDATE taskq.tasks x
     SET state = 'succeeded', progress = 100, result = res, error = NULL, finished_at = now(),
         lease_until = NULL, updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.worker_id = worker AND x.attempts = att AND x.state = 'running'
  RETURNING * INTO t;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO taskq.task_events (task_id, event, attempt, worker_id)
  VALUES (task, 'succeeded', t.attempts, worker);
  PERFORM taskq.count_finished(t.queue, 'succeeded', 1);
  PERFORM taskq.key_freed(t.concurrency_key);
  RETURN true;
END $$;

CREATE OR REPLACE FUNCTION taskq.complete_many(worker text, ids uuid[], atts integer[], results jsonb)
RETURNS SETOF uuid
LANGUAGE plpgsql AS $$
DECLARE
  done_ids uuid[];
  keyed boolean;
BEGIN
  WITH input AS (
    SELECT u.id, u.att, results -> (u.n - 1)::int AS res
      FROM unnest(ids, atts) WITH ORDINALITY AS u(id, att, n)
  ), done AS (
    UPDATE taskq.tasks t
       SET state = 'succeeded', progress = 100, result = coalesce(input.res, '{}'), error = NULL,
           finished_at = now(), lease_until = NULL, updated_at = now(), version = t.version + 1
      FROM input
     WHERE t.id = input.id AND t.worker_id = worker AND t.attempts = input.att
       AND t.state = 'running'
    RETURNING t.id, t.attempts, t.concurrency_key, t.queue
  ), ev AS (
    INSERT INTO taskq.task_events (task_id, event, attempt, worker_id)
    SELECT d.id, 'succeeded', d.attempts, worker FROM done d
  ), counted AS (
    -- one row per queue of the batch (GROUP BY: ON CONFLICT may touch a row only once)
    INSERT INTO taskq.counters AS c (queue, state, shard, n)
    SELECT d.queue, 'succeeded', (pg_backend_pid() % 16)::smallint, count(*) FROM done d
     GROUP BY d.queue
    ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n
  )
  SELECT array_agg(d.id), bool_or(d.concurrency_key IS NOT NULL) INTO done_ids, keyed FROM done d;
  IF keyed THEN
    PERFORM pg_notify('taskq_wake', '');  -- a key was freed: its next task may start
  END IF;
  RETURN QUERY SELECT unnest(coalesce(done_ids, '{}'));
END $$;

CREATE OR REPLACE FUNCTION taskq.fail(task uuid, worker text, att integer, err text,
                                      retryable boolean DEFAULT true,
                                      retry_in_s double precision DEFAULT NULL)
RETURNS taskq.state
LANGUAGE plpgsql AS $$
DECLARE
  t taskq.tasks;
BEGIN
  UPDATE taskq.tasks x
     SET state = CASE WHEN retryable AND x.attempts < x.max_attempts AND NOT x.cancel_requested
                      THEN 'queued'::taskq.state ELSE 'failed'::taskq.state END,
         run_at = CASE WHEN retryable AND x.attempts < x.max_attempts
                       THEN now() + greatest(taskq.backoff(x.attempts),
                                             make_interval(secs => coalesce(retry_in_s, 0)))
                       ELSE x.run_at END,
         finished_at = CASE WHEN retryable AND x.attempts < x.max_attempts AND NOT x.cancel_requested
                            THEN NULL ELSE now() END,
         error = err, lease_until = NULL, worker_id = NULL,
         updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.worker_id = worker AND x.attempts = att AND x.state = 'running'
  RETURNING * INTO t;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  INSERT INTO taskq.task_events (task_id, event, attempt, worker_id, detail)
  VALUES (task, CASE WHEN t.state = 'queued' THEN 'retry' ELSE 'failed' END, t.attempts, worker, err);
  IF t.state = 'failed' THEN
    PERFORM taskq.count_finished(t.queue, 'failed', 1);
  END IF;
  PERFORM taskq.key_freed(t.concurrency_key);
  RETURN t.state;
END $$;

CREATE OR REPLACE FUNCTION taskq.ack_cancel(task uuid, worker text, att integer) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  t taskq.tasks;
BEGIN
  UPDATE taskq.tasks x
     SET state = 'cancelled', finished_at = now(), lease_until = NULL,
         message = coalesce(x.message, 'cancelled'), updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.worker_id = worker AND x.attempts = att AND x.state = 'running'
  RETURNING * INTO t;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO taskq.task_events (task_id, event, attempt, worker_id)
  VALUES (task, 'cancelled', t.attempts, worker);
  PERFORM taskq.count_finished(t.queue, 'cancelled', 1);
  PERFORM taskq.key_freed(t.concurrency_key);
  RETURN true;
END $$;

CREATE OR REPLACE FUNCTION taskq.cancel(task uuid, OUT outcome text, OUT t taskq.tasks)
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE taskq.tasks x
     SET state = CASE WHEN x.state = 'queued' THEN 'cancelled'::taskq.state ELSE x.state END,
         finished_at = CASE WHEN x.state = 'queued' THEN now() ELSE x.finished_at END,
         cancel_requested = true, updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.state IN ('queued', 'running')
  RETURNING * INTO t;
  IF FOUND THEN
    outcome := CASE WHEN t.state = 'cancelled' THEN 'cancelled' ELSE 'requested' END;
    INSERT INTO taskq.task_events (task_id, event, attempt, worker_id)
    VALUES (task, CASE WHEN t.state = 'cancelled' THEN 'cancelled' ELSE 'cancel_requested' END,
            t.attempts, t.worker_id);
    IF t.state = 'cancelled' THEN
      PERFORM taskq.count_finished(t.queue, 'cancelled', 1);
    END IF;
    RETURN;
  END IF;
  SELECT * INTO t FROM taskq.tasks x WHERE x.id = task;
  outcome := CASE WHEN FOUND THEN 'finished' ELSE 'not_found' END;
END $$;

CREATE OR REPLACE FUNCTION taskq.rescue(batch integer DEFAULT 100) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  WITH expired AS MATERIALIZED (
    SELECT id FROM taskq.tasks
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
    RETURNING t.id, t.state, t.attempts, t.error, t.queue
  ), ev AS (
    INSERT INTO taskq.task_events (task_id, event, attempt, detail)
    SELECT m.id, 'rescued', m.attempts, m.error || ' (now ' || m.state::text || ')' FROM moved m
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

-- ---- the workers' own counters ------------------------------------------------------------

ALTER TABLE taskq.workers ADD COLUMN metrics jsonb;

-- The heartbeat also stores the worker's counters (metrics: a JSON object, see worker/wstats.c).
-- A new signature, and the old one dropped: a worker built for version 7 fails its heartbeat
-- loudly instead of calling a function that silently keeps no counters.
DROP FUNCTION taskq.heartbeat(text, integer, uuid[], integer[], text, integer, text, text, integer);
CREATE FUNCTION taskq.heartbeat(worker text, lease_s integer, held uuid[], held_attempts integer[],
                                host text, pid integer, version text, queues text,
                                concurrency integer, metrics jsonb)
RETURNS TABLE (id uuid, cancel_requested boolean)
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO taskq.workers AS w (id, host, pid, version, queues, concurrency, running, metrics)
  VALUES (worker, host, pid, version, queues, concurrency, coalesce(cardinality(held), 0), metrics)
  ON CONFLICT ON CONSTRAINT workers_pkey
  DO UPDATE SET running = excluded.running, metrics = excluded.metrics, last_seen = now();
  RETURN QUERY
  UPDATE taskq.tasks t
     SET lease_until = now() + make_interval(secs => lease_s)
    FROM unnest(held, held_attempts) AS h(hid, hatt)
   WHERE t.id = h.hid AND t.attempts = h.hatt AND t.worker_id = worker AND t.state = 'running'
  RETURNING t.id, t.cancel_requested;
END $$;

-- ---- the queue figures ----------------------------------------------------------------------

-- Per queue and state: how many tasks, how many reached that state in the last minute, and
-- (on the queued row) how long the longest-waiting ready task has waited since it became
-- due: since its run_at for a delayed or backing-off task, since its submit otherwise (a
-- fair-queued task's run_at may lie before its submit). Tasks not yet due do not count.
CREATE VIEW taskq.metrics_queues AS
SELECT queue, state, count(*) AS count,
       count(*) FILTER (WHERE finished_at > now() - interval '1 minute') AS finished_last_minute,
       coalesce(extract(epoch FROM now() - min(greatest(run_at, created_at))
                        FILTER (WHERE state = 'queued' AND run_at <= now())), 0)
         AS oldest_ready_s
  FROM taskq.tasks
 GROUP BY queue, state
 ORDER BY queue, state;
