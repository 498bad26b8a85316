-- functions/cancel.sql: cancelling a task (asked by a client, acknowledged by the worker that
-- stops it) and retrying a failed or cancelled one. Must not record a worker's other
-- outcomes: complete.sql does.

-- Cancel: queued, held or waiting → cancelled at once ('cancelled'); running → cancel_requested
-- ('requested'): only its worker can stop it, and says so with taskq.ack_cancel; finished →
-- unchanged ('finished'). Returns the outcome and the task. A running task's claim, implied
-- by its row until now, is stored before the cancel_requested (functions/history.sql).
CREATE OR REPLACE FUNCTION taskq.cancel(task uuid, OUT outcome text, OUT t taskq.tasks)
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE taskq.tasks x
     SET state = CASE WHEN x.state IN ('queued', 'held', 'waiting') THEN 'cancelled'::taskq.state
                      ELSE x.state END,
         finished_at = CASE WHEN x.state IN ('queued', 'held', 'waiting') THEN now()
                            ELSE x.finished_at END,
         waiting_for = NULL, wait_until = NULL,
         cancel_requested = true, updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.state IN ('queued', 'running', 'held', 'waiting')
  RETURNING * INTO t;
  IF FOUND THEN
    outcome := CASE WHEN t.state = 'cancelled' THEN 'cancelled' ELSE 'requested' END;
    IF t.state = 'running' THEN
      PERFORM taskq.keep_implied(task, 'running', t.attempts, t.worker_id, t.started_at);
    END IF;
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

-- The worker stopped a task whose cancellation was requested.
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
  RETURN taskq.attempt_ended(t, worker, 'cancelled', t.attempts);
END $$;

-- Retry: failed or cancelled → queued now, with a fresh budget of attempts. A child whose
-- parents are not all finished waits for them again (its edges were kept).
CREATE OR REPLACE FUNCTION taskq.retry(task uuid, OUT outcome text, OUT t taskq.tasks)
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE taskq.tasks x
     SET state = 'queued', attempts = 0,
         run_at = CASE WHEN x.pending_parents > 0 THEN 'infinity' ELSE now() END,
         cancel_requested = false, progress = 0,
         message = CASE WHEN x.pending_parents > 0
                        THEN taskq.waiting_message(x.pending_parents, x.parents) END,
         error = NULL, result = NULL, started_at = NULL,
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
