-- functions/flow.sql: flow control: pausing and resuming a queue, holding and releasing one
-- task, and the sweep of tasks that were not started by their deadline (start_by_s). The
-- claim's side of these (a paused queue gives nothing, a held task is not queued, an expired
-- task is refused) lives in claim.sql. Debounce and supersede happen in the submit's
-- statement (taskq.insert_tasks, submit.sql, calls taskq.debounce and taskq.supersede here).
-- Must not start tasks, nor finish them otherwise than by cancelling.

-- The advisory lock (first key; the second is hashtext(queue)) that orders a pause after the
-- claims of its queue already under way: every claim takes it in share mode for its
-- transaction before it reads taskq.queue_pauses, a pause in exclusive mode after its insert.
CREATE OR REPLACE FUNCTION taskq.pause_lock_key() RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT 1952539762 $$;

-- Pauses a queue: once this returns (and its transaction commits), no claim starts a task of
-- it (running ones finish). The pause waits for the claims of the queue that are under way
-- (they hold the lock in share mode; their tasks started before the pause), and claims that
-- come later wait for its commit, then see the row. Returns false when it was paused already.
CREATE OR REPLACE FUNCTION taskq.pause_queue(name text, by text DEFAULT NULL) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  fresh boolean;
BEGIN
  IF name IS NULL OR name !~ '^[A-Za-z0-9_.:-]{1,64}$' THEN
    RAISE EXCEPTION 'queue must be 1-64 characters of letters, digits, ''_'', ''.'', '':'' or ''-'''
      USING ERRCODE = '22023';
  END IF;
  INSERT INTO taskq.queue_pauses (queue, paused_by) VALUES (name, by)
  ON CONFLICT (queue) DO NOTHING;
  fresh := FOUND;
  PERFORM pg_advisory_xact_lock(taskq.pause_lock_key(), hashtext(name));
  RETURN fresh;
END $$;

