-- functions/callbacks.sql: completion webhooks (the columns: schema/003_kinds.sql). When a
-- task with a callback_url reaches a final state its callback becomes 'pending'; a worker
-- POSTs the task JSON there (signed) and marks it 'delivered', or retries with back-off and
-- finally marks it 'failed'. Must not change the task's own outcome.

-- Arms the callback of a task that just finished (trigger tasks_callback_arm, triggers.sql).
-- Only rows with a callback_url pay for this: the trigger's WHEN clause is checked before the
-- call.
CREATE OR REPLACE FUNCTION taskq.callback_arm() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.callback_state := 'pending';
  NEW.callback_next_at := now();
  NEW.callback_attempts := 0;
  NEW.callback_error := NULL;
  RETURN NEW;
END $$;

-- A worker takes up to k due callbacks, leasing each for lease_s seconds (a worker that dies
-- mid-delivery leaves it due again when the lease ends).
CREATE OR REPLACE FUNCTION taskq.claim_callbacks(k integer, lease_s integer)
RETURNS SETOF taskq.tasks
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
-- max_tries deliveries. A final one is a history row, after the events the task's row
-- implied until now (a plain success's, functions/history.sql).
CREATE OR REPLACE FUNCTION taskq.callback_done(task uuid, ok boolean, err text,
                                               max_tries integer DEFAULT 8)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  t taskq.tasks;
BEGIN
  UPDATE taskq.tasks x
     SET callback_state = CASE WHEN ok THEN 'delivered'
                               WHEN x.callback_attempts >= max_tries THEN 'failed'
                               ELSE 'pending' END,
         callback_next_at = CASE WHEN ok OR x.callback_attempts >= max_tries THEN NULL
                                 ELSE now() + taskq.backoff(x.callback_attempts) END,
         callback_error = CASE WHEN ok THEN NULL ELSE err END,
         updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.callback_state = 'pending'
  RETURNING * INTO t;
  IF t.callback_state <> 'pending' THEN
    PERFORM taskq.keep_implied(task, t.state, t.attempts, t.worker_id, t.started_at,
                               t.finished_at);
    INSERT INTO taskq.task_events (task_id, event, detail)
    VALUES (task, 'callback_' || t.callback_state, err);
  END IF;
  RETURN t.callback_state;
END $$;
