-- functions/position.sql: a queued task's place in line and its expected wait, for reads of
-- one task (GET /api/tasks/{id} and its long-polls, a stream's first message, taskq status
-- and watch): taskq.place_of,
-- and the queues' start rates it divides by (taskq.measure_rates, the workers' maintenance,
-- about once a second; the table: schema/027_fair_shares.sql). Must not claim, and must stay
-- cheap: a read of a task that is not ready pays one function call, a ready one a count over
-- the ready index bounded by its own place and by 1,000 (about a millisecond at most).
--
-- position: 1 is the next task to start in its line, the order the claim takes it in:
-- priority, then run_at, then id, among the ready tasks (not delayed, not blocked) of its
-- queue without a concurrency key, or of its key for a keyed task (a strict key's: in submit
-- order). Exact for the plain line of
-- a queue (FIFO or by priority, one owner or fair among owners: the fair place is run_at);
-- an approximation where the claim mixes lines (keyed tasks more urgent than the best plain
-- one go first; a key's tasks wait for its limit too), where a delayed task falls due ahead of
-- it, or where workers hold tasks claimed ahead. Past 1,000 it reads 1,001.
--
-- eta_s: seconds until it starts, its position over the queue's current start rate (the last
-- starts of the queue, as measure_rates saw them), rounded; NULL when no task of the queue
-- started lately (no rate to go by).

-- How many ready tasks of the line of a task (queue q, key ckey, priority p, run_at ra, id i)
-- are ahead of it, counted up to cap. Two bounded counts over tasks_ready (tasks_ready_keyed
-- for a key): the higher priorities, then its own priority before (run_at, id). PL/pgSQL so
-- that the plans are kept for the session; pinned to the ordered index scans.
CREATE OR REPLACE FUNCTION taskq.ahead_of(q text, ckey text, p smallint, ra timestamptz, i uuid,
                                          cap integer)
RETURNS integer
LANGUAGE plpgsql STABLE
SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off AS $$
DECLARE
  n integer;
BEGIN
  IF ckey IS NULL THEN
    n := (SELECT count(*) FROM (SELECT 1 FROM taskq.tasks r
                                 WHERE r.state = 'queued' AND r.queue = q
                                   AND r.concurrency_key IS NULL AND r.priority > p
                                   AND r.run_at <= now() LIMIT cap) x);
    RETURN n + (SELECT count(*) FROM (SELECT 1 FROM taskq.tasks r
                                       WHERE r.state = 'queued' AND r.queue = q
                                         AND r.concurrency_key IS NULL AND r.priority = p
                                         AND (r.run_at, r.id) < (ra, i) LIMIT cap - n) x);
  END IF;
  n := (SELECT count(*) FROM (SELECT 1 FROM taskq.tasks r
                               WHERE r.state = 'queued' AND r.queue = q
                                 AND r.concurrency_key = ckey AND r.priority > p
                                 AND r.run_at <= now() LIMIT cap) x);
  RETURN n + (SELECT count(*) FROM (SELECT 1 FROM taskq.tasks r
                                     WHERE r.state = 'queued' AND r.queue = q
                                       AND r.concurrency_key = ckey AND r.priority = p
                                       AND (r.run_at, r.id) < (ra, i) LIMIT cap - n) x);
END $$;

-- A task's position and eta_s (see the header); both NULL unless it is queued and ready.
CREATE OR REPLACE FUNCTION taskq.place_of(t taskq.tasks, OUT "position" integer,
                                          OUT eta_s integer)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  rate double precision;
BEGIN
  IF t.state <> 'queued' OR t.run_at > now() THEN
    RETURN;
  END IF;
  IF t.strict_seq IS NOT NULL THEN
    -- a strict key's tasks start in submit order
    "position" := 1 + (SELECT count(*) FROM (SELECT 1 FROM taskq.tasks r
                                              WHERE r.state = 'queued'
                                                AND r.concurrency_key = t.concurrency_key
                                                AND r.strict_seq < t.strict_seq LIMIT 1000) x);
  ELSE
    "position" := 1 + taskq.ahead_of(t.queue, t.concurrency_key, t.priority, t.run_at, t.id,
                                     1000);
  END IF;
  SELECT r.starts_per_s INTO rate FROM taskq.queue_rates r WHERE r.queue = t.queue;
  IF rate > 0 THEN
    eta_s := round("position" / rate);
  END IF;
END $$;

-- The workers' measure of each queue's start rate (taskq.queue_rates): from the last 1,000
-- tasks finished in the past minute (tasks_finished, newest first), each queue's own over the
-- time since its earliest among them: at a steady state, what finishes is what starts. Queues with
-- none lately are dropped (no rate: eta_s NULL). One worker at a time (the others skip it).
-- Returns how many queues it measured.
CREATE OR REPLACE FUNCTION taskq.measure_rates() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(1952539767, 0) THEN
    RETURN 0;
  END IF;
  WITH recent AS MATERIALIZED (
    SELECT f.queue, f.finished_at FROM taskq.tasks f
     WHERE f.state IN ('succeeded', 'failed', 'cancelled')
       AND f.finished_at > now() - interval '1 minute' AND f.started_at IS NOT NULL
     ORDER BY f.finished_at DESC LIMIT 1000
  ), rates AS (
    SELECT r.queue, count(*) / greatest(extract(epoch FROM now() - min(r.finished_at)), 1)
             AS per_s
      FROM recent r GROUP BY r.queue
  ), gone AS (
    DELETE FROM taskq.queue_rates q WHERE q.queue NOT IN (SELECT r.queue FROM rates r)
  ), kept AS (
    INSERT INTO taskq.queue_rates AS q (queue, starts_per_s, measured_at)
    SELECT r.queue, r.per_s, now() FROM rates r
    ON CONFLICT (queue) DO UPDATE SET starts_per_s = excluded.starts_per_s,
                                      measured_at = excluded.measured_at
    RETURNING 1
  )
  SELECT count(*) INTO n FROM kept;
  RETURN n;
END $$;
