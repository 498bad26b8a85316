-- functions/console.sql: what the console reads and does beyond one task at a time: a page of
-- tasks by any of its filters (id prefix, time range, payload fragment), the bulk form of the
-- single-task verbs, the fleet and the circuit breakers as the console lists them. Must not
-- hold a verb's semantics: a bulk action calls the one-task verb (cancel.sql, maintenance.sql)
-- for each task.

-- The first (hi false) or last (hi true) task id a UUIDv7 of instant t can be: ids are
-- time-ordered (schema/001_init.sql, taskq.uuid_v7), so a range of creation times is a range
-- of ids, which every index ending in id serves.
CREATE OR REPLACE FUNCTION taskq.uuid_at(t timestamptz, hi boolean DEFAULT false) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (lpad(to_hex(greatest(0, floor(extract(epoch FROM t) * 1000))::bigint), 12, '0')
          || CASE WHEN hi THEN 'ffffffffffffffffffff' ELSE '00000000000000000000' END)::uuid
$$;

-- A page of tasks, newest first, below the id `before` (keyset paging): each filter is NULL
-- when not given. id_lo/id_hi bound the id (an id prefix), created_from/created_to its creation
-- time (as an id range), fragment is matched with jsonb containment (payload @> fragment);
-- worker_id finds a worker's running tasks, parent the children of a task: those still waiting
-- for it (taskq.task_deps) and, of a task that has children, those submitted within 10 minutes
-- after it (no index holds the parents of released children: a walk of ids, kept short),
-- waiting the queued tasks that wait for something (functions/waits.sql): 'delayed' (run_at
-- ahead), 'blocked' (parents unfinished) or 'retrying' (a later attempt, waiting or due). Planned for the filters of each call
-- (force_custom_plan): a generic plan would serve every combination with one index, and a
-- page of a small queue, or of one state, would walk the primary key across millions of rows.
-- A payload fragment is only matched row by row: the API asks for a queue and a time range
-- with it, so that the rows it reads are one index range.
CREATE OR REPLACE FUNCTION taskq.task_page(st taskq.state, q text, k text, before uuid,
                                           lim integer, who text, id_lo uuid DEFAULT NULL,
                                           id_hi uuid DEFAULT NULL,
                                           created_from timestamptz DEFAULT NULL,
                                           created_to timestamptz DEFAULT NULL,
                                           fragment jsonb DEFAULT NULL,
                                           worker text DEFAULT NULL,
                                           parent uuid DEFAULT NULL,
                                           waiting text DEFAULT NULL)
RETURNS SETOF taskq.tasks
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_custom_plan AS $$
BEGIN
  RETURN QUERY
  SELECT * FROM taskq.tasks t
   WHERE (st IS NULL OR t.state = st)
     AND (q IS NULL OR t.queue = q) AND (k IS NULL OR t.kind = k)
     AND (before IS NULL OR t.id < before) AND (who IS NULL OR t.owner = who)
     AND (id_lo IS NULL OR t.id >= id_lo) AND (id_hi IS NULL OR t.id <= id_hi)
     AND (created_from IS NULL OR t.id >= taskq.uuid_at(created_from))
     AND (created_to IS NULL OR t.id <= taskq.uuid_at(created_to, true))
     AND (fragment IS NULL OR t.payload @> fragment)
     AND (worker IS NULL OR (t.worker_id = worker AND t.state = 'running'))
     AND (waiting IS NULL OR (t.state = 'queued' AND CASE waiting
            WHEN 'delayed' THEN t.pending_parents = 0 AND t.run_at > now()
            WHEN 'blocked' THEN t.pending_parents > 0
            ELSE t.attempts > 0 END))
     AND (parent IS NULL OR t.id IN (
           SELECT d.child FROM taskq.task_deps d WHERE d.parent = task_page.parent
           UNION ALL
           SELECT c.id FROM taskq.tasks c, taskq.tasks p
            WHERE p.id = task_page.parent AND p.has_children
              AND c.id > p.id AND c.id <= taskq.uuid_at(p.created_at + interval '10 minutes', true)
              AND c.parents @> ARRAY[p.id]))
   ORDER BY t.id DESC
   LIMIT lim;
END $$;

-- Deletes a finished task and its history (the bulk action "delete"); 'deleted', or
-- 'wrong_state' for an unfinished one, or 'not_found'.
CREATE OR REPLACE FUNCTION taskq.delete_task(task uuid) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM taskq.tasks x WHERE x.id = task AND x.state IN ('succeeded', 'failed', 'cancelled');
  IF FOUND THEN
    DELETE FROM taskq.task_events e WHERE e.task_id = task;
    RETURN 'deleted';
  END IF;
  RETURN CASE WHEN EXISTS (SELECT 1 FROM taskq.tasks x WHERE x.id = task)
              THEN 'wrong_state' ELSE 'not_found' END;
