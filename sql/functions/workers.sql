-- functions/workers.sql: the fleet: each worker daemon's heartbeat (its row in taskq.workers,
-- its leases, its counters) and its clean exit. Must not move tasks between states: lease
-- rescue is in maintenance.sql.

-- Renews, in one statement, the leases of the (task, attempt) pairs a worker's executors still
-- run (held, held_attempts), upserts its fleet row with its counters (metrics: a JSON object,
-- see lib/model/wstats.c), and tells it which of its tasks have a cancellation pending (so a task
-- that writes no progress still stops). A task the worker gave up on is not renewed: its
-- lease expires and it is rescued. A running task whose row another transaction holds (one
-- naming it as a parent) is skipped this time instead of stalling every other lease of the
-- worker; the next heartbeat renews it.
CREATE OR REPLACE FUNCTION taskq.heartbeat(worker text, lease_s integer, held uuid[],
                                           held_attempts integer[], host text, pid integer,
                                           version text, queues text, concurrency integer,
                                           metrics jsonb)
RETURNS TABLE (id uuid, cancel_requested boolean)
-- the held tasks are found by id (r.id = ANY (held)), never by a walk of the worker's running
-- entries: those keep one for every task the worker ever ran while an old snapshot is open
LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $$
BEGIN
  INSERT INTO taskq.workers AS w (id, host, pid, version, queues, concurrency, running, metrics)
  VALUES (worker, host, pid, version, queues, concurrency, coalesce(cardinality(held), 0), metrics)
  ON CONFLICT ON CONSTRAINT workers_pkey
  DO UPDATE SET running = excluded.running, metrics = excluded.metrics, last_seen = now();
  RETURN QUERY
  UPDATE taskq.tasks t
     SET lease_until = now() + make_interval(secs => lease_s)
    FROM (SELECT r.id FROM taskq.tasks r
            JOIN unnest(held, held_attempts) AS h(hid, hatt) ON r.id = h.hid AND r.attempts = h.hatt
           WHERE r.id = ANY (held) AND r.worker_id = worker AND r.state = 'running'
           FOR NO KEY UPDATE OF r SKIP LOCKED) AS mine
   WHERE t.id = mine.id
  RETURNING t.id, t.cancel_requested;
END $$;

-- A worker leaving cleanly: it leaves the fleet at once rather than after 5 minutes of silence.
CREATE OR REPLACE FUNCTION taskq.worker_exit(worker text) RETURNS void
LANGUAGE sql AS $$
  DELETE FROM taskq.workers WHERE id = worker
$$;

-- The queues the live workers serve (a heartbeat in the last minute, the liveness /metrics'
-- taskq_workers and /healthz count), each with how many serve it: the names of each worker's
-- --queues list ("name[=limit],..."). A queue missing here has tasks that wait for ever until
-- a worker for it starts: /api/queues, the task JSON and /metrics say so.
CREATE OR REPLACE VIEW taskq.served_queues AS
SELECT split_part(q.spec, '=', 1) AS queue, count(DISTINCT w.id) AS workers
  FROM taskq.workers w, unnest(string_to_array(w.queues, ',')) AS q(spec)
 WHERE w.last_seen > now() - interval '1 minute'
 GROUP BY 1;
