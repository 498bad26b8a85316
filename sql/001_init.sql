-- taskq schema, version 1: the tasks table, its indexes, the registered kinds, and the SQL
-- functions that ARE the queue's semantics. Every client (taskq-fcgi, taskq-worker, the CLI,
-- an application's own SQL) goes through these definitions.
--
-- Applied by `taskq migrate` inside one transaction; the runner records the version in
-- taskq.schema_version and skips files already applied.

CREATE TYPE taskq.state AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');

-- UUIDv7: 48 bits of Unix milliseconds, then random bits, so ids are unguessable yet
-- time-ordered (the primary key stays append-mostly and keyset pages follow creation order).
CREATE FUNCTION taskq.uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(
           set_bit(set_bit(
             overlay(uuid_send(gen_random_uuid())
                     PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                     FROM 1 FOR 6),
             52, 1), 53, 1),
           'hex')::uuid
$$;

CREATE TABLE taskq.kinds (
  name          text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  builtin       boolean NOT NULL DEFAULT false,
  registered_at timestamptz NOT NULL DEFAULT now(),
  last_seen     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO taskq.kinds (name, builtin) VALUES ('sleep', true), ('noop', true);

CREATE TABLE taskq.tasks (
  id               uuid PRIMARY KEY DEFAULT taskq.uuid_v7(),
  -- names are checked by the API (and kinds by taskq.kinds); a regular expression CHECK here
  -- would cost a fifth of the insert rate
  kind             text NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
  queue            text NOT NULL DEFAULT 'default' CHECK (length(queue) BETWEEN 1 AND 64),
  payload          jsonb NOT NULL DEFAULT '{}',
  state            taskq.state NOT NULL DEFAULT 'queued',
  progress         smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  message          text,
  result           jsonb,
  error            text,
  priority         smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN -1000 AND 1000),
  attempts         integer NOT NULL DEFAULT 0,
  max_attempts     integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
  run_at           timestamptz NOT NULL DEFAULT now(),
  timeout_s        integer CHECK (timeout_s BETWEEN 1 AND 86400),
  lease_until      timestamptz,
  worker_id        text,
  cancel_requested boolean NOT NULL DEFAULT false,
  dedupe_key       text CHECK (length(dedupe_key) BETWEEN 1 AND 200),
  concurrency_key  text CHECK (length(concurrency_key) BETWEEN 1 AND 200),
  owner            text NOT NULL DEFAULT 'anonymous',
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  version          bigint NOT NULL DEFAULT 1
) WITH (fillfactor = 80);  -- room for HOT updates of progress and state

-- Claimable rows only: finished rows (millions of them) cost the claim nothing.
CREATE INDEX tasks_ready ON taskq.tasks (queue, priority DESC, run_at, id) WHERE state = 'queued';
-- Running rows, for the heartbeat (by worker), lease rescue and the admin's view of what runs.
-- lease_until is deliberately not indexed: progress writes and heartbeats then change no
-- indexed column and stay HOT updates.
CREATE INDEX tasks_running ON taskq.tasks (worker_id) WHERE state = 'running';
-- At most one unfinished task per owner and dedupe key.
CREATE UNIQUE INDEX tasks_dedupe ON taskq.tasks (owner, dedupe_key)
  WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running');
-- Listing by state and kind (newest first comes from the time-ordered id).
CREATE INDEX tasks_state_id ON taskq.tasks (state, id);

-- Retry back-off: 1 s doubled per attempt, capped at an hour, with ±25 % jitter.
CREATE FUNCTION taskq.backoff(attempt integer) RETURNS interval
LANGUAGE sql VOLATILE AS $$
  SELECT make_interval(secs => least(3600, power(2, greatest(attempt, 1) - 1))
                               * (0.75 + random() * 0.5))
$$;