-- Resumes a paused queue and wakes the workers (as a submit does), so that claims start again
-- within the pickup latency. Returns false when it was not paused.
CREATE OR REPLACE FUNCTION taskq.resume_queue(name text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM taskq.queue_pauses p WHERE p.queue = name;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  PERFORM pg_notify('taskq_wake', '');
  RETURN true;
END $$;

-- Holds a queued task: state 'held', out of every claim's reach until taskq.release_hold.
-- outcome: 'held', 'wrong_state' (not queued; t is the task) or 'not_found'.
CREATE OR REPLACE FUNCTION taskq.hold(task uuid, OUT outcome text, OUT t taskq.tasks)
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE taskq.tasks x
     SET state = 'held', updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.state = 'queued'
  RETURNING * INTO t;
  IF FOUND THEN
    outcome := 'held';
    INSERT INTO taskq.task_events (task_id, event, attempt) VALUES (task, 'held', t.attempts);
    RETURN;
  END IF;
  SELECT * INTO t FROM taskq.tasks x WHERE x.id = task;
  outcome := CASE WHEN FOUND THEN 'wrong_state' ELSE 'not_found' END;
END $$;

-- Releases a held task: queued again, in its old place in line (its run_at is kept; one whose
-- parents all finished while it was held is ready now), and the workers are woken. A held
-- task does not hold its dedupe key: when a live task took the key meanwhile, the release is
-- refused ('key_taken'). outcome: 'queued', 'wrong_state' (not held), 'key_taken' or
-- 'not_found'.
CREATE OR REPLACE FUNCTION taskq.release_hold(task uuid, OUT outcome text, OUT t taskq.tasks)
LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    UPDATE taskq.tasks x
       SET state = 'queued',
           run_at = CASE WHEN x.pending_parents = 0 AND x.run_at = 'infinity' THEN now()
                         ELSE x.run_at END,
           updated_at = now(), version = x.version + 1
     WHERE x.id = task AND x.state = 'held'
    RETURNING * INTO t;
  EXCEPTION WHEN unique_violation THEN
    SELECT * INTO t FROM taskq.tasks x WHERE x.id = task;
    outcome := 'key_taken';
    RETURN;
  END;
  IF NOT FOUND THEN
    SELECT * INTO t FROM taskq.tasks x WHERE x.id = task;
    outcome := CASE WHEN FOUND THEN 'wrong_state' ELSE 'not_found' END;
    RETURN;
  END IF;
  outcome := 'queued';
  INSERT INTO taskq.task_events (task_id, event, attempt)
  VALUES (task, 'hold_released', t.attempts);
  PERFORM pg_notify('taskq_wake', '');
END $$;

-- When a queued task with start_by_s expires: start_by_s seconds after it became runnable
-- (greatest(created_at, run_at), as functions/waits.sql counts it). The claim refuses a task
-- past it, and taskq.expire cancels it.
CREATE OR REPLACE FUNCTION taskq.start_deadline(created_at timestamptz, run_at timestamptz,
                                                start_by_s integer)
RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT greatest(created_at, run_at) + make_interval(secs => start_by_s)
$$;

-- The maintenance's sweep: up to batch queued tasks past their start deadline end cancelled,
-- with an error that says they expired. Returns how many.
CREATE OR REPLACE FUNCTION taskq.expire(batch integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  -- the tasks it cancels are announced by the change trigger, whoever calls it (as rescue)
  PERFORM set_config('taskq.announce', 'now', true);
  WITH due AS MATERIALIZED (
    SELECT t.id FROM taskq.tasks t
     WHERE t.state = 'queued' AND t.start_by_s IS NOT NULL
       AND taskq.start_deadline(t.created_at, t.run_at, t.start_by_s) < now()
     ORDER BY t.run_at
     LIMIT batch FOR UPDATE SKIP LOCKED
  ), moved AS (
    UPDATE taskq.tasks t
       SET state = 'cancelled', finished_at = now(),
           error = format('expired: not started within start_by_s = %s seconds of becoming'
                          ' runnable', t.start_by_s),
           updated_at = now(), version = t.version + 1
      FROM due
     WHERE t.id = due.id AND t.state = 'queued'
    RETURNING t.id, t.queue, t.attempts, t.error
  ), ev AS (
    INSERT INTO taskq.task_events (task_id, event, attempt, detail)
    SELECT m.id, 'cancelled', m.attempts, m.error FROM moved m
  ), counted AS (
    INSERT INTO taskq.counters AS c (queue, state, shard, n)
    SELECT m.queue, 'cancelled', (pg_backend_pid() % 16)::smallint, count(*) FROM moved m
     GROUP BY m.queue
    ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n
  )
  SELECT count(*) INTO n FROM moved;
  RETURN n;
END $$;

-- ---- at submit ---------------------------------------------------------------------------

-- True when j is a JSON integer between lo and hi.
CREATE OR REPLACE FUNCTION taskq.json_int_in(j jsonb, lo bigint, hi bigint) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_typeof(j) = 'number' AND (j #>> '{}')::numeric = trunc((j #>> '{}')::numeric)
     AND (j #>> '{}')::numeric BETWEEN lo AND hi
$$;

-- What is wrong with a submit element's flow-control fields (debounce_ms, max_delay_ms,
-- on_conflict, start_by_s), in words, or NULL when nothing is. taskq-fcgi and the CLI check
-- the same rules first (lib/model/taskjson.c), so their callers see the same text.
CREATE OR REPLACE FUNCTION taskq.flow_refusal(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN v ? 'debounce_ms' AND NOT taskq.json_int_in(v->'debounce_ms', 1, 86400000)
      THEN 'debounce_ms must be an integer between 1 and 86400000'
    WHEN v ? 'max_delay_ms' AND NOT taskq.json_int_in(v->'max_delay_ms', 1, 2147483647)
      THEN 'max_delay_ms must be an integer between 1 and 2147483647'
    WHEN v ? 'start_by_s' AND NOT taskq.json_int_in(v->'start_by_s', 1, 31536000)
      THEN 'start_by_s must be an integer between 1 and 31536000'
    WHEN v ? 'on_conflict' AND (jsonb_typeof(v->'on_conflict') IS DISTINCT FROM 'string'
                                OR v->>'on_conflict' NOT IN ('keep', 'supersede'))
      THEN 'on_conflict must be "keep" or "supersede"'
    WHEN v ? 'debounce_ms' AND v->>'dedupe_key' IS NULL
      THEN 'debounce_ms needs a dedupe_key (the key of the task it debounces)'
    WHEN v->>'on_conflict' = 'supersede' AND v->>'dedupe_key' IS NULL
      THEN 'on_conflict "supersede" needs a dedupe_key (the key of the task it supersedes)'
    WHEN v ? 'max_delay_ms' AND NOT v ? 'debounce_ms'
      THEN 'max_delay_ms needs debounce_ms'
    WHEN (v->>'max_delay_ms')::numeric < (v->>'debounce_ms')::numeric
      THEN 'max_delay_ms must not be less than debounce_ms'
    WHEN v ? 'debounce_ms' AND coalesce((v->>'delay_s')::numeric, 0) > 0
      THEN 'debounce_ms sets the delay: leave delay_s out'
    WHEN v ? 'debounce_ms' AND v->>'on_conflict' = 'supersede'
      THEN 'debounce_ms and on_conflict "supersede" do not go together'
  END
$$;

-- Supersede: the live holder of a dedupe key that a new submit with on_conflict "supersede"
-- takes over. Cancelled as taskq.cancel does (a queued one at once, a running one by its
-- worker); a running one gives up its dedupe key at once (the new task takes it), and its
-- error says it was superseded.
CREATE OR REPLACE FUNCTION taskq.supersede(task uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM taskq.cancel(task);
  UPDATE taskq.tasks x
     SET dedupe_key = NULL, error = 'superseded by a newer task with the same dedupe_key'
   WHERE x.id = task;
END $$;

-- Trailing debounce: a submit element (el, with debounce_ms) met the queued task holder of its
-- dedupe key: the holder starts debounce_ms from now instead (never past its debounce_limit,
-- its first submit plus max_delay_ms) with the element's payload. A holder that started
-- meanwhile is left alone (the submit is answered with it, as a plain dedupe hit is).
CREATE OR REPLACE FUNCTION taskq.debounce(holder uuid, el jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE taskq.tasks x
     SET payload = coalesce(el->'payload', '{}'),
         run_at = least(now() + make_interval(secs => (el->>'debounce_ms')::float8 / 1000),
                        coalesce(x.debounce_limit, 'infinity')),
         updated_at = now(), version = x.version + 1
   WHERE x.id = holder AND x.state = 'queued';
END $$;
