-- functions/submit.sql: putting tasks in from SQL: taskq.submit (one task, in the caller's
-- transaction), taskq.submit_many (a batch, all or nothing) and the insert they share
-- (taskq.insert_tasks). Parents named at submit are linked by functions/chains.sql. Must not
-- hold the checks of follow-ups (chains.sql) nor anything a worker calls.

-- The run_at of the head of the line that fair submits join: the first queued task of queue
-- at priority with the same concurrency key (none: those without a key; tasks_ready indexes
-- exactly them in this order, tasks_ready_keyed each key's, the order a claim takes a key's
-- tasks in). PL/pgSQL so that its plans are kept for the session: an SQL function that cannot
-- be inlined (this one has a FROM) is planned again at every call; one statement per branch,
-- so that each uses its index.
CREATE OR REPLACE FUNCTION taskq.fair_head(queue text, priority smallint,
                                           concurrency_key text DEFAULT NULL)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
-- The plan must be the ordered index scan whatever the statistics say: a plan made while the
-- table is empty (after a TRUNCATE, or a VACUUM of a drained queue) would otherwise be a
-- sequential scan and a sort, kept for the session while the line grows to thousands (it made
-- every submit of a burst scan the whole backlog). With these off, an index that yields the
-- order is the only plan left.
SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off AS $$
BEGIN
  IF fair_head.concurrency_key IS NULL THEN
    RETURN (SELECT h.run_at FROM taskq.tasks h
             WHERE h.queue = fair_head.queue AND h.state = 'queued' AND h.concurrency_key IS NULL
               AND h.priority = fair_head.priority
             ORDER BY h.priority DESC, h.run_at, h.id LIMIT 1);
  END IF;
  RETURN (SELECT h.run_at FROM taskq.tasks h
           WHERE h.queue = fair_head.queue AND h.state = 'queued'
             AND h.concurrency_key = fair_head.concurrency_key
             AND h.priority = fair_head.priority
           ORDER BY h.priority DESC, h.run_at, h.id LIMIT 1);
END $$;

-- How far an owner's virtual clock moves per task it submits: 100 µs / its weight
-- (taskq.owner_weights; 1 without a row), at least 1 µs. The fair place of the owner's next
-- task is its previous one's plus this step, so under saturation owners start tasks in the
-- ratio of their weights (weights 3 and 1: steps of 33 and 100 µs). PL/pgSQL so that the
-- plan of its lookup is kept for the session.
CREATE OR REPLACE FUNCTION taskq.fair_step(owner text) RETURNS interval
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN make_interval(secs => greatest(1, round(100 / coalesce(
           (SELECT w.weight FROM taskq.owner_weights w WHERE w.owner = fair_step.owner), 1)))
         / 1e6);
END $$;

-- A new task's place in line (its run_at): the one rule every submit follows, taskq.submit,
-- taskq.insert_tasks and taskq-fcgi's INSERTs (lib/store/submit.c) alike. Delayed tasks, and all of
-- them unless fair, run at now() + delay_s. Fair ones (start-time fair queueing across
-- owners, taskq-fcgi with auth on): at after, the place of the owner's previous task in this
-- line (queue, priority and concurrency key) plus the owner's step (taskq.fair_step; the
-- caller remembers the place, fcgi/fair.c), but never before the head of the line nor after
-- now(). A flood from one owner then takes one slot per step of line while another owner's
-- task lands at the head, so owners alternate, in the ratio of their weights. A keyed task's line is its key's: a claim takes a key's tasks in
-- run_at order within a priority, so owners alternate within the key too.
-- LANGUAGE sql, one expression, no FROM: the planner inlines it into the calling statement,
-- so a submit pays nothing for the call, and one that is not fair never looks up the head
-- (CASE evaluates the branch it takes only).
CREATE OR REPLACE FUNCTION taskq.fair_place(delay_s float8, fair boolean, head timestamptz,
                                            after timestamptz)
RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN delay_s > 0 OR NOT fair THEN now() + make_interval(secs => delay_s)
              ELSE least(now(), greatest(head, after)) END
$$;

