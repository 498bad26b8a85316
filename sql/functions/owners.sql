-- functions/owners.sql: the cap on each owner's unfinished (queued + running) tasks (the
-- caps: schema/020_owner_caps.sql), held where tasks become unfinished: after every INSERT
-- into taskq.tasks and every retry (the triggers: triggers.sql), so that no path skips it
-- (taskq-fcgi's submits, batches and group inserts, chains, taskq.submit and submit_many from
-- SQL, the CLI, follow-ups, schedule fires). Must not limit rates: the submit rate per owner
-- is a request rate, taskq-fcgi's (fcgi/owner_limits.c).
--
-- A statement that would leave an owner over its cap is refused whole (SQLSTATE 53400,
-- configuration_limit_exceeded: taskq-fcgi answers 429 too_many_unfinished, the CLI exits
-- 75), except where taskq makes tasks on the owner's behalf and nobody is there to be told
-- (follow-ups, schedule fires: their callers set taskq.over_cap to 'fail' for the insert):
-- those tasks are made failed, with the reason as their error, so that the completion or the
-- fire that made them still commits. A failed task can be retried once the owner has room.
--
-- What counts is what the statement sees: the owner's committed tasks plus its own. Two
-- transactions of one owner inserting at the same moment may each pass and overshoot the cap
-- by what they insert together (no lock per owner: its submits would queue behind each
-- other's commits). Counting a backlog of thousands at every insert would cost a submit
-- milliseconds, so an insert first tries a bound: the owner's last count (taskq.owner_counts,
-- at most a second old) plus its tasks made since (a short walk of tasks_owner_id, by the
-- time in their ids, from a quarter of a second before the count, for transactions in flight
-- and clocks a little apart). Only when that bound is over the cap, or the count is older,
-- does it count again (a walk of the owner's unfinished tasks, up to the cap + 1), and a
-- refusal always rests on a fresh count. taskq-fcgi also checks the cap before the database,
-- from a count it reads at most once a second, so that a flood over the cap costs no
-- statement.

-- The cap taskq.owner_caps sets for owner o, from the max_unfinished of its row (own) and of
-- the row '*' (star), NULL where there is none: its own; else none for 'anonymous' (the owner
-- of stacks without auth and of SQL submits that name none); else the row '*''s; else
-- 10,000 (taskq-fcgi's cap before it moved here). 0: no cap. One expression, inlined.
CREATE OR REPLACE FUNCTION taskq.configured_cap(o text, own integer, star integer)
RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(own, CASE WHEN o = 'anonymous' THEN 0 END, star, 10000)
$$;

-- The cap on owner o's unfinished tasks (taskq.configured_cap); NULL when that is 0 (no
-- cap), or when o holds a live admin token (admins are not capped, and only capped owners
-- pay for asking). PL/pgSQL so that the plans are kept for the session.
CREATE OR REPLACE FUNCTION taskq.owner_cap(o text) RETURNS integer
LANGUAGE plpgsql STABLE AS $$
DECLARE
  cap integer := taskq.configured_cap(
    o, (SELECT c.max_unfinished FROM taskq.owner_caps c WHERE c.owner = o),
    (SELECT c.max_unfinished FROM taskq.owner_caps c WHERE c.owner = '*'));
BEGIN
  IF cap > 0 AND NOT EXISTS (SELECT 1 FROM taskq.tokens k
                              WHERE k.owner = o AND k.admin AND k.revoked_at IS NULL
                                AND (k.expires_at IS NULL OR k.expires_at > now())) THEN
    RETURN cap;
  END IF;
  RETURN NULL;
END $$;

-- Owner o's unfinished tasks, counted up to upto at most (cap + 1 tells over from not over
-- without walking a bigger backlog): an index scan of tasks_owner_unfinished.
CREATE OR REPLACE FUNCTION taskq.owner_unfinished(o text, upto integer) RETURNS integer
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT count(*) FROM (SELECT 1 FROM taskq.tasks t
                                 WHERE t.owner = o AND t.state IN ('queued', 'running')
                                 LIMIT upto) x);
END $$;

-- The smallest task id (UUIDv7: Unix milliseconds first) made at or after ts.
CREATE OR REPLACE FUNCTION taskq.uuid_floor(ts timestamptz) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $$
  SELECT (lpad(to_hex(floor(extract(epoch FROM ts) * 1000)::bigint), 12, '0')
          || '00000000000000000000')::uuid
$$;

-- Whether owner o, capped at cap, has more than cap unfinished tasks now. A small backlog
-- (under 64 at its last count) is counted at once: that is cheaper than any bound. A bigger
-- one is answered from its last count when that settles it (see the header), else counted
-- now, and the count kept for the next inserts unless another transaction is keeping one
-- (never waited for: a transaction that makes tasks for several owners must not queue behind
-- another crosswise).
CREATE OR REPLACE FUNCTION taskq.owner_over_cap(o text, cap integer) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  last taskq.owner_counts;
  n integer;
BEGIN
  SELECT * INTO last FROM taskq.owner_counts c WHERE c.owner = o;
  IF FOUND AND last.counted_at > clock_timestamp() - interval '1 second'
     AND last.unfinished >= 64 AND last.unfinished < cap THEN
    -- made since the count: enough of them to tell whether they fill the room left
    SELECT count(*) INTO n
      FROM (SELECT 1 FROM taskq.tasks t
             WHERE t.owner = o AND t.id >= taskq.uuid_floor(last.counted_at - interval '250 ms')
             LIMIT cap - last.unfinished + 1) x;
    IF last.unfinished + n <= cap THEN
      RETURN false;
    END IF;
  END IF;
  n := taskq.owner_unfinished(o, cap + 1);
  IF (n >= 64 OR last.owner IS NOT NULL) AND pg_try_advisory_xact_lock(1952539764, hashtext(o)) THEN
    INSERT INTO taskq.owner_counts AS c (owner, unfinished, counted_at)
    VALUES (o, n, clock_timestamp())
    ON CONFLICT (owner) DO UPDATE SET unfinished = excluded.unfinished,
                                      counted_at = excluded.counted_at;
  END IF;
  RETURN n > cap;
