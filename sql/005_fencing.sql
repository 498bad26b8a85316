-- taskq schema, version 5: worker verbs fenced by attempt, and a claim that keeps priority
-- order between tasks with and without a concurrency key.
--
-- A worker whose lease expired (a stall longer than the lease) may claim the same task again
-- under the same worker id; the stale run must then record nothing. So every verb a worker
-- runs on a claimed task names the attempt it holds, and only the current attempt counts.

DROP FUNCTION taskq.progress(uuid, text, integer, text, integer);
DROP FUNCTION taskq.complete(uuid, text, jsonb);
DROP FUNCTION taskq.fail(uuid, text, text, boolean, double precision);
DROP FUNCTION taskq.ack_cancel(uuid, text);
DROP FUNCTION taskq.release(uuid, text);
DROP FUNCTION taskq.heartbeat(text, integer, uuid[], text, integer, text, text, integer);

CREATE FUNCTION taskq.progress(task uuid, worker text, att integer, pct integer, msg text,
                               lease_s integer)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  cancel boolean;
BEGIN
  UPDATE taskq.tasks t
     SET progress = greatest(0, least(100, pct)), message = msg,
         lease_until = now() + make_interval(secs => lease_s),
         updated_at = now(), version = t.version + 1
   WHERE t.id = task AND t.worker_id = worker AND t.attempts = att AND t.state = 'running'
  RETURNING t.cancel_requested INTO cancel;
  RETURN cancel;
END $$;

CREATE FUNCTION taskq.complete(task uuid, worker text, att integer, res jsonb) RETURNS boolean
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
  PERFORM taskq.key_freed(t.concurrency_key);
  RETURN true;
END $$;

