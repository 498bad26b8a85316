-- functions/claim.sql: how workers take ready tasks (taskq.claim, taskq.take) and when they
-- should look again (taskq.next_run_at). Rate limits' bookkeeping: limits.sql. Must not
-- record outcomes: complete.sql does.

-- Takes the queued tasks among ids (already locked by the caller's SELECT … FOR UPDATE SKIP
-- LOCKED, in the same transaction) for a worker. No history row: the row says who claimed it
-- and when, and the attempt's `claimed` is stored only if the attempt ends otherwise than in
-- a plain success (functions/history.sql). PL/pgSQL, not SQL: an SQL function called from
-- PL/pgSQL is parsed and planned again at every call (its plan lives for one execution of
-- the calling query), which a profile of a drain showed among PostgreSQL's top costs
-- (raw_parser under fmgr_sql); PL/pgSQL keeps its plans for the session.
CREATE OR REPLACE FUNCTION taskq.take(worker text, ids uuid[], lease_s integer)
RETURNS SETOF taskq.tasks
LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $$
DECLARE
  -- one instant for the tasks it takes, read now (after the claim's rate-limit lock, not at
  -- its transaction's start), so that a rate limit's record of these starts (taskq.rate_record,
  -- later in the claim) is never earlier than their started_at
  at timestamptz := clock_timestamp();
BEGIN
  RETURN QUERY
  UPDATE taskq.tasks t
     SET state = 'running', attempts = t.attempts + 1, started_at = at,
         lease_until = now() + make_interval(secs => lease_s), worker_id = worker,
         progress = 0, message = NULL, error = NULL, updated_at = now(),
         version = t.version + 1
   WHERE t.id = ANY (ids) AND t.state = 'queued'
     -- never late: a task past its start deadline (flow.sql) is left to taskq.expire
     AND (t.start_by_s IS NULL
          OR taskq.start_deadline(t.created_at, t.run_at, t.start_by_s) > at)
  RETURNING t.*;
END $$;

-- Strict order per key (tasks submitted with "ordering": "strict", schema/027_fair_shares.sql):
-- the ids of the first tasks of key ckey in queue q by their strict_seq (submit order), up to
-- n of them, as far as they are ready (run_at due, priority at least floor_prio): a task that
-- waits for its retry's back-off holds the ones after it. NULL while the key has a failed
-- strict task (it blocks its key until it is retried or cancelled). Locked without SKIP
-- LOCKED: claims of one key already take turns (the claim's advisory lock), and skipping a
-- row another transaction holds for a moment would start the next one first. A key whose
-- strict tasks are all taken has none: an empty array.
CREATE OR REPLACE FUNCTION taskq.strict_head(q text, ckey text, n integer, floor_prio integer)
RETURNS uuid[]
LANGUAGE plpgsql
SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off AS $$
DECLARE
  r record;
  ids uuid[] := '{}';
BEGIN
  IF EXISTS (SELECT 1 FROM taskq.tasks f
              WHERE f.state = 'failed' AND f.concurrency_key = ckey AND f.strict_seq IS NOT NULL) THEN
    RETURN NULL;
  END IF;
  FOR r IN SELECT t.id, t.run_at <= now() AND t.priority >= floor_prio AS ready
             FROM taskq.tasks t
            WHERE t.state = 'queued' AND t.concurrency_key = ckey AND t.strict_seq IS NOT NULL
              AND t.queue = q
            ORDER BY t.strict_seq LIMIT n FOR UPDATE OF t
  LOOP
    EXIT WHEN NOT r.ready;
    ids := ids || r.id;
  END LOOP;
  RETURN ids;
END $$;

-- Claims up to k ready tasks of one queue for a worker, leased for lease_s seconds, in
-- priority order across keyed and plain tasks: keyed tasks more urgent than the best ready
-- plain task first, then plain tasks, then keyed tasks of any priority for what is left.
-- Each key is counted under a transaction-scoped advisory lock, so that two claimers never
-- count the same key at once (the count runs in its own statement, after the lock, so it sees
-- every committed claim). Keys come from a loose index scan (one probe per distinct key), so
-- a backlog of thousands of tasks waiting for one key costs a claim nothing. The queue's rate
-- limit caps the whole claim, a key's limit caps what that key gives. A key with strict tasks
-- gives them in submit order only (taskq.strict_head).
--
-- Its plans are made once per session (force_generic_plan, as every statement of
-- taskq-worker) and may only walk indexes in order (sequential scans, bitmap scans and sorts
-- off): planned again at every call, as it was (plan_cache_mode = auto), each claim paid the
-- planner's look at the ends of tasks_ready (get_actual_variable_range, which walks the dead
-- entries there: 10 ms a claim beside 65,000 dead rows), and a generic plan free to choose
-- knows neither the queue nor the batch size (beside 10M finished rows it chose a bitmap scan
-- of every queued row and a sort). The walk of tasks_ready in order that stops after k rows
-- is the one plan left.
--
-- A paused queue (taskq.queue_pauses, functions/flow.sql) gives nothing: the claim holds the
-- queue's pause lock in share mode for its transaction and then reads the table (a statement
-- of its own, so it sees a pause that committed while it waited), so a pause that returned
-- was after every claim that could still start a task of the queue. Tasks past their start
-- deadline (start_by_s) are skipped and refused by taskq.take.
CREATE OR REPLACE FUNCTION taskq.claim(worker text, queue_name text, k integer, lease_s integer)
RETURNS SETOF taskq.tasks
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off
  SET enable_bitmapscan = off SET enable_sort = off AS $$
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
  q_allowed integer;
  k_allowed integer;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(taskq.pause_lock_key(), hashtext(queue_name));
  IF EXISTS (SELECT 1 FROM taskq.queue_pauses p WHERE p.queue = queue_name) THEN
    RETURN;
  END IF;
  q_allowed := taskq.rate_allow('queue', queue_name);
  IF q_allowed IS NOT NULL THEN
    IF q_allowed < k THEN
      PERFORM taskq.rate_note(queue_name, NULL);
    END IF;
    k := least(k, q_allowed);
  END IF;

  SELECT r.priority INTO plain_best FROM taskq.tasks r
   WHERE r.state = 'queued' AND r.queue = queue_name AND r.run_at <= now()
     AND (r.start_by_s IS NULL
          OR taskq.start_deadline(r.created_at, r.run_at, r.start_by_s) > now())
     AND r.concurrency_key IS NULL
   ORDER BY r.priority DESC, r.run_at, r.id LIMIT 1;

  FOR pass IN 1..3 LOOP
    EXIT WHEN got >= k;
    IF pass = 2 THEN
      SELECT array_agg(r.id) INTO ids FROM (
        SELECT r.id FROM taskq.tasks r
         WHERE r.state = 'queued' AND r.queue = queue_name AND r.run_at <= now()
           AND (r.start_by_s IS NULL
          OR taskq.start_deadline(r.created_at, r.run_at, r.start_by_s) > now())
           AND r.concurrency_key IS NULL
         ORDER BY r.priority DESC, r.run_at, r.id
         LIMIT k - got
         FOR UPDATE SKIP LOCKED) r;
      RETURN QUERY SELECT * FROM taskq.take(worker, ids, lease_s);
      GET DIAGNOSTICS n = ROW_COUNT;
      got := got + n;
      CONTINUE;
    END IF;
    CONTINUE WHEN pass = 3 AND plain_best IS NULL;
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
      k_allowed := taskq.rate_allow('key', ckey);
      IF k_allowed IS NOT NULL AND k_allowed < room THEN
        PERFORM taskq.rate_note(queue_name, ckey);
        room := k_allowed;
      END IF;
      CONTINUE WHEN room <= 0;
      IF EXISTS (SELECT 1 FROM taskq.tasks r
                  WHERE r.state = 'queued' AND r.concurrency_key = ckey
                    AND r.strict_seq IS NOT NULL) THEN
        -- a strict key: in submit order, and nothing after a failure
        ids := taskq.strict_head(queue_name, ckey, room, floor_prio);
      ELSE
        SELECT array_agg(r.id) INTO ids FROM (
          SELECT r.id FROM taskq.tasks r
           WHERE r.state = 'queued' AND r.queue = queue_name AND r.run_at <= now()
             AND (r.start_by_s IS NULL
                  OR taskq.start_deadline(r.created_at, r.run_at, r.start_by_s) > now())
             AND r.concurrency_key = ckey AND r.priority >= floor_prio
           ORDER BY r.priority DESC, r.run_at, r.id
           LIMIT room
           FOR UPDATE SKIP LOCKED) r;
      END IF;
      RETURN QUERY SELECT * FROM taskq.take(worker, ids, lease_s);
      GET DIAGNOSTICS n = ROW_COUNT;
      got := got + n;
      IF k_allowed IS NOT NULL THEN
        PERFORM taskq.rate_record('key', ckey, n);
      END IF;
    END LOOP;
  END LOOP;
  IF q_allowed IS NOT NULL THEN
    PERFORM taskq.rate_record('queue', queue_name, got);
  END IF;
END $$;

-- When the worker should claim again: the earliest delayed task still to come, or the moment
-- a full window of a limit frees a start (so a held-back queue is claimed the instant its
-- limit allows, not at the next poll). Ready tasks that a claim left (a busy concurrency
-- key) do not count: a finishing task or the poll brings the claimer back for them; nor do
-- blocked ones (run_at 'infinity'): their last parent's completion wakes them. One probe of
-- tasks_delayed per queue (the earliest entry after now), however long the queue's backlog.
CREATE OR REPLACE FUNCTION taskq.next_run_at(queues text[]) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT least(
    (SELECT min(d.run_at)
       FROM unnest(queues) AS q(name),
            LATERAL (SELECT t.run_at FROM taskq.tasks t
                      WHERE t.state = 'queued' AND t.run_at > t.created_at
                        AND t.queue = q.name AND t.run_at > now() AND t.run_at < 'infinity'
                      ORDER BY t.run_at LIMIT 1) d),
    (SELECT min(l.starts[1] + l.per) FROM taskq.rate_limits l
      WHERE array_length(l.starts, 1) >= l.max_starts
        AND ((l.scope = 'queue' AND l.name = ANY (queues)) OR l.scope = 'key')
        AND l.starts[1] + l.per > now()))
$$;