-- fair_place with the head looked up here: for one task (taskq.submit, taskq-fcgi's INSERTs).
-- A statement that inserts many looks each line's head up once (taskq.insert_tasks): the
-- rows it inserts are not visible to its own lookups, so the head is the same for all of them.
CREATE OR REPLACE FUNCTION taskq.fair_run_at(queue text, priority smallint, delay_s float8,
                                             fair boolean, after timestamptz,
                                             concurrency_key text DEFAULT NULL)
RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT taskq.fair_place(delay_s, fair,
                          CASE WHEN delay_s > 0 OR NOT fair THEN NULL
                               ELSE taskq.fair_head(queue, priority, concurrency_key) END, after)
$$;

-- "tasks[3]: " before a message about element 3 of a batch; nothing for a single submit, so
-- that one error text serves both.
CREATE OR REPLACE FUNCTION taskq.label_of(label text, i integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN label IS NULL THEN '' ELSE format('%s[%s]: ', label, i) END
$$;

-- The insert behind submit_many, a submit with parents and follow-ups: one statement inserts
-- every row (ids made first, so that each row is known by its place); then the elements with
-- parents are linked in the order of the array, so that an index names an element linked
-- already. label prefixes messages about element i ("tasks[i]: "; NULL: none, for a single
-- submit). creator: see taskq.link_parents. fair and fair_after (taskq-fcgi's place in line
-- for the element's owner, see taskq.fair_run_at) are left out by SQL callers; element i of a
-- fair batch goes i + 1 of the owner's steps after fair_after (see step below).
-- An element may bring its id (a submit, not a follow-up: creator is NULL). taskq-fcgi and the
-- CLI make them before they send the statement, so that they can send it again when their
-- connection died before the answer came: an element whose id is already a task of the owner
-- stands for that task (the first try committed it), which is neither inserted nor linked
-- again and counts as created. An id of another owner's task is refused.
CREATE OR REPLACE FUNCTION taskq.insert_tasks(tasks jsonb, owner text, notify boolean,
                                              parent_owner text, creator uuid, label text)
RETURNS TABLE (ord integer, id uuid, created boolean, queue text, priority smallint,
               run_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  who text := coalesce(insert_tasks.owner, 'anonymous');
  -- the owner's step in line (taskq.fair_step): a batch's fair elements go one step apart,
  -- after the owner's last place, or else from the head of their line (the first at the
  -- head), or else ending at now() in an empty line; never all at one place, where a later
  -- owner's first task would land behind every one of them
  step interval := taskq.fair_step(who);
  bad record;
  el record;
  ids uuid[];
  made boolean[];
  keys text[];
  got uuid[];
  before boolean[];
  taken text;
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
    RAISE EXCEPTION '%unknown task kind %', taskq.label_of(label, bad.i::integer), coalesce(bad.kind, '(none)')
      USING ERRCODE = '22023';
  END IF;
  -- a task that waits for a signal before its first run (functions/signals.sql); not with
  -- parents, which hold it back already
  FOR bad IN SELECT (e.o - 1)::integer AS i, e.v FROM jsonb_array_elements(tasks) WITH ORDINALITY AS e(v, o)
              WHERE e.v ? 'wait_for' AND e.v->'wait_for' <> 'null'
  LOOP
    PERFORM taskq.check_wait_for(bad.v->'wait_for', label, bad.i);
    IF bad.v ? 'after' THEN
      RAISE EXCEPTION '%wait_for cannot be combined with after', taskq.label_of(label, bad.i)
        USING ERRCODE = '22023';
    END IF;
  END LOOP;
  SELECT e.o - 1 AS i INTO bad
    FROM jsonb_array_elements(tasks) WITH ORDINALITY AS e(v, o)
   WHERE coalesce(e.v->'ordering', 'null') <> 'null'
     AND (e.v->'ordering' <> '"strict"' OR e.v->>'concurrency_key' IS NULL)
   ORDER BY e.o LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION '%ordering must be "strict" (with a concurrency_key) or null',
      taskq.label_of(label, bad.i::integer) USING ERRCODE = '22023';
  END IF;
  SELECT e.o - 1 AS i, taskq.flow_refusal(e.v) AS why INTO bad
    FROM jsonb_array_elements(tasks) WITH ORDINALITY AS e(v, o)
   WHERE e.v ?| '{debounce_ms,max_delay_ms,on_conflict,start_by_s}'
     AND taskq.flow_refusal(e.v) IS NOT NULL
   ORDER BY e.o LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION '%', taskq.label_of(label, bad.i::integer) || bad.why USING ERRCODE = '22023';
  END IF;
  -- supersede: the live holder of each such element's key is cancelled first (running ones
  -- cooperatively, as taskq.cancel does), one key at a time under a lock of its own so that
  -- two supersedes of one key queue behind each other; not again by a second try whose
  -- first one committed (its element's id is a task already)
  FOR el IN SELECT DISTINCT ON (e.v->>'dedupe_key') e.v->>'dedupe_key' AS dkey,
                   CASE WHEN creator IS NULL THEN (e.v->>'id')::uuid END AS id
              FROM jsonb_array_elements(tasks) AS e(v)
             WHERE e.v->>'on_conflict' = 'supersede'
             ORDER BY e.v->>'dedupe_key'
  LOOP
    CONTINUE WHEN el.id IS NOT NULL AND EXISTS (SELECT 1 FROM taskq.tasks x WHERE x.id = el.id);
    PERFORM pg_advisory_xact_lock(taskq.pause_lock_key() + 1, hashtext(who || '/' || el.dkey));
    PERFORM taskq.supersede(x.id) FROM taskq.tasks x
      WHERE x.owner = who AND x.dedupe_key = el.dkey AND x.state IN ('queued', 'running');
  END LOOP;

  -- one statement inserts them all (ids made first, so that each row is known by its place)
  WITH src AS MATERIALIZED (
    SELECT (e.o - 1)::integer AS i,
           coalesce(CASE WHEN creator IS NULL THEN (e.v->>'id')::uuid END, taskq.uuid_v7()) AS id,
           e.v->>'kind' AS kind,
           coalesce(e.v->'payload', '{}') AS payload, coalesce(e.v->>'queue', 'default') AS q,
           coalesce((e.v->>'priority')::smallint, 0) AS prio,
           coalesce((e.v->>'debounce_ms')::float8 / 1000, (e.v->>'delay_s')::float8, 0) AS delay_s,
           (e.v->>'start_by_s')::integer AS start_by_s,
           now() + make_interval(secs => (e.v->>'max_delay_ms')::float8 / 1000) AS debounce_limit,
           coalesce((e.v->>'max_attempts')::integer, 3) AS max_attempts,
           (e.v->>'timeout_s')::integer AS timeout_s, e.v->>'dedupe_key' AS dedupe_key,
           e.v->>'concurrency_key' AS concurrency_key, e.v->>'callback_url' AS callback_url,
           e.v->>'ordering' AS ordering,
           coalesce((e.v->>'fair')::boolean, false) AS fair,
           (e.v->>'fair_after')::timestamptz AS fair_after,
           nullif(e.v->'wait_for', 'null') AS wait_for,
           -- the element's rank among the batch's elements of its line, and their number
           (row_number() OVER (line ORDER BY e.o) - 1)::integer AS r, count(*) OVER line AS n_line
      FROM jsonb_array_elements(tasks) WITH ORDINALITY AS e(v, o)
    WINDOW line AS (PARTITION BY coalesce(e.v->>'queue', 'default'),
                                 coalesce((e.v->>'priority')::smallint, 0), e.v->>'concurrency_key')
  ), heads AS MATERIALIZED (
    -- each line's head once (see taskq.fair_run_at), not once per fair element
    SELECT d.q, d.prio, d.ckey, taskq.fair_head(d.q, d.prio::smallint, d.ckey) AS head
      FROM (SELECT DISTINCT s.q, s.prio, s.concurrency_key AS ckey FROM src s
             WHERE s.fair AND s.delay_s <= 0) d
  ), ins AS (
    INSERT INTO taskq.tasks AS t (id, kind, payload, queue, priority, run_at, max_attempts,
                                  timeout_s, dedupe_key, concurrency_key, owner, callback_url,
                                  ordering, strict_seq, start_by_s, debounce_limit,
                                  state, waiting_for, wait_until)
    SELECT s.id, s.kind, s.payload, s.q, s.prio,
           least(taskq.fair_place(s.delay_s, s.fair, h.head,
                                  coalesce(s.fair_after + (s.i + 1) * step, h.head + s.r * step,
                                           now() - (s.n_line - s.r) * step)),
                 s.debounce_limit),
           s.max_attempts, s.timeout_s, s.dedupe_key, s.concurrency_key, who, s.callback_url,
           s.ordering, CASE WHEN s.ordering = 'strict' THEN nextval('taskq.strict_seq') END,
           s.start_by_s, s.debounce_limit,
           CASE WHEN s.wait_for IS NULL THEN 'queued' ELSE 'waiting' END::taskq.state,
           CASE WHEN s.wait_for IS NOT NULL
                THEN taskq.waiting_for(s.wait_for->>'signal', s.wait_until, s.wait_for->>'on_timeout')
           END,
           s.wait_until
      FROM (SELECT x.*, now() + make_interval(secs => (x.wait_for->>'timeout_s')::float8) AS wait_until
              FROM src x) s
      LEFT JOIN heads h ON h.q = s.q AND h.prio = s.prio
                       AND h.ckey IS NOT DISTINCT FROM s.concurrency_key
     ORDER BY s.i
    -- a live task holding the dedupe key, or the element's own id inserted by a first try
    ON CONFLICT DO NOTHING
    RETURNING t.id
  )
  SELECT array_agg(s.id ORDER BY s.i), array_agg(i.id IS NOT NULL ORDER BY s.i),
         array_agg(s.dedupe_key ORDER BY s.i)
    INTO ids, made, keys
    FROM src s LEFT JOIN ins i ON i.id = s.id;

  -- the task each element stands for, from a statement that sees the rows just inserted (and
  -- those of a first try that committed while the insert waited on their ids): its own, the
  -- one a first try inserted under its id, or the live one that holds its dedupe key (before,
  -- or by an earlier element)
  SELECT array_agg(CASE WHEN a.made THEN a.id ELSE coalesce(p.id, h.id) END ORDER BY a.o),
         array_agg(p.id IS NOT NULL ORDER BY a.o), min(p.id::text) FILTER (WHERE p.owner IS DISTINCT FROM who)
    INTO got, before, taken
    FROM unnest(ids, made, keys) WITH ORDINALITY AS a(id, made, dkey, o)
    LEFT JOIN LATERAL (SELECT x.id, x.owner FROM taskq.tasks x
                        WHERE NOT a.made AND x.id = a.id) p ON true
    LEFT JOIN LATERAL (
      SELECT x.id FROM taskq.tasks x
       WHERE NOT a.made AND x.owner = who AND x.dedupe_key = a.dkey
         AND x.state IN ('queued', 'running')
      UNION ALL
      -- the holder finished between the insert and this statement: the latest with the key
      (SELECT x.id FROM taskq.tasks x
        WHERE NOT a.made AND x.owner = who AND x.dedupe_key = a.dkey
        ORDER BY x.id DESC LIMIT 1)
      LIMIT 1) h ON p.id IS NULL;
  IF taken IS NOT NULL THEN
    RAISE EXCEPTION 'task id % is taken', taken USING ERRCODE = '23505';
  END IF;
  -- debounce: an element that found a queued holder of its key moves the holder's start to
  -- now + debounce_ms (never past the holder's debounce_limit) and gives it its payload; a
  -- later element of the same key wins (the array's order)
  IF EXISTS (SELECT 1 FROM jsonb_array_elements(tasks) AS e(v) WHERE e.v ? 'debounce_ms') THEN
    PERFORM taskq.debounce(a.id, tasks->(a.o::integer - 1))
       FROM unnest(got, made, before) WITH ORDINALITY AS a(id, made, before, o)
      WHERE NOT a.made AND NOT a.before AND tasks->(a.o::integer - 1) ? 'debounce_ms'
      ORDER BY a.o;
  END IF;

  IF creator IS NOT NULL
     OR EXISTS (SELECT 1 FROM jsonb_array_elements(tasks) AS e(v) WHERE e.v ?| '{after,after_policy}') THEN
    FOR el IN SELECT (e.o - 1)::integer AS i, e.v FROM jsonb_array_elements(tasks) WITH ORDINALITY AS e(v, o)
               ORDER BY e.o
    LOOP
      -- a dedupe hit (the live task keeps its own parents) or a first try's row (linked then)
      CONTINUE WHEN NOT made[el.i + 1];
      PERFORM taskq.link_parents(ids[el.i + 1], el.v, el.i, got, parent_owner, creator, label);
    END LOOP;
  END IF;

  RETURN QUERY
  SELECT (a.o - 1)::integer, x.id, a.made OR a.before, x.queue, x.priority, x.run_at
    FROM unnest(got, made, before) WITH ORDINALITY AS a(id, made, before, o)
    JOIN taskq.tasks x ON x.id = a.id
   ORDER BY a.o;
  IF notify AND true = ANY (made) THEN
    PERFORM pg_notify('taskq_wake', '');
  END IF;
END $$;

-- Many tasks in one statement. tasks is a JSON array of objects with the fields of
-- POST /api/tasks (kind required; payload, queue, priority, delay_s, max_attempts, timeout_s,
-- dedupe_key, concurrency_key, callback_url, after, after_policy, ordering, debounce_ms,
-- max_delay_ms, on_conflict, start_by_s optional, with the same defaults). All or nothing: a
-- bad element (unknown kind, a value out of range) raises an error whose message starts with
-- "tasks[i]: " and nothing is inserted. A dedupe key that a
-- live task of the owner already holds (or an earlier element of the same batch) gives that
-- task's id with created = false, as a single submit answers 200. The rows come back in the
-- order of the array. taskq-fcgi calls it with notify => false (it wakes the workers on its
-- own connection, at most once a millisecond). parent_owner: when not NULL, every parent must
-- be that owner's (taskq-fcgi passes the owner of a token that is not an admin's). An element
-- may name its id (a UUID the caller made): sent again after a lost connection, the batch then
-- inserts nothing twice (see taskq.insert_tasks).
CREATE OR REPLACE FUNCTION taskq.submit_many(tasks jsonb, owner text DEFAULT 'anonymous',
                                             notify boolean DEFAULT true,
                                             parent_owner text DEFAULT NULL)
RETURNS TABLE (ord integer, id uuid, created boolean, queue text, priority smallint,
               run_at timestamptz)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY SELECT * FROM taskq.insert_tasks(tasks, owner, notify, parent_owner, NULL, 'tasks');
END $$;

-- Submit from SQL, inside the caller's own transaction. Returns the new task's id, or the id
-- of the unfinished task with the same owner and dedupe_key. Wakes workers with one NOTIFY,
-- which PostgreSQL folds to one per transaction however many tasks it submits. With after
-- (parent ids), debounce_ms or on_conflict it goes through taskq.insert_tasks, which links
-- parents, debounces and supersedes (functions/flow.sql), and so does a strict one (ordering
-- 'strict', with a concurrency_key: started in submit order, see claim.sql); otherwise one
-- INSERT. start_by_s: the task is cancelled, never started, when not started that many
-- seconds after it became runnable. wait_for ({"signal", "timeout_s"?, "on_timeout"?}): it
-- waits for that signal before its first run (functions/signals.sql), also through
-- taskq.insert_tasks.
CREATE OR REPLACE FUNCTION taskq.submit(
  kind text,
  payload jsonb DEFAULT '{}',
  queue text DEFAULT 'default',
  priority integer DEFAULT 0,
  delay_s double precision DEFAULT 0,
  max_attempts integer DEFAULT 3,
  timeout_s integer DEFAULT NULL,
  dedupe_key text DEFAULT NULL,
  concurrency_key text DEFAULT NULL,
  owner text DEFAULT 'anonymous',
  after uuid[] DEFAULT NULL,
  after_policy text DEFAULT NULL,
  ordering text DEFAULT NULL,
  debounce_ms integer DEFAULT NULL,
  max_delay_ms integer DEFAULT NULL,
  on_conflict text DEFAULT NULL,
  start_by_s integer DEFAULT NULL,
  wait_for jsonb DEFAULT NULL
) RETURNS uuid
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  new_id uuid;
  el jsonb;
  why text;
BEGIN
  IF cardinality(submit.after) > 0 OR submit.ordering IS NOT NULL
     OR submit.debounce_ms IS NOT NULL OR submit.max_delay_ms IS NOT NULL
     OR submit.on_conflict IS NOT NULL OR submit.wait_for IS NOT NULL THEN
    SELECT jsonb_object_agg(f.key, f.value) INTO el
      FROM jsonb_each(jsonb_build_object(
             'kind', submit.kind, 'payload', coalesce(submit.payload, '{}'), 'queue', submit.queue,
             'priority', submit.priority, 'delay_s', submit.delay_s,
             'max_attempts', submit.max_attempts, 'timeout_s', submit.timeout_s,
             'dedupe_key', submit.dedupe_key, 'concurrency_key', submit.concurrency_key,
             'after', to_jsonb(submit.after), 'after_policy', submit.after_policy,
             'ordering', submit.ordering,
             'debounce_ms', submit.debounce_ms, 'max_delay_ms', submit.max_delay_ms,
             'on_conflict', submit.on_conflict, 'start_by_s', submit.start_by_s,
             'wait_for', submit.wait_for)) AS f
     WHERE f.value <> 'null' AND NOT (f.key = 'after' AND f.value = '[]');
    FOR tries IN 1..5 LOOP
      SELECT s.id INTO new_id
        FROM taskq.insert_tasks(jsonb_build_array(el), submit.owner, true, NULL, NULL, NULL) AS s;
      IF new_id IS NOT NULL THEN
        RETURN new_id;
      END IF;
      -- the live task that held the dedupe key finished in between: insert again
    END LOOP;
    RAISE EXCEPTION 'dedupe key kept changing hands';
  END IF;
  IF submit.start_by_s IS NOT NULL THEN
    why := taskq.flow_refusal(jsonb_build_object('start_by_s', submit.start_by_s));
    IF why IS NOT NULL THEN
      RAISE EXCEPTION '%', why USING ERRCODE = '22023';
    END IF;
  END IF;
  IF submit.after_policy IS NOT NULL THEN
    RAISE EXCEPTION 'after_policy needs after' USING ERRCODE = '22023';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM taskq.kinds k WHERE k.name = submit.kind) THEN
    RAISE EXCEPTION 'unknown task kind %', submit.kind USING ERRCODE = '22023';
  END IF;
  LOOP
    INSERT INTO taskq.tasks AS t (kind, payload, queue, priority, run_at, max_attempts,
                                  timeout_s, dedupe_key, concurrency_key, owner, start_by_s)
    VALUES (submit.kind, coalesce(submit.payload, '{}'), coalesce(submit.queue, 'default'),
            coalesce(submit.priority, 0),
            taskq.fair_run_at(coalesce(submit.queue, 'default'),
                              coalesce(submit.priority, 0)::smallint, coalesce(submit.delay_s, 0),
                              false, NULL),
            coalesce(submit.max_attempts, 3), submit.timeout_s, submit.dedupe_key,
            submit.concurrency_key, coalesce(submit.owner, 'anonymous'), submit.start_by_s)
    ON CONFLICT (owner, dedupe_key) WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running')
    DO NOTHING
    RETURNING t.id INTO new_id;
    IF new_id IS NOT NULL THEN
      PERFORM pg_notify('taskq_wake', '');
      RETURN new_id;
    END IF;
    SELECT t.id INTO new_id FROM taskq.tasks t
     WHERE t.owner = coalesce(submit.owner, 'anonymous') AND t.dedupe_key = submit.dedupe_key
       AND t.state IN ('queued', 'running');
    IF new_id IS NOT NULL THEN
      RETURN new_id;
    END IF;
    -- the duplicate finished between the two statements: insert again
  END LOOP;
END $$;