CREATE FUNCTION taskq.fail(task uuid, worker text, att integer, err text, retryable boolean DEFAULT true,
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
  PERFORM taskq.key_freed(t.concurrency_key);
  RETURN t.state;
END $$;

CREATE FUNCTION taskq.ack_cancel(task uuid, worker text, att integer) RETURNS boolean
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
  PERFORM taskq.key_freed(t.concurrency_key);
  RETURN true;
END $$;

CREATE FUNCTION taskq.release(task uuid, worker text, att integer) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  t taskq.tasks;
BEGIN
  UPDATE taskq.tasks x
     SET state = 'queued', attempts = greatest(x.attempts - 1, 0), lease_until = NULL,
         worker_id = NULL, run_at = now(), message = 'released by a stopping worker',
         updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.worker_id = worker AND x.attempts = att AND x.state = 'running'
  RETURNING * INTO t;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO taskq.task_events (task_id, event, attempt, worker_id)
  VALUES (task, 'released', t.attempts + 1, worker);
  PERFORM pg_notify('taskq_wake', '');
  RETURN true;
END $$;

-- held and held_attempts name the (task, attempt) pairs the worker's executors run.
CREATE FUNCTION taskq.heartbeat(worker text, lease_s integer, held uuid[], held_attempts integer[],
                                host text, pid integer, version text, queues text,
                                concurrency integer)
RETURNS TABLE (id uuid, cancel_requested boolean)
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO taskq.workers AS w (id, host, pid, version, queues, concurrency, running)
  VALUES (worker, host, pid, version, queues, concurrency, coalesce(cardinality(held), 0))
  ON CONFLICT ON CONSTRAINT workers_pkey
  DO UPDATE SET running = excluded.running, last_seen = now();
  RETURN QUERY
  UPDATE taskq.tasks t
     SET lease_until = now() + make_interval(secs => lease_s)
    FROM unnest(held, held_attempts) AS h(hid, hatt)
   WHERE t.id = h.hid AND t.attempts = h.hatt AND t.worker_id = worker AND t.state = 'running'
  RETURNING t.id, t.cancel_requested;
END $$;

-- Takes the queued tasks among ids (already locked by the caller's SELECT … FOR UPDATE SKIP
-- LOCKED, in the same transaction) for a worker, with one history row each.
CREATE FUNCTION taskq.take(worker text, ids uuid[], lease_s integer)
RETURNS SETOF taskq.tasks
LANGUAGE sql AS $$
  WITH claimed AS (
    UPDATE taskq.tasks t
       SET state = 'running', attempts = t.attempts + 1, started_at = now(),
           lease_until = now() + make_interval(secs => lease_s), worker_id = worker,
           progress = 0, message = NULL, error = NULL, updated_at = now(),
           version = t.version + 1
     WHERE t.id = ANY (ids) AND t.state = 'queued'
    RETURNING t.*
  ), ev AS (
    INSERT INTO taskq.task_events (task_id, event, attempt, worker_id)
    SELECT c.id, 'claimed', c.attempts, worker FROM claimed c
  )
  SELECT * FROM claimed
$$;

-- Claim in priority order across keyed and plain tasks: keyed tasks more urgent than the best
-- ready plain task first, then plain tasks, then keyed tasks of any priority for what is left.
-- Each key is counted under its advisory lock (see version 2).
CREATE OR REPLACE FUNCTION taskq.claim(worker text, queue_name text, k integer, lease_s integer)
RETURNS SETOF taskq.tasks
LANGUAGE plpgsql AS $$
DECLARE
  got integer := 0;
  n integer;
  room integer;
  ckey text;
  lim integer;
  busy integer;
  plain_best smallint;
  floor_prio integer;
  pass integer;
  ids uuid[];
BEGIN
  SELECT r.priority INTO plain_best FROM taskq.tasks r
   WHERE r.state = 'queued' AND r.queue = queue_name AND r.run_at <= now()
     AND r.concurrency_key IS NULL
   ORDER BY r.priority DESC, r.run_at, r.id LIMIT 1;

  FOR pass IN 1..3 LOOP
    EXIT WHEN got >= k;
    IF pass = 2 THEN
      SELECT array_agg(r.id) INTO ids FROM (
        SELECT r.id FROM taskq.tasks r
         WHERE r.state = 'queued' AND r.queue = queue_name AND r.run_at <= now()
           AND r.concurrency_key IS NULL
         ORDER BY r.priority DESC, r.run_at, r.id
         LIMIT k - got
         FOR UPDATE SKIP LOCKED) r;
      RETURN QUERY SELECT * FROM taskq.take(worker, ids, lease_s);
      GET DIAGNOSTICS n = ROW_COUNT;
      got := got + n;
      CONTINUE;
    END IF;
    -- pass 1: keyed tasks strictly more urgent than the best plain one; pass 3: the rest
    CONTINUE WHEN pass = 3 AND plain_best IS NULL;  -- pass 1 already took every key
    floor_prio := CASE WHEN pass = 1 AND plain_best IS NOT NULL THEN plain_best + 1 ELSE -32768 END;
    FOR ckey IN
      WITH RECURSIVE keys AS (
        (SELECT r.concurrency_key AS key FROM taskq.tasks r
          WHERE r.state = 'queued' AND r.queue = queue_name AND r.concurrency_key IS NOT NULL
          ORDER BY r.concurrency_key LIMIT 1)
        UNION ALL
        SELECT (SELECT r.concurrency_key FROM taskq.tasks r
                 WHERE r.state = 'queued' AND r.queue = queue_name
                   AND r.concurrency_key > keys.key
                 ORDER BY r.concurrency_key LIMIT 1)
          FROM keys WHERE keys.key IS NOT NULL
      )
      SELECT keys.key FROM keys WHERE keys.key IS NOT NULL LIMIT 256
    LOOP
      EXIT WHEN got >= k;
      CONTINUE WHEN NOT pg_try_advisory_xact_lock(1952539761, hashtext(ckey));
      SELECT coalesce((SELECT l.max_running FROM taskq.concurrency_limits l WHERE l.key = ckey), 1)
        INTO lim;
      SELECT count(*) INTO busy FROM taskq.tasks r
       WHERE r.state = 'running' AND r.concurrency_key = ckey;
      room := least(lim - busy, k - got);
      CONTINUE WHEN room <= 0;
      SELECT array_agg(r.id) INTO ids FROM (
        SELECT r.id FROM taskq.tasks r
         WHERE r.state = 'queued' AND r.queue = queue_name AND r.run_at <= now()
           AND r.concurrency_key = ckey AND r.priority >= floor_prio
         ORDER BY r.priority DESC, r.run_at, r.id
         LIMIT room
         FOR UPDATE SKIP LOCKED) r;
      RETURN QUERY SELECT * FROM taskq.take(worker, ids, lease_s);
      GET DIAGNOSTICS n = ROW_COUNT;
      got := got + n;
    END LOOP;
  END LOOP;
END $$;
