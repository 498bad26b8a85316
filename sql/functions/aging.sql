-- functions/aging.sql: priority aging (the setting: schema/027_fair_shares.sql). A queue with
-- an aging setting raises the priority of its ready tasks by one step per seconds_per_step of
-- wait, so that low priorities never starve under a steady load of higher ones. The raise is
-- the workers' maintenance (taskq.age, about once a second), in bounded batches, an indexed
-- walk of the ready rows: the claim itself is unchanged and still walks tasks_ready in order.
-- Must not claim.
--
-- The wait is wall-clock time since the task's last change (updated_at: its submit, or its
-- last raise) or its run_at if later (a delay), not since run_at alone: a fair place in line
-- (functions/submit.sql) may lie well before the submit. A raised task enters its new level
-- at the head (its run_at moves back to that level's head, if earlier): it has waited longer
-- than the tasks there, and among equals the claim takes the earliest run_at. base_priority
-- keeps the priority it was submitted with.
--
-- A line is what the claim takes in one order: a queue's tasks without a concurrency key
-- (tasks_ready), or one key's (tasks_ready_keyed). Its tasks at or above its top (the line's
-- highest ready priority, and for a keyed line at least the plain line's, which the claim
-- weighs keyed tasks against) do not age: nothing waits ahead of them. Below it, a level at
-- a time from the lowest (the most starved first), the oldest due tasks of each level are
-- raised by the steps they waited (to at most 1000), each with a version bump (the task's
-- JSON shows the priority it has now). The next wait counts from the raise, so a raise loses
-- what was left of a step: with a pass about every second, n steps of s seconds take at most
-- n * s + (the passes it took) * s + one pass.

-- Sets (seconds_per_step > 0) or clears (NULL or 0) the aging of queue. Returns the setting.
CREATE OR REPLACE FUNCTION taskq.set_queue_aging(queue text, seconds_per_step double precision)
RETURNS double precision
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  IF set_queue_aging.queue IS NULL OR set_queue_aging.queue !~ '^[A-Za-z0-9_.:-]{1,64}$' THEN
    RAISE EXCEPTION 'a queue name is 1-64 of A-Z a-z 0-9 _ . : -' USING ERRCODE = '22023';
  END IF;
  IF coalesce(set_queue_aging.seconds_per_step, 0) = 0 THEN
    DELETE FROM taskq.queue_aging a WHERE a.queue = set_queue_aging.queue;
    RETURN NULL;
  END IF;
  IF NOT (set_queue_aging.seconds_per_step BETWEEN 0.1 AND 2592000) THEN
    RAISE EXCEPTION 'seconds_per_step is 0.1-2592000 (0: no aging)' USING ERRCODE = '22023';
  END IF;
  INSERT INTO taskq.queue_aging AS a (queue, seconds_per_step)
  VALUES (set_queue_aging.queue, set_queue_aging.seconds_per_step)
  ON CONFLICT (queue) DO UPDATE SET seconds_per_step = excluded.seconds_per_step,
                                    updated_at = now();
  RETURN set_queue_aging.seconds_per_step;
END $$;

-- The lowest ready priority of a line (queue q; key ckey, NULL: the plain line) above
-- `above` (NULL: the lowest of all), or NULL; with highest, the highest one instead (above
-- ignored). One probe of tasks_ready or tasks_ready_keyed, whichever holds the line.
CREATE OR REPLACE FUNCTION taskq.line_level(q text, ckey text, above smallint, highest boolean)
RETURNS smallint
LANGUAGE plpgsql STABLE
SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off AS $$
BEGIN
  IF highest AND ckey IS NULL THEN
    RETURN (SELECT r.priority FROM taskq.tasks r
             WHERE r.state = 'queued' AND r.queue = q AND r.concurrency_key IS NULL
               AND r.run_at <= now()
             ORDER BY r.priority DESC LIMIT 1);
  ELSIF highest THEN
    RETURN (SELECT r.priority FROM taskq.tasks r
             WHERE r.state = 'queued' AND r.queue = q AND r.concurrency_key = ckey
               AND r.run_at <= now()
             ORDER BY r.priority DESC LIMIT 1);
  ELSIF ckey IS NULL THEN
    RETURN (SELECT r.priority FROM taskq.tasks r
             WHERE r.state = 'queued' AND r.queue = q AND r.concurrency_key IS NULL
               AND r.priority > coalesce(above, -32768)
             ORDER BY r.priority LIMIT 1);
  END IF;
  RETURN (SELECT r.priority FROM taskq.tasks r
           WHERE r.state = 'queued' AND r.queue = q AND r.concurrency_key = ckey
             AND r.priority > coalesce(above, -32768)
           ORDER BY r.priority LIMIT 1);
END $$;