END $$;

-- What a refusal says, the same words on every path.
CREATE OR REPLACE FUNCTION taskq.over_cap_message(o text, cap integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT format('owner %s may have at most %s unfinished (queued or running) tasks', o, cap)
$$;

-- After each INSERT into taskq.tasks (trigger tasks_owner_cap, triggers.sql): for each owner
-- of the new unfinished rows that has a cap, whether it is over it now; if so the statement
-- is refused, or, when taskq.over_cap is 'fail', the owner's new rows are made failed (with
-- their history row, the finished counters, and their callbacks armed by the update).
-- Owners are looked at in name order, once each per statement however many rows it inserted.
CREATE OR REPLACE FUNCTION taskq.owner_cap_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  owners text[];
  o text;
  cap integer;
  why text;
BEGIN
  -- the statement's owners that taskq.owner_caps caps, in one query: most inserts without a
  -- cap stop here ('anonymous', a cap of 0); owner_cap then leaves out admins
  SELECT array_agg(a.owner ORDER BY a.owner) INTO owners
    FROM (SELECT DISTINCT x.owner FROM added x WHERE x.state IN ('queued', 'running')) a
    LEFT JOIN taskq.owner_caps own ON own.owner = a.owner
    LEFT JOIN taskq.owner_caps star ON star.owner = '*'
   WHERE taskq.configured_cap(a.owner, own.max_unfinished, star.max_unfinished) > 0;
  FOREACH o IN ARRAY coalesce(owners, '{}') LOOP
    cap := taskq.owner_cap(o);
    CONTINUE WHEN cap IS NULL OR NOT taskq.owner_over_cap(o, cap);
    why := taskq.over_cap_message(o, cap);
    IF current_setting('taskq.over_cap', true) IS DISTINCT FROM 'fail' THEN
      RAISE EXCEPTION '%', why USING ERRCODE = '53400',
        HINT = 'retry once some of its tasks have finished';
    END IF;
    why := 'refused: ' || why || '; retry it once some of them have finished';
    WITH refused AS (
      UPDATE taskq.tasks t
         SET state = 'failed', error = why, finished_at = now(), updated_at = now(),
             version = t.version + 1
        FROM added a
       WHERE t.id = a.id AND a.owner = o AND a.state IN ('queued', 'running')
      RETURNING t.id, t.queue
    ), ev AS (
      INSERT INTO taskq.task_events (task_id, event, attempt, detail)
      SELECT r.id, 'failed', 0, why FROM refused r
    )
    INSERT INTO taskq.counters AS c (queue, state, shard, n)
    SELECT r.queue, 'failed', (pg_backend_pid() % 16)::smallint, count(*) FROM refused r
     GROUP BY r.queue
    ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n;
  END LOOP;
  RETURN NULL;
END $$;

-- After a retry made a finished task unfinished again (trigger tasks_owner_cap_requeued):
-- refused when its owner is over its cap now.
CREATE OR REPLACE FUNCTION taskq.owner_cap_requeued() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  cap integer := taskq.owner_cap(NEW.owner);
BEGIN
  IF cap IS NOT NULL AND taskq.owner_unfinished(NEW.owner, cap + 1) > cap THEN
    RAISE EXCEPTION '%', taskq.over_cap_message(NEW.owner, cap) USING ERRCODE = '53400',
      HINT = 'retry once some of its tasks have finished';
  END IF;
  RETURN NULL;
END $$;

-- What taskq-fcgi's check before the database reads, at most once a second per owner: the
-- owner's cap (NULL: none) and its unfinished tasks, counted up to the cap + 1.
CREATE OR REPLACE FUNCTION taskq.owner_room(o text, OUT cap integer, OUT unfinished integer)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  cap := taskq.owner_cap(o);
  unfinished := CASE WHEN cap IS NULL THEN 0 ELSE taskq.owner_unfinished(o, cap + 1) END;
END $$;

-- Fair shares: sets owner o's weight (taskq.owner_weights), its share of the starts when
-- owners compete for workers (taskq.fair_step); an owner without a row has weight 1.
-- Returns the weight.
CREATE OR REPLACE FUNCTION taskq.set_owner_weight(owner text, weight double precision)
RETURNS double precision
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  IF set_owner_weight.owner IS NULL OR set_owner_weight.owner !~ '^[A-Za-z0-9_.@:-]{1,64}$' THEN
    RAISE EXCEPTION 'an owner is 1-64 of A-Z a-z 0-9 _ . @ : -' USING ERRCODE = '22023';
  END IF;
  IF NOT (set_owner_weight.weight BETWEEN 0.01 AND 100) THEN
    RAISE EXCEPTION 'a weight is 0.01-100' USING ERRCODE = '22023';
  END IF;
  INSERT INTO taskq.owner_weights AS w (owner, weight)
  VALUES (set_owner_weight.owner, set_owner_weight.weight)
  ON CONFLICT (owner) DO UPDATE SET weight = excluded.weight, updated_at = now();
  RETURN set_owner_weight.weight;
END $$;
