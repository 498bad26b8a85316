-- functions/complete.sql: what a worker records about a task it holds: progress, success
-- (one or a batch), failure with back-off, and handing a task back. Every verb is fenced by
-- worker and attempt: a worker whose lease expired (a stall longer than the lease) may claim
-- the same task again under the same worker id, and the stale run must then record nothing.
-- Cancellation is in cancel.sql; the heartbeat in workers.sql.

-- Retry back-off: 1 s doubled per attempt, capped at an hour, with ±25 % jitter, so that
-- tasks failing together do not come back together.
CREATE OR REPLACE FUNCTION taskq.backoff(attempt integer) RETURNS interval
LANGUAGE sql VOLATILE AS $$
  SELECT make_interval(secs => least(3600, power(2, greatest(attempt, 1) - 1))
                               * (0.75 + random() * 0.5))
$$;

-- A finished keyed task frees its key: wake the claimers so the next one starts now rather
-- than at the next poll.
CREATE OR REPLACE FUNCTION taskq.key_freed(ckey text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF ckey IS NOT NULL THEN
    PERFORM pg_notify('taskq_wake', '');
  END IF;
END $$;

-- What every end of a worker's attempt of t other than a success records: the attempt's
-- `claimed`, which the row implied until now (functions/history.sql), and the history row
-- (event, attempt and detail as the caller says), the count when t is finished for good, and
-- its key freed. t is the row of the caller's fenced UPDATE (which keeps started_at); all
-- NULL when that matched none (the worker no longer holds the task): then nothing is
-- recorded and the answer is false.
CREATE OR REPLACE FUNCTION taskq.attempt_ended(t taskq.tasks, worker text, event text,
                                               attempt integer, detail text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  IF t.id IS NULL THEN
    RETURN false;
  END IF;
  PERFORM taskq.keep_implied(t.id, 'running', attempt, worker, t.started_at);
  INSERT INTO taskq.task_events (task_id, event, attempt, worker_id, detail)
  VALUES (t.id, event, attempt, worker, detail);
  IF t.state IN ('succeeded', 'failed', 'cancelled') THEN
    PERFORM taskq.count_finished(t.queue, t.state, 1);
  END IF;
  PERFORM taskq.key_freed(t.concurrency_key);
  RETURN true;
END $$;

-- Progress of the worker's running tasks, a batch in one statement: the (id, attempt) pairs
-- with their percentages and messages (msgs: a JSON array in the same order, null for none).
-- Renews their leases. Returns the tasks the worker still holds, with cancel_requested (a
-- pair missing from the answer is no longer the worker's: it must stop and record nothing).
-- One statement, so one change notification and one commit for every task of the batch: a
-- NOTIFYing commit takes a cluster-wide lock, and one per progress write serialised workers.
CREATE OR REPLACE FUNCTION taskq.progress_many(worker text, ids uuid[], atts integer[],
                                               pcts integer[], msgs jsonb, lease_s integer)
RETURNS TABLE (id uuid, cancel_requested boolean)
LANGUAGE sql AS $$
  UPDATE taskq.tasks t
     SET progress = greatest(0, least(100, u.pct)), message = msgs ->> (u.n - 1)::int,
         lease_until = now() + make_interval(secs => lease_s),
         updated_at = now(), version = t.version + 1
    FROM unnest(ids, atts, pcts) WITH ORDINALITY AS u(id, att, pct, n)
   WHERE t.id = u.id AND t.worker_id = worker AND t.attempts = u.att AND t.state = 'running'
  RETURNING t.id, t.cancel_requested
$$;

-- Progress of one task (the SQL API's form of progress_many). Returns cancel_requested, or
-- NULL when the worker no longer holds the task (it must stop and record nothing).
CREATE OR REPLACE FUNCTION taskq.progress(task uuid, worker text, att integer, pct integer,
                                          msg text, lease_s integer)
RETURNS boolean
LANGUAGE sql AS $$
  SELECT p.cancel_requested
    FROM taskq.progress_many(worker, ARRAY[task], ARRAY[att], ARRAY[pct],
                             jsonb_build_array(msg), lease_s) p
$$;

-- Completions in batches: executors of a worker that finish at the same time share one
-- statement and one commit (one change notification, one counter update per queue and one
-- fsync for the whole batch instead of one of each per task). Records the successes of the
-- (id, attempt) pairs this worker holds; results is a JSON array in the same order. Returns
-- the ids it recorded (a pair the worker no longer holds is left alone, like taskq.complete).
-- No history row: the row says the success (state, finished_at), and with it the attempt's
-- `claimed` when nothing stored it before (functions/history.sql).
CREATE OR REPLACE FUNCTION taskq.complete_many(worker text, ids uuid[], atts integer[],
                                               results jsonb)
RETURNS SETOF uuid
LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $$
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
    RETURNING t.id, t.concurrency_key, t.queue
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

-- The attempt succeeded (one task): complete_many for a batch of one. True when recorded,
-- false when the worker no longer holds the task.
CREATE OR REPLACE FUNCTION taskq.complete(task uuid, worker text, att integer, res jsonb)
RETURNS boolean
LANGUAGE sql AS $$
  SELECT EXISTS (SELECT 1 FROM taskq.complete_many(worker, ARRAY[task], ARRAY[att],
                                                   jsonb_build_array(coalesce(res, '{}'))))
$$;

-- The attempt failed. Retried after a back-off while attempts remain and the failure is
-- retryable, else failed for good. retry_in_s may name the earliest retry (an upstream's
-- Retry-After); the exponential back-off still applies when it is longer. Returns the new
-- state, NULL when the worker no longer holds the task.
CREATE OR REPLACE FUNCTION taskq.fail(task uuid, worker text, att integer, err text,
                                      retryable boolean DEFAULT true,
                                      retry_in_s double precision DEFAULT NULL)
RETURNS taskq.state
LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $$
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
  PERFORM taskq.attempt_ended(t, worker, CASE WHEN t.state = 'queued' THEN 'retry' ELSE 'failed' END,
                              t.attempts, err);
  RETURN t.state;  -- NULL when the worker no longer holds the task
END $$;

-- A worker hands a task back: one it was running when it shut down, or one that waited too
-- long in its local queue unstarted. The attempt does not count, since the task never got to
-- fail.
CREATE OR REPLACE FUNCTION taskq.release(task uuid, worker text, att integer) RETURNS boolean
LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $$
DECLARE
  t taskq.tasks;
BEGIN
  UPDATE taskq.tasks x
     SET state = 'queued', attempts = greatest(x.attempts - 1, 0), lease_until = NULL,
         worker_id = NULL, run_at = now(), message = 'released by its worker',
         updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.worker_id = worker AND x.attempts = att AND x.state = 'running'
  RETURNING * INTO t;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  PERFORM taskq.keep_implied(task, 'running', att, worker, t.started_at);
  INSERT INTO taskq.task_events (task_id, event, attempt, worker_id)
  VALUES (task, 'released', att, worker);
  PERFORM pg_notify('taskq_wake', '');
  RETURN true;
END $$;
