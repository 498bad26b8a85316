-- taskq schema, version 3: what the http and command kinds and completion webhooks need.

-- A failed attempt may name the earliest retry (an upstream's Retry-After); the exponential
-- back-off still applies when it is longer.
DROP FUNCTION taskq.fail(uuid, text, text, boolean);
CREATE FUNCTION taskq.fail(task uuid, worker text, err text, retryable boolean DEFAULT true,
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

-- Completion webhooks: a task may carry callback_url; when it reaches a final state its
-- callback becomes 'pending', a worker POSTs the task JSON there (signed) and marks it
-- 'delivered', or retries with back-off and finally marks it 'failed'. The callback never
-- changes the task's own outcome.
ALTER TABLE taskq.tasks
  ADD COLUMN callback_url text CHECK (length(callback_url) BETWEEN 1 AND 2048),
  ADD COLUMN callback_state text CHECK (callback_state IN ('pending', 'delivered', 'failed')),
  ADD COLUMN callback_attempts integer NOT NULL DEFAULT 0,
  ADD COLUMN callback_next_at timestamptz,
  ADD COLUMN callback_error text;

CREATE INDEX tasks_callbacks_due ON taskq.tasks (callback_next_at) WHERE callback_state = 'pending';

-- Only rows with a callback_url pay for this: the WHEN clause is checked before the call.
CREATE FUNCTION taskq.callback_arm() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.callback_state := 'pending';
  NEW.callback_next_at := now();
  NEW.callback_attempts := 0;
  NEW.callback_error := NULL;
  RETURN NEW;
END $$;

CREATE TRIGGER tasks_callback_arm
  BEFORE UPDATE OF state ON taskq.tasks
  FOR EACH ROW
  WHEN (NEW.callback_url IS NOT NULL AND NEW.state IN ('succeeded', 'failed', 'cancelled')
        AND OLD.state IS DISTINCT FROM NEW.state)
  EXECUTE FUNCTION taskq.callback_arm();

-- A worker takes up to k due callbacks, leasing each for lease_s seconds.
CREATE FUNCTION taskq.claim_callbacks(k integer, lease_s integer) RETURNS SETOF taskq.tasks
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY
  WITH due AS MATERIALIZED (
    SELECT id FROM taskq.tasks
     WHERE callback_state = 'pending' AND callback_next_at <= now()
     ORDER BY callback_next_at LIMIT k FOR UPDATE SKIP LOCKED
  )
  UPDATE taskq.tasks t
     SET callback_next_at = now() + make_interval(secs => lease_s),
         callback_attempts = t.callback_attempts + 1
    FROM due WHERE t.id = due.id
  RETURNING t.*;
END $$;

-- The outcome of one delivery: delivered, or retried after a back-off, or failed after
-- max_tries deliveries.
CREATE FUNCTION taskq.callback_done(task uuid, ok boolean, err text, max_tries integer DEFAULT 8)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  st text;
BEGIN
  UPDATE taskq.tasks t
     SET callback_state = CASE WHEN ok THEN 'delivered'
                               WHEN t.callback_attempts >= max_tries THEN 'failed'
                               ELSE 'pending' END,
         callback_next_at = CASE WHEN ok OR t.callback_attempts >= max_tries THEN NULL
                                 ELSE now() + taskq.backoff(t.callback_attempts) END,
         callback_error = CASE WHEN ok THEN NULL ELSE err END,
         updated_at = now(), version = t.version + 1
   WHERE t.id = task AND t.callback_state = 'pending'
  RETURNING t.callback_state INTO st;
  INSERT INTO taskq.task_events (task_id, event, detail)
  SELECT task, 'callback_' || st, err WHERE st IS NOT NULL AND st <> 'pending';
  RETURN st;
END $$;