-- Submit from SQL, inside the caller's own transaction. Returns the new task's id, or the id
-- of the unfinished task with the same owner and dedupe_key. Wakes workers with one NOTIFY,
-- which PostgreSQL folds to one per transaction however many tasks it submits.
CREATE FUNCTION taskq.submit(
  kind text,
  payload jsonb DEFAULT '{}',
  queue text DEFAULT 'default',
  priority integer DEFAULT 0,
  delay_s double precision DEFAULT 0,
  max_attempts integer DEFAULT 3,
  timeout_s integer DEFAULT NULL,
  dedupe_key text DEFAULT NULL,
  concurrency_key text DEFAULT NULL,
  owner text DEFAULT 'anonymous'
) RETURNS uuid
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  new_id uuid;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM taskq.kinds k WHERE k.name = submit.kind) THEN
    RAISE EXCEPTION 'unknown task kind %', submit.kind USING ERRCODE = '22023';
  END IF;
  LOOP
    INSERT INTO taskq.tasks AS t (kind, payload, queue, priority, run_at, max_attempts,
                                  timeout_s, dedupe_key, concurrency_key, owner)
    VALUES (submit.kind, coalesce(submit.payload, '{}'), coalesce(submit.queue, 'default'),
            coalesce(submit.priority, 0), now() + make_interval(secs => coalesce(submit.delay_s, 0)),
            coalesce(submit.max_attempts, 3), submit.timeout_s, submit.dedupe_key,
            submit.concurrency_key, coalesce(submit.owner, 'anonymous'))
    ON CONFLICT (owner, dedupe_key) WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running')
    DO NOTHING
    RETURNING t.id INTO new_id;
    IF new_id IS NOT NULL THEN
      PERFORM pg_notify('taskq_wake', '');
      RETURN new_id;
    END IF;
    SELECT t.id INTO new_id FROM taskq.tasks t
     WHERE t.owner = coalesce(submit.owner, 'anonymous') AND t.dedupe_key = submit.dedupe_key
       AND t.state IN ('queued', 'running');
    IF new_id IS NOT NULL THEN
      RETURN new_id;
    END IF;
    -- the duplicate finished between the two statements: insert again
  END LOOP;
END $$;

-- Claim up to k ready tasks of one queue for a worker, leased for lease_s seconds.
CREATE FUNCTION taskq.claim(worker text, queue_name text, k integer, lease_s integer)
RETURNS SETOF taskq.tasks
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY
  WITH ready AS MATERIALIZED (
    SELECT r.id FROM taskq.tasks r
     WHERE r.state = 'queued' AND r.queue = queue_name AND r.run_at <= now()
     ORDER BY r.priority DESC, r.run_at, r.id
     LIMIT k
     FOR UPDATE SKIP LOCKED
  )
  UPDATE taskq.tasks t
     SET state = 'running', attempts = t.attempts + 1, started_at = now(),
         lease_until = now() + make_interval(secs => lease_s), worker_id = worker,
         progress = 0, message = NULL, error = NULL, updated_at = now(), version = t.version + 1
    FROM ready
   WHERE t.id = ready.id
  RETURNING t.*;
END $$;

-- When the next delayed task of these queues becomes ready (NULL: none queued).
CREATE FUNCTION taskq.next_run_at(queues text[]) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT min(run_at) FROM taskq.tasks WHERE state = 'queued' AND queue = ANY (queues)
$$;

-- Progress from the worker holding the task; renews its lease. Returns cancel_requested, or
-- NULL when the worker no longer holds the task (it must stop and record nothing).
CREATE FUNCTION taskq.progress(task uuid, worker text, pct integer, msg text, lease_s integer)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  cancel boolean;
BEGIN
  UPDATE taskq.tasks t
     SET progress = greatest(0, least(100, pct)), message = msg,
         lease_until = now() + make_interval(secs => lease_s),
         updated_at = now(), version = t.version + 1
   WHERE t.id = task AND t.worker_id = worker AND t.state = 'running'
  RETURNING t.cancel_requested INTO cancel;
  RETURN cancel;
END $$;

