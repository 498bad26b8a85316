-- taskq schema, version 6: completions in batches. Executors of a worker that finish at the
-- same time share one statement and one commit: one change notification, one history INSERT
-- and one fsync for the whole batch instead of one of each per task.

-- Records the successes of the (id, attempt) pairs this worker holds; results is a JSON array
-- in the same order. Returns the ids it recorded (a pair the worker no longer holds is left
-- alone, like taskq.complete).
CREATE FUNCTION taskq.complete_many(worker text, ids uuid[], atts integer[], results jsonb)
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
    RETURNING t.id, t.attempts, t.concurrency_key
  ), ev AS (
    INSERT INTO taskq.task_events (task_id, event, attempt, worker_id)
    SELECT d.id, 'succeeded', d.attempts, worker FROM done d
  )
  SELECT array_agg(d.id), bool_or(d.concurrency_key IS NOT NULL) INTO done_ids, keyed FROM done d;
  IF keyed THEN
    PERFORM pg_notify('taskq_wake', '');  -- a key was freed: its next task may start
  END IF;
  RETURN QUERY SELECT unnest(coalesce(done_ids, '{}'));
END $$;
