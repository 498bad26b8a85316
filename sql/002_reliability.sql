-- taskq schema, version 2: the events history, the fleet table, concurrency keys, retention
-- and the admin views. Every verb that changes a task's state now writes one history row per
-- task in the same statement (a claim of k tasks writes k rows with one INSERT … SELECT).

-- One row per state change, for admins and the task's page: who did what, when, and why.
-- No foreign key: pruning deletes tasks and their events in batches of its own.
CREATE TABLE taskq.task_events (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id   uuid NOT NULL,
  at        timestamptz NOT NULL DEFAULT now(),
  event     text NOT NULL,  -- claimed succeeded retry failed cancel_requested cancelled
                            -- released rescued retried
  attempt   integer,
  worker_id text,
  detail    text
);
CREATE INDEX task_events_task ON taskq.task_events (task_id, id);

-- One row per live worker daemon, upserted at every heartbeat.
CREATE TABLE taskq.workers (
  id          text PRIMARY KEY,
  host        text NOT NULL,
  pid         integer NOT NULL,
  version     text NOT NULL,
  queues      text NOT NULL,
  concurrency integer NOT NULL,
  running     integer NOT NULL DEFAULT 0,
  started_at  timestamptz NOT NULL DEFAULT now(),
  last_seen   timestamptz NOT NULL DEFAULT now()
);

-- At most max_running tasks with this concurrency_key run at once, across all workers. A key
-- without a row here allows one.
CREATE TABLE taskq.concurrency_limits (
  key         text PRIMARY KEY,
  max_running integer NOT NULL CHECK (max_running >= 1)
);

-- Keyed tasks leave the plain claim's index: the plain claim never walks past a backlog of
-- tasks waiting for their key.
DROP INDEX taskq.tasks_ready;
CREATE INDEX tasks_ready ON taskq.tasks (queue, priority DESC, run_at, id)
  WHERE state = 'queued' AND concurrency_key IS NULL;
CREATE INDEX tasks_ready_keyed ON taskq.tasks (queue, concurrency_key, priority DESC, run_at, id)
  WHERE state = 'queued' AND concurrency_key IS NOT NULL;
CREATE INDEX tasks_running_key ON taskq.tasks (concurrency_key)
  WHERE state = 'running' AND concurrency_key IS NOT NULL;
-- Pruning walks finished rows oldest first.
CREATE INDEX tasks_finished ON taskq.tasks (finished_at)
  WHERE state IN ('succeeded', 'failed', 'cancelled');

-- Claim: keyed tasks first, key by key, each under a transaction-scoped advisory lock so that
-- two claimers never count the same key at once (the count runs in its own statement, after
-- the lock, so it sees every committed claim); then plain tasks fill the rest of the batch.
-- Keys come from a loose index scan (one probe per distinct key), so a backlog of thousands
-- of tasks waiting for one key costs a claim nothing.
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
BEGIN
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
    RETURN QUERY
    WITH ready AS MATERIALIZED (
      SELECT r.id FROM taskq.tasks r
       WHERE r.state = 'queued' AND r.queue = queue_name AND r.run_at <= now()
         AND r.concurrency_key = ckey
       ORDER BY r.priority DESC, r.run_at, r.id
       LIMIT room
       FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE taskq.tasks t
         SET state = 'running', attempts = t.attempts + 1, started_at = now(),
             lease_until = now() + make_interval(secs => lease_s), worker_id = worker,
             progress = 0, message = NULL, error = NULL, updated_at = now(), version = t.version + 1
        FROM ready
       WHERE t.id = ready.id
      RETURNING t.*
    ), ev AS (
      INSERT INTO taskq.task_events (task_id, event, attempt, worker_id)
      SELECT c.id, 'claimed', c.attempts, worker FROM claimed c
    )
    SELECT * FROM claimed;
    GET DIAGNOSTICS n = ROW_COUNT;
    got := got + n;
  END LOOP;

  IF got < k THEN
    RETURN QUERY
    WITH ready AS MATERIALIZED (
      SELECT r.id FROM taskq.tasks r
       WHERE r.state = 'queued' AND r.queue = queue_name AND r.run_at <= now()
         AND r.concurrency_key IS NULL
       ORDER BY r.priority DESC, r.run_at, r.id
       LIMIT k - got
       FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE taskq.tasks t
         SET state = 'running', attempts = t.attempts + 1, started_at = now(),
             lease_until = now() + make_interval(secs => lease_s), worker_id = worker,
             progress = 0, message = NULL, error = NULL, updated_at = now(), version = t.version + 1
        FROM ready
       WHERE t.id = ready.id
      RETURNING t.*
    ), ev AS (
      INSERT INTO taskq.task_events (task_id, event, attempt, worker_id)
      SELECT c.id, 'claimed', c.attempts, worker FROM claimed c
    )
    SELECT * FROM claimed;
  END IF;