-- The attempt succeeded. Fenced: only the worker holding the running task records it.
CREATE FUNCTION taskq.complete(task uuid, worker text, res jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE taskq.tasks t
     SET state = 'succeeded', progress = 100, result = res, error = NULL, finished_at = now(),
         lease_until = NULL, updated_at = now(), version = t.version + 1
   WHERE t.id = task AND t.worker_id = worker AND t.state = 'running';
  RETURN FOUND;
END $$;

-- The attempt failed. Retried after a back-off while attempts remain and the failure is
-- retryable, else failed for good. Returns the new state, NULL when the worker no longer
-- holds the task.
CREATE FUNCTION taskq.fail(task uuid, worker text, err text, retryable boolean DEFAULT true)
RETURNS taskq.state
LANGUAGE plpgsql AS $$
DECLARE
  st taskq.state;
BEGIN
  UPDATE taskq.tasks t
     SET state = CASE WHEN retryable AND t.attempts < t.max_attempts AND NOT t.cancel_requested
                      THEN 'queued'::taskq.state ELSE 'failed'::taskq.state END,
         run_at = CASE WHEN retryable AND t.attempts < t.max_attempts
                       THEN now() + taskq.backoff(t.attempts) ELSE t.run_at END,
         finished_at = CASE WHEN retryable AND t.attempts < t.max_attempts AND NOT t.cancel_requested
                            THEN NULL ELSE now() END,
         error = err, lease_until = NULL, worker_id = NULL,
         updated_at = now(), version = t.version + 1
   WHERE t.id = task AND t.worker_id = worker AND t.state = 'running'
  RETURNING t.state INTO st;
  RETURN st;
END $$;

-- The worker stopped a task whose cancellation was requested.
CREATE FUNCTION taskq.ack_cancel(task uuid, worker text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE taskq.tasks t
     SET state = 'cancelled', finished_at = now(), lease_until = NULL,
         message = coalesce(t.message, 'cancelled'), updated_at = now(), version = t.version + 1
   WHERE t.id = task AND t.worker_id = worker AND t.state = 'running';
  RETURN FOUND;
END $$;

-- A worker shutting down hands a running task back; the attempt does not count.
CREATE FUNCTION taskq.release(task uuid, worker text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE taskq.tasks t
     SET state = 'queued', attempts = greatest(t.attempts - 1, 0), lease_until = NULL,
         worker_id = NULL, run_at = now(), message = 'released by a stopping worker',
         updated_at = now(), version = t.version + 1
   WHERE t.id = task AND t.worker_id = worker AND t.state = 'running';
  RETURN FOUND;
END $$;

-- Cancel: queued → cancelled at once ('cancelled'); running → cancel_requested
-- ('requested'); finished → unchanged ('finished'). Returns the outcome and the task.
CREATE FUNCTION taskq.cancel(task uuid, OUT outcome text, OUT t taskq.tasks)
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
    RETURN;
  END IF;
  SELECT * INTO t FROM taskq.tasks x WHERE x.id = task;
  outcome := CASE WHEN FOUND THEN 'finished' ELSE 'not_found' END;
END $$;

-- Retry: failed or cancelled → queued now, with a fresh budget of attempts.
CREATE FUNCTION taskq.retry(task uuid, OUT outcome text, OUT t taskq.tasks)
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
    PERFORM pg_notify('taskq_wake', '');
    RETURN;
  END IF;
  SELECT * INTO t FROM taskq.tasks x WHERE x.id = task;
  outcome := CASE WHEN FOUND THEN 'wrong_state' ELSE 'not_found' END;
END $$;

-- Lease rescue: running tasks whose lease expired (their worker died or lost the database)
-- go back to queued, or to failed when no attempts remain. Returns how many it moved.
CREATE FUNCTION taskq.rescue(batch integer DEFAULT 100) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  WITH expired AS MATERIALIZED (
    SELECT id FROM taskq.tasks
     WHERE state = 'running' AND lease_until < now()
     LIMIT batch FOR UPDATE SKIP LOCKED
  )
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
   WHERE t.id = expired.id;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

-- Heartbeat: renews the leases of the tasks a worker still runs (held), in one statement, and
-- tells it which of them have a cancellation pending (so a task that writes no progress still
-- stops). A task the worker gave up on is not renewed: its lease expires and it is rescued.
CREATE FUNCTION taskq.heartbeat(worker text, lease_s integer, held uuid[])
RETURNS TABLE (id uuid, cancel_requested boolean)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY
  UPDATE taskq.tasks t
     SET lease_until = now() + make_interval(secs => lease_s)
   WHERE t.id = ANY (held) AND t.worker_id = worker AND t.state = 'running'
  RETURNING t.id, t.cancel_requested;
END $$;