END $$;

-- Runs a delayed task now (the bulk action "run_now"): a queued task whose run_at lies ahead
-- (a delay, a retry's back-off) becomes due at once; 'queued', or 'wrong_state' for any other
-- (running, finished, or blocked by its parents), or 'not_found'.
CREATE OR REPLACE FUNCTION taskq.run_now(task uuid) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE taskq.tasks x SET run_at = now(), updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.state = 'queued' AND x.pending_parents = 0 AND x.run_at > now();
  IF FOUND THEN
    PERFORM pg_notify('taskq_wake', '');
    RETURN 'queued';
  END IF;
  RETURN CASE WHEN EXISTS (SELECT 1 FROM taskq.tasks x WHERE x.id = task)
              THEN 'wrong_state' ELSE 'not_found' END;
END $$;

-- One action on many tasks, each through its one-task verb: retry (taskq.retry), cancel
-- (taskq.cancel), delete (taskq.delete_task), run_now (taskq.run_now). who (not NULL: an
-- owner's call) limits it to that owner's tasks; the others answer 'not_found', as one task's
-- verb does. One row per id, in the order given: the verb's outcome.
CREATE OR REPLACE FUNCTION taskq.bulk_tasks(action text, ids uuid[], who text DEFAULT NULL)
RETURNS TABLE (id uuid, outcome text)
LANGUAGE plpgsql AS $$
DECLARE
  i uuid;
  o text;
BEGIN
  IF action NOT IN ('retry', 'cancel', 'delete', 'run_now') THEN
    RAISE EXCEPTION 'unknown bulk action ''%''', action USING ERRCODE = '22023';
  END IF;
  FOREACH i IN ARRAY ids LOOP
    IF who IS NOT NULL AND NOT EXISTS (SELECT 1 FROM taskq.tasks x
                                        WHERE x.id = i AND x.owner = who) THEN
      o := 'not_found';
    ELSIF action = 'retry' THEN
      SELECT r.outcome INTO o FROM taskq.retry(i) r;
    ELSIF action = 'cancel' THEN
      SELECT c.outcome INTO o FROM taskq.cancel(i) c;
    ELSIF action = 'delete' THEN
      o := taskq.delete_task(i);
    ELSE
      o := taskq.run_now(i);
    END IF;
    id := i;
    outcome := o;
    RETURN NEXT;
  END LOOP;
END $$;

-- The fleet as the console shows it: every worker daemon that sent a heartbeat in the last
-- five minutes (older rows are deleted by taskq.rescue), with stale set once it missed its
-- heartbeats for 30 seconds; finished_per_min is its finished tasks (the outcomes its heartbeat
-- reports) per minute since it started.
CREATE OR REPLACE VIEW taskq.fleet AS
SELECT w.id, w.host, w.pid, w.version, w.queues, w.concurrency, w.running, w.started_at,
       w.last_seen, round(extract(epoch FROM now() - w.last_seen), 1)::float8 AS last_seen_s,
       w.last_seen < now() - interval '30 seconds' AS stale,
       round(coalesce((SELECT sum(v.value::numeric) FROM jsonb_each_text(w.metrics -> 'outcomes') v
                        WHERE v.key IN ('succeeded', 'failed', 'cancelled')), 0)
             / greatest(extract(epoch FROM w.last_seen - w.started_at) / 60, 1), 1)::float8
         AS finished_per_min
  FROM taskq.workers w
 ORDER BY w.host, w.pid, w.id;

-- The circuit breakers as the console lists them: every host with a row, unhealthy first.
CREATE OR REPLACE VIEW taskq.breaker_overview AS
SELECT b.host, b.state::text AS state, b.failures, b.last_error, b.opened_at, b.retry_at,
       b.trips, b.probes, b.deferred,
       greatest(coalesce(extract(epoch FROM b.throttled_until - now()), 0), 0)::float8
         AS throttled_s,
       (SELECT count(*) FROM taskq.tasks t
         WHERE t.breaker_host = b.host AND t.state = 'queued') AS waiting,
       b.updated_at
  FROM taskq.breakers b
 ORDER BY (b.state <> 'closed' OR b.throttled_until > now()) DESC, b.updated_at DESC, b.host;
