-- taskq schema, version 14: the claim's inner statement as PL/pgSQL.
--
-- taskq.take (version 5) was a LANGUAGE sql function called from PL/pgSQL (taskq.claim): such
-- a call parses and plans the function's body again at every claim (SQL functions keep their
-- plan for one execution of the calling query only), which a profile of a drain showed among
-- PostgreSQL's top costs (raw_parser under fmgr_sql). PL/pgSQL keeps its plans for the
-- session. Same statement, same result.
CREATE OR REPLACE FUNCTION taskq.take(worker text, ids uuid[], lease_s integer)
RETURNS SETOF taskq.tasks
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY
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
  SELECT * FROM claimed;
END $$;