END $$;

-- A finished keyed task frees its key: wake the claimers so the next one starts now rather
-- than at the next poll.
CREATE FUNCTION taskq.key_freed(ckey text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF ckey IS NOT NULL THEN
    PERFORM pg_notify('taskq_wake', '');
  END IF;
END $$;

CREATE OR REPLACE FUNCTION taskq.complete(task uuid, worker text, res jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  t taskq.tasks;
BEGIN
  UPDATE taskq.tasks x
     SET state = 'succeeded', progress = 100, result = res, error = NULL, finished_at = now(),
         lease_until = NULL, updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.worker_id = worker AND x.state = 'running'
  RETURNING * INTO t;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO taskq.task_events (task_id, event, attempt, worker_id)
  VALUES (task, 'succeeded', t.attempts, worker);
  PERFORM taskq.key_freed(t.concurrency_key);
  RETURN true;
END $$;

CREATE OR REPLACE FUNCTION taskq.fail(task uuid, worker text, err text, retryable boolean DEFAULT true)
RETURNS taskq.state
LANGUAGE plpgsql AS $$
DECLARE
  t taskq.tasks;
BEGIN
  UPDATE taskq.tasks x
     SET state = CASE WHEN retryable AND x.attempts < x.max_attempts AND NOT x.cancel_requested
                      THEN 'queued'::taskq.state ELSE 'failed'::taskq.state END,
         run_at = CASE WHEN retryable AND x.attempts < x.max_attempts
                       THEN now() + taskq.backoff(x.attempts) ELSE x.run_at END,
         finished_at = CASE WHEN retryable AND x.attempts < x.max_attempts AND NOT x.cancel_requested
                            THEN NULL ELSE now() END,
         error = err, lease_until = NULL, worker_id = NULL,
         updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.worker_id = worker AND x.state = 'running'
  RETURNING * INTO t;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  INSERT INTO taskq.task_events (task_id, event, attempt, worker_id, detail)
  VALUES (task, CASE WHEN t.state = 'queued' THEN 'retry' ELSE 'failed' END, t.attempts, worker, err);
  PERFORM taskq.key_freed(t.concurrency_key);
  RETURN t.state;
END $$;

CREATE OR REPLACE FUNCTION taskq.ack_cancel(task uuid, worker text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  t taskq.tasks;
BEGIN
  UPDATE taskq.tasks x
     SET state = 'cancelled', finished_at = now(), lease_until = NULL,
         message = coalesce(x.message, 'cancelled'), updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.worker_id = worker AND x.state = 'running'
  RETURNING * INTO t;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO taskq.task_events (task_id, event, attempt, worker_id)
  VALUES (task, 'cancelled', t.attempts, worker);
  PERFORM taskq.key_freed(t.concurrency_key);
  RETURN true;
END $$;

CREATE OR REPLACE FUNCTION taskq.release(task uuid, worker text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  t taskq.tasks;
BEGIN
  UPDATE taskq.tasks x
     SET state = 'queued', attempts = greatest(x.attempts - 1, 0), lease_until = NULL,
         worker_id = NULL, run_at = now(), message = 'released by a stopping worker',
         updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.worker_id = worker AND x.state = 'running'
  RETURNING * INTO t;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO taskq.task_events (task_id, event, attempt, worker_id)
  VALUES (task, 'released', t.attempts + 1, worker);
  PERFORM pg_notify('taskq_wake', '');
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
    RETURN;
  END IF;
  SELECT * INTO t FROM taskq.tasks x WHERE x.id = task;
  outcome := CASE WHEN FOUND THEN 'finished' ELSE 'not_found' END;
END $$;

CREATE OR REPLACE FUNCTION taskq.retry(task uuid, OUT outcome text, OUT t taskq.tasks)
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE taskq.tasks x
     SET state = 'queued', attempts = 0, run_at = now(), cancel_requested = false,
         progress = 0, message = NULL, error = NULL, result = NULL, started_at = NULL,
         finished_at = NULL, worker_id = NULL, lease_until = NULL,
         updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.state IN ('failed', 'cancelled')
  RETURNING * INTO t;
  IF FOUND THEN
    outcome := 'queued';
    INSERT INTO taskq.task_events (task_id, event, attempt) VALUES (task, 'retried', 0);
    PERFORM pg_notify('taskq_wake', '');
    RETURN;
  END IF;
  SELECT * INTO t FROM taskq.tasks x WHERE x.id = task;
  outcome := CASE WHEN FOUND THEN 'wrong_state' ELSE 'not_found' END;
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
    RETURNING t.id, t.state, t.attempts, t.error
  ), ev AS (
    INSERT INTO taskq.task_events (task_id, event, attempt, detail)
    SELECT m.id, 'rescued', m.attempts, m.error || ' (now ' || m.state::text || ')' FROM moved m
  )
  SELECT count(*) INTO n FROM moved;
  IF n > 0 THEN
    PERFORM pg_notify('taskq_wake', '');
  END IF;
  -- workers that stopped answering long ago leave the fleet table
  DELETE FROM taskq.workers WHERE last_seen < now() - interval '5 minutes';
  RETURN n;
END $$;

-- Heartbeat, now also the worker's fleet row: one statement renews the leases of the tasks it
-- still runs and upserts its row.
DROP FUNCTION taskq.heartbeat(text, integer, uuid[]);
CREATE FUNCTION taskq.heartbeat(worker text, lease_s integer, held uuid[], host text, pid integer,
                                version text, queues text, concurrency integer)
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
   WHERE t.id = ANY (held) AND t.worker_id = worker AND t.state = 'running'
  RETURNING t.id, t.cancel_requested;
END $$;

-- A worker leaving cleanly.
CREATE FUNCTION taskq.worker_exit(worker text) RETURNS void
LANGUAGE sql AS $$
  DELETE FROM taskq.workers WHERE id = worker
$$;

-- Retention: deletes up to `batch` finished tasks older than older_than, and their events.
-- Small batches keep locks short; the workers' maintenance calls it until it returns < batch.
CREATE FUNCTION taskq.prune(older_than interval DEFAULT '7 days', batch integer DEFAULT 1000)
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
  )
  SELECT count(*) INTO n FROM gone;
  RETURN n;
END $$;

-- Admin: delete every finished task older than older_than now, in batches.
CREATE FUNCTION taskq.purge(older_than interval) RETURNS bigint
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

-- ---- admin views ---------------------------------------------------------------------------

CREATE VIEW taskq.queue_stats AS
SELECT queue, state, count(*) AS count, now() - min(created_at) AS oldest_age
  FROM taskq.tasks
 GROUP BY queue, state
 ORDER BY queue, state;

CREATE VIEW taskq.running AS
SELECT id, kind, queue, worker_id, attempts, progress, message, started_at, lease_until,
       now() - started_at AS running_for
  FROM taskq.tasks
 WHERE state = 'running'
 ORDER BY started_at;

CREATE VIEW taskq.stuck AS
SELECT id, kind, queue, worker_id, attempts, started_at, lease_until,
       CASE WHEN lease_until < now() THEN 'lease expired'
            ELSE 'running past its timeout' END AS reason
  FROM taskq.tasks
 WHERE state = 'running'
   AND (lease_until < now()
        OR (timeout_s IS NOT NULL AND started_at < now() - make_interval(secs => timeout_s)));

CREATE VIEW taskq.recent_failures AS
SELECT id, kind, queue, attempts, error, finished_at
  FROM taskq.tasks
 WHERE state = 'failed' AND finished_at > now() - interval '24 hours'
 ORDER BY finished_at DESC;