-- The ids of up to n of a line's ready tasks at priority p that waited at least one step
-- (step_s seconds), oldest first, locked (SKIP LOCKED: a claim that holds one takes it). Not
-- strict tasks: their key starts them in submit order whatever their priority.
CREATE OR REPLACE FUNCTION taskq.line_due(q text, ckey text, p smallint, step_s float8,
                                          n integer)
RETURNS uuid[]
LANGUAGE plpgsql
SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off AS $$
BEGIN
  IF ckey IS NULL THEN
    RETURN ARRAY(SELECT r.id FROM taskq.tasks r
                  WHERE r.state = 'queued' AND r.queue = q AND r.concurrency_key IS NULL
                    AND r.priority = p AND r.run_at <= now() - make_interval(secs => step_s)
                  ORDER BY r.priority DESC, r.run_at, r.id LIMIT n
                  FOR UPDATE SKIP LOCKED);
  END IF;
  RETURN ARRAY(SELECT r.id FROM taskq.tasks r
                WHERE r.state = 'queued' AND r.queue = q AND r.concurrency_key = ckey
                  AND r.priority = p AND r.run_at <= now() - make_interval(secs => step_s)
                  AND r.strict_seq IS NULL
                ORDER BY r.priority DESC, r.run_at, r.id LIMIT n
                FOR UPDATE SKIP LOCKED);
END $$;

-- Ages one line below floor_top (see the header), raising at most n tasks; returns how many.
CREATE OR REPLACE FUNCTION taskq.age_line(q text, ckey text, floor_top smallint, step_s float8,
                                          n integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  top smallint := greatest(taskq.line_level(q, ckey, NULL, true), floor_top);
  p smallint;
  ids uuid[];
  moved integer;
  done integer := 0;
BEGIN
  p := taskq.line_level(q, ckey, NULL, false);
  WHILE p IS NOT NULL AND p < top AND done < n LOOP
    ids := taskq.line_due(q, ckey, p, step_s, n - done);
    UPDATE taskq.tasks t
       SET base_priority = coalesce(t.base_priority, t.priority), priority = x.aged,
           run_at = least(t.run_at, coalesce(taskq.fair_head(t.queue, x.aged, t.concurrency_key),
                                             t.run_at)),
           updated_at = now(), version = t.version + 1
      FROM (SELECT r.id, least(1000, r.priority + floor(extract(epoch FROM
                   now() - greatest(r.updated_at, r.run_at)) / step_s))::smallint AS aged
              FROM taskq.tasks r WHERE r.id = ANY (ids)) x
     WHERE t.id = x.id AND t.state = 'queued' AND x.aged > t.priority;
    GET DIAGNOSTICS moved = ROW_COUNT;
    done := done + moved;
    p := taskq.line_level(q, ckey, p, false);
  END LOOP;
  RETURN done;
END $$;

-- The workers' aging pass: every queue with an aging setting, its plain line and up to 256 of
-- its keys (a loose index scan, as the claim finds them), raising at most batch tasks in all.
-- One worker at a time (the others skip it: a transaction-scoped advisory lock). Returns how
-- many tasks it raised.
CREATE OR REPLACE FUNCTION taskq.age(batch integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off AS $$
DECLARE
  a taskq.queue_aging;
  plain_top smallint;
  ckey text;
  done integer := 0;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM taskq.queue_aging)
     OR NOT pg_try_advisory_xact_lock(1952539766, 0) THEN
    RETURN 0;
  END IF;
  FOR a IN SELECT * FROM taskq.queue_aging ORDER BY queue LOOP
    EXIT WHEN done >= batch;
    plain_top := taskq.line_level(a.queue, NULL, NULL, true);
    done := done + taskq.age_line(a.queue, NULL, plain_top, a.seconds_per_step, batch - done);
    FOR ckey IN
      WITH RECURSIVE keys AS (
        (SELECT r.concurrency_key AS key FROM taskq.tasks r
          WHERE r.state = 'queued' AND r.queue = a.queue AND r.concurrency_key IS NOT NULL
          ORDER BY r.concurrency_key LIMIT 1)
        UNION ALL
        SELECT (SELECT r.concurrency_key FROM taskq.tasks r
                 WHERE r.state = 'queued' AND r.queue = a.queue
                   AND r.concurrency_key > keys.key
                 ORDER BY r.concurrency_key LIMIT 1)
          FROM keys WHERE keys.key IS NOT NULL
      )
      SELECT keys.key FROM keys WHERE keys.key IS NOT NULL LIMIT 256
    LOOP
      EXIT WHEN done >= batch;
      done := done + taskq.age_line(a.queue, ckey, plain_top, a.seconds_per_step, batch - done);
    END LOOP;
  END LOOP;
  RETURN done;
END $$;
