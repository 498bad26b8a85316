-- functions/signals.sql: tasks that wait for a signal (the columns and the table:
-- schema/028_waits.sql): a worker's wait and checkpoint, the signals people and programs send,
-- one-time signal links, and the sweep of waits past their deadline. Must not claim, nor
-- record a worker's other outcomes (complete.sql does).
--
-- A waiting task holds no worker and no lease; it is never claimed (claims take state
-- 'queued' only). Every signal a task receives is kept in its signals (name → payload, a
-- later one of the same name replaces the payload; NULL until the first), so a signal that came before the wait
-- satisfies it at once. A wait made by a running attempt does not count as an attempt: the
-- run that follows the signal does not exhaust max_attempts because of waits.

-- Signal names: 1 to 64 of a-z 0-9 _ . - (taskq-fcgi checks the same, lib/model/signal.c).
CREATE OR REPLACE FUNCTION taskq.signal_name_ok(name text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT name ~ '^[a-z0-9_.-]{1,64}$'
$$;

-- The waiting_for of a task: {"signal","until","on_timeout"}, until in RFC 3339 UTC or null.
CREATE OR REPLACE FUNCTION taskq.waiting_for(signal text, until timestamptz, on_timeout text)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
           'signal', signal,
           'until', to_char(until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'on_timeout', coalesce(on_timeout, 'fail'))
$$;

-- Checks a submit's wait_for ({"signal", "timeout_s"?, "on_timeout"?: "fail"|"run"}); raises
-- 22023 naming the element (label, i: see taskq.label_of) when it is not one.
CREATE OR REPLACE FUNCTION taskq.check_wait_for(w jsonb, label text, i integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF jsonb_typeof(w) IS DISTINCT FROM 'object'
     OR EXISTS (SELECT 1 FROM jsonb_object_keys(w) k
                 WHERE k NOT IN ('signal', 'timeout_s', 'on_timeout')) THEN
    RAISE EXCEPTION '%wait_for must be an object with signal, timeout_s and on_timeout',
      taskq.label_of(label, i) USING ERRCODE = '22023';
  END IF;
  IF jsonb_typeof(w->'signal') IS DISTINCT FROM 'string' OR NOT taskq.signal_name_ok(w->>'signal') THEN
    RAISE EXCEPTION '%wait_for.signal must be 1-64 characters of a-z, 0-9, _ . -',
      taskq.label_of(label, i) USING ERRCODE = '22023';
  END IF;
  IF w ? 'timeout_s' AND w->'timeout_s' <> 'null'
     AND (jsonb_typeof(w->'timeout_s') IS DISTINCT FROM 'number'
          OR (w->>'timeout_s')::float8 <= 0 OR (w->>'timeout_s')::float8 > 31536000) THEN
    RAISE EXCEPTION '%wait_for.timeout_s must be a number of seconds above 0, at most 31536000',
      taskq.label_of(label, i) USING ERRCODE = '22023';
  END IF;
  IF w ? 'on_timeout' AND (w->>'on_timeout') IS DISTINCT FROM 'fail'
     AND (w->>'on_timeout') IS DISTINCT FROM 'run' THEN
    RAISE EXCEPTION '%wait_for.on_timeout must be "fail" or "run"', taskq.label_of(label, i)
      USING ERRCODE = '22023';
  END IF;
END $$;

-- A signal for a task: stored in its signals; a task that waits for it goes back to the
-- queue at once (and the workers are woken). Outcomes: 'resumed' (it waited for this one),
-- 'stored' (queued, running, held, or waiting for another), 'final' (the task is finished:
-- nothing stored), 'not_found'; t is the task as it is now.
CREATE OR REPLACE FUNCTION taskq.signal(task uuid, name text, payload jsonb DEFAULT NULL,
                                        OUT outcome text, OUT t taskq.tasks)
LANGUAGE plpgsql AS $$
DECLARE
  was taskq.state;
BEGIN
  IF NOT taskq.signal_name_ok(name) THEN
    RAISE EXCEPTION 'signal names are 1-64 characters of a-z, 0-9, _ . -' USING ERRCODE = '22023';
  END IF;
  SELECT x.state INTO was FROM taskq.tasks x WHERE x.id = task FOR UPDATE;
  IF NOT FOUND THEN
    outcome := 'not_found';
    RETURN;
  END IF;
  IF was NOT IN ('queued', 'running', 'held', 'waiting') THEN
    SELECT * INTO t FROM taskq.tasks x WHERE x.id = task;
    outcome := 'final';
    RETURN;
  END IF;
  UPDATE taskq.tasks x
     SET signals = coalesce(x.signals, '{}') || jsonb_build_object(name, coalesce(signal.payload, 'null'::jsonb)),
         state = CASE WHEN x.state = 'waiting' AND x.waiting_for->>'signal' = name
                      THEN 'queued'::taskq.state ELSE x.state END,
         run_at = CASE WHEN x.state = 'waiting' AND x.waiting_for->>'signal' = name
                       THEN now() ELSE x.run_at END,
         waiting_for = CASE WHEN x.waiting_for->>'signal' = name THEN NULL ELSE x.waiting_for END,
         wait_until = CASE WHEN x.waiting_for->>'signal' = name THEN NULL ELSE x.wait_until END,
         updated_at = now(), version = x.version + 1
   WHERE x.id = task
  RETURNING * INTO t;
  outcome := CASE WHEN was = 'waiting' AND t.state = 'queued' THEN 'resumed' ELSE 'stored' END;
  INSERT INTO taskq.task_events (task_id, event, attempt, detail)
  VALUES (task, 'signal', t.attempts, name || CASE WHEN outcome = 'resumed' THEN ' (resumed)' ELSE '' END);
  IF outcome = 'resumed' THEN
    PERFORM pg_notify('taskq_wake', '');
  END IF;
END $$;

-- A running attempt waits for signal `name` (a command program printed `wait NAME [S]`):
-- the worker hands the task back without its attempt counting. When the task holds the
-- signal already, it is queued again at once; else it waits (timeout_s: at most that long,
-- then it fails, or runs without the signal when on_timeout is 'run'). A task whose cancel
-- was asked is cancelled. Returns the new state, NULL when the worker no longer holds it.
CREATE OR REPLACE FUNCTION taskq.wait(task uuid, worker text, att integer, name text,
                                      timeout_s double precision DEFAULT NULL,
                                      on_timeout text DEFAULT 'fail')
RETURNS taskq.state
LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $$
DECLARE
  t taskq.tasks;
  until timestamptz := CASE WHEN timeout_s > 0 THEN now() + make_interval(secs => timeout_s) END;
BEGIN
  IF NOT taskq.signal_name_ok(name) THEN
    RAISE EXCEPTION 'signal names are 1-64 characters of a-z, 0-9, _ . -' USING ERRCODE = '22023';
  END IF;
  UPDATE taskq.tasks x
     SET state = CASE WHEN x.cancel_requested THEN 'cancelled'::taskq.state
                      WHEN coalesce(x.signals ? name, false) THEN 'queued'::taskq.state
                      ELSE 'waiting'::taskq.state END,
         finished_at = CASE WHEN x.cancel_requested THEN now() END,
         waiting_for = CASE WHEN NOT x.cancel_requested AND NOT coalesce(x.signals ? name, false)
                            THEN taskq.waiting_for(name, until, on_timeout) END,
         wait_until = CASE WHEN NOT x.cancel_requested AND NOT coalesce(x.signals ? name, false)
                           THEN until END,
         attempts = greatest(x.attempts - 1, 0), run_at = now(),
         lease_until = NULL, worker_id = NULL,
         message = CASE WHEN x.cancel_requested THEN coalesce(x.message, 'cancelled')
                        ELSE 'waiting for signal ' || name END,
         updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.worker_id = worker AND x.attempts = att AND x.state = 'running'
  RETURNING * INTO t;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  PERFORM taskq.keep_implied(task, 'running', att, worker, t.started_at);
  INSERT INTO taskq.task_events (task_id, event, attempt, worker_id, detail)
  VALUES (task, CASE WHEN t.state = 'cancelled' THEN 'cancelled' ELSE 'waiting' END, att, worker,
          'signal ' || name || CASE WHEN t.state = 'queued' THEN ' (received already)' ELSE '' END);
  IF t.state = 'cancelled' THEN
    PERFORM taskq.count_finished(t.queue, 'cancelled', 1);
  ELSIF t.state = 'queued' THEN
    PERFORM pg_notify('taskq_wake', '');
  END IF;
  RETURN t.state;
END $$;

-- A running attempt stores its checkpoint (a command program printed `checkpoint JSON`): the
-- next run gets it. Fenced like progress: false when the worker no longer holds the task.
CREATE OR REPLACE FUNCTION taskq.checkpoint(task uuid, worker text, att integer, cp jsonb)
RETURNS boolean
LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $$
BEGIN
  UPDATE taskq.tasks x
     SET checkpoint = cp, updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.worker_id = worker AND x.attempts = att AND x.state = 'running';
  RETURN FOUND;
END $$;

-- Waits past their deadline (the workers' maintenance calls it every half second): each
-- fails with an error that names its signal, or (on_timeout 'run') is queued to run without
-- it. Returns how many it moved.
CREATE OR REPLACE FUNCTION taskq.wait_timeouts(batch integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  -- the tasks it moves are announced by the change trigger, whoever calls it
  PERFORM set_config('taskq.announce', 'now', true);
  WITH due AS MATERIALIZED (
    SELECT id FROM taskq.tasks
     WHERE wait_until <= now() AND state = 'waiting'
     ORDER BY wait_until
     LIMIT batch FOR UPDATE SKIP LOCKED
  ), moved AS (
    UPDATE taskq.tasks t
       SET state = CASE WHEN t.waiting_for->>'on_timeout' = 'run' THEN 'queued'::taskq.state
                        ELSE 'failed'::taskq.state END,
           finished_at = CASE WHEN t.waiting_for->>'on_timeout' = 'run' THEN NULL ELSE now() END,
           error = CASE WHEN t.waiting_for->>'on_timeout' = 'run' THEN t.error
                        ELSE format('timed out waiting for signal "%s"', t.waiting_for->>'signal')
                   END,
           message = format('timed out waiting for signal "%s"', t.waiting_for->>'signal'),
           run_at = now(), waiting_for = NULL, wait_until = NULL,
           updated_at = now(), version = t.version + 1
      FROM due
     WHERE t.id = due.id
    RETURNING t.id, t.state, t.attempts, t.queue, t.message
  ), ev AS (
    INSERT INTO taskq.task_events (task_id, event, attempt, detail)
    SELECT m.id, 'wait_timed_out', m.attempts, m.message || ' (now ' || m.state::text || ')'
      FROM moved m
  ), counted AS (
    INSERT INTO taskq.counters AS c (queue, state, shard, n)
    SELECT m.queue, m.state, (pg_backend_pid() % 16)::smallint, count(*) FROM moved m
     WHERE m.state = 'failed'
     GROUP BY m.queue, m.state
    ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n
  )
  SELECT count(*) INTO n FROM moved;
  IF n > 0 THEN
    PERFORM pg_notify('taskq_wake', '');
  END IF;
  RETURN n;
END $$;

-- A signal link: a one-time capability to send signal `name` to a task, valid for ttl.
-- Returns the token ("ts_" + 43 characters of base64url from 244 random bits); only its
-- SHA-256 is kept. Raises no_data_found for an unknown task. Runs with its owner's rights
-- (the table is taskq's own), so an app's role needs only EXECUTE on it.
CREATE OR REPLACE FUNCTION taskq.signal_token(task uuid, name text, ttl interval DEFAULT '1 day')
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  tok text;
BEGIN
  IF NOT taskq.signal_name_ok(name) THEN
    RAISE EXCEPTION 'signal names are 1-64 characters of a-z, 0-9, _ . -' USING ERRCODE = '22023';
  END IF;
  IF ttl IS NULL OR ttl <= interval '0' THEN
    RAISE EXCEPTION 'signal link lifetime must be positive' USING ERRCODE = '22023';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM taskq.tasks t WHERE t.id = task) THEN
    RAISE EXCEPTION 'no such task: %', task USING ERRCODE = 'P0002';
  END IF;
  tok := 'ts_' || translate(rtrim(encode(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()),
                                         'base64'), '='), '+/', '-_');
  INSERT INTO taskq.signal_tokens (hash, task_id, name, expires_at)
  VALUES (sha256(convert_to(tok, 'UTF8')), task, name, now() + ttl);
  RETURN tok;
END $$;

-- Uses a signal link once: its signal goes to its task with payload (taskq.signal).
-- Outcomes: those of taskq.signal, 'used' (the link was used before), 'invalid' (no such
-- link, or expired). Concurrent uses of one link deliver once: the first takes the row, the
-- others find it used.
CREATE OR REPLACE FUNCTION taskq.signal_by_token(token text, payload jsonb DEFAULT NULL,
                                                 OUT outcome text, OUT t taskq.tasks)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  h bytea := sha256(convert_to(coalesce(token, ''), 'UTF8'));
  st taskq.signal_tokens;
  r record;
BEGIN
  UPDATE taskq.signal_tokens s SET used_at = now()
   WHERE s.hash = h AND s.used_at IS NULL AND s.expires_at > now()
  RETURNING * INTO st;
  IF NOT FOUND THEN
    outcome := CASE WHEN EXISTS (SELECT 1 FROM taskq.signal_tokens s
                                  WHERE s.hash = h AND s.used_at IS NOT NULL
                                    AND s.expires_at > now())
                    THEN 'used' ELSE 'invalid' END;
    RETURN;
  END IF;
  SELECT * INTO r FROM taskq.signal(st.task_id, st.name, payload);
  outcome := r.outcome;
  t := r.t;
END $$;
