-- taskq schema, version 10: batch submit.
--
-- taskq.submit_many(tasks, owner): many tasks in one statement. tasks is a JSON array of
-- objects with the fields of POST /api/tasks (kind required; payload, queue, priority,
-- delay_s, max_attempts, timeout_s, dedupe_key, concurrency_key, callback_url optional, with
-- the same defaults). All or nothing: a bad element (unknown kind, a value out of range)
-- raises an error whose message starts with "tasks[i]: " and nothing is inserted. A dedupe
-- key that a live task of the owner already holds (or an earlier element of the same batch)
-- gives that task's id with created = false, as a single submit answers 200. The rows come
-- back in the order of the array.
--
-- taskq-fcgi calls it with notify => false (it wakes the workers on its own connection, at
-- most once a millisecond) and with each element's fair and fair_after (its place in line
-- among owners, see lib/store.c: FAIR_RUN_AT), which SQL callers leave out.

CREATE FUNCTION taskq.submit_many(tasks jsonb, owner text DEFAULT 'anonymous',
                                  notify boolean DEFAULT true)
RETURNS TABLE (ord integer, id uuid, created boolean, queue text, priority smallint,
               run_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  who text := coalesce(submit_many.owner, 'anonymous');
  bad record;
  ids uuid[];
  made boolean[];
  keys text[];
BEGIN
  IF jsonb_typeof(tasks) IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 'tasks must be a JSON array' USING ERRCODE = '22023';
  END IF;
  SELECT e.o - 1 AS i, e.v->>'kind' AS kind INTO bad
    FROM jsonb_array_elements(tasks) WITH ORDINALITY AS e(v, o)
   WHERE jsonb_typeof(e.v) IS DISTINCT FROM 'object' OR e.v->>'kind' IS NULL
      OR NOT EXISTS (SELECT 1 FROM taskq.kinds k WHERE k.name = e.v->>'kind')
   ORDER BY e.o LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'tasks[%]: unknown task kind %', bad.i, coalesce(bad.kind, '(none)')
      USING ERRCODE = '22023';
  END IF;

  -- one statement inserts them all (ids made first, so that each row is known by its place)
  WITH src AS MATERIALIZED (
    SELECT (e.o - 1)::integer AS i, taskq.uuid_v7() AS id, e.v->>'kind' AS kind,
           coalesce(e.v->'payload', '{}') AS payload, coalesce(e.v->>'queue', 'default') AS q,
           coalesce((e.v->>'priority')::smallint, 0) AS prio,
           coalesce((e.v->>'delay_s')::float8, 0) AS delay_s,
           coalesce((e.v->>'max_attempts')::integer, 3) AS max_attempts,
           (e.v->>'timeout_s')::integer AS timeout_s, e.v->>'dedupe_key' AS dedupe_key,
           e.v->>'concurrency_key' AS concurrency_key, e.v->>'callback_url' AS callback_url,
           coalesce((e.v->>'fair')::boolean, false) AS fair,
           (e.v->>'fair_after')::timestamptz AS fair_after
      FROM jsonb_array_elements(tasks) WITH ORDINALITY AS e(v, o)
  ), ins AS (
    INSERT INTO taskq.tasks AS t (id, kind, payload, queue, priority, run_at, max_attempts,
                                  timeout_s, dedupe_key, concurrency_key, owner, callback_url)
    SELECT s.id, s.kind, s.payload, s.q, s.prio,
           CASE WHEN s.delay_s > 0 OR NOT s.fair
                THEN now() + make_interval(secs => s.delay_s)
                ELSE LEAST(now(), GREATEST(
                  (SELECT h.run_at FROM taskq.tasks h
                    WHERE h.queue = s.q AND h.state = 'queued'
                      AND h.concurrency_key IS NULL AND h.priority = s.prio
                    ORDER BY h.priority DESC, h.run_at, h.id LIMIT 1),
                  s.fair_after + make_interval(secs => (s.i + 1) / 1e6))) END,
           s.max_attempts, s.timeout_s, s.dedupe_key, s.concurrency_key, who, s.callback_url
      FROM src s ORDER BY s.i
    ON CONFLICT (owner, dedupe_key) WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running')
    DO NOTHING
    RETURNING t.id
  )
  SELECT array_agg(s.id ORDER BY s.i), array_agg(i.id IS NOT NULL ORDER BY s.i),
         array_agg(s.dedupe_key ORDER BY s.i)
    INTO ids, made, keys
    FROM src s LEFT JOIN ins i ON i.id = s.id;

  -- the answer, from a statement that sees the rows just inserted: an element whose dedupe
  -- key was taken (before, or by an earlier element of this batch) gets the live holder
  RETURN QUERY
  SELECT (a.o - 1)::integer, t.id, a.made, t.queue, t.priority, t.run_at
    FROM unnest(ids, made, keys) WITH ORDINALITY AS a(id, made, dkey, o)
    JOIN LATERAL (
      SELECT x.id, x.queue, x.priority, x.run_at FROM taskq.tasks x
       WHERE a.made AND x.id = a.id
      UNION ALL
      SELECT x.id, x.queue, x.priority, x.run_at FROM taskq.tasks x
       WHERE NOT a.made AND x.owner = who AND x.dedupe_key = a.dkey
         AND x.state IN ('queued', 'running')
      UNION ALL
      -- the holder finished between the insert and this statement: the latest with the key
      (SELECT x.id, x.queue, x.priority, x.run_at FROM taskq.tasks x
        WHERE NOT a.made AND x.owner = who AND x.dedupe_key = a.dkey
        ORDER BY x.id DESC LIMIT 1)
      LIMIT 1
    ) t ON true
   ORDER BY a.o;
  IF notify AND true = ANY (made) THEN
    PERFORM pg_notify('taskq_wake', '');
  END IF;
END $$;
