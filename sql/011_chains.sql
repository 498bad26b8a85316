-- taskq schema, version 11: chains, fan-in and follow-ups.
--
-- 1. A task may name parents when it is submitted (after: up to 100 task ids; in a batch also
--    the index of an earlier element). It waits, queued but blocked, until every parent has
--    succeeded, and is ready at once when the last one does. A parent that fails or is
--    cancelled cancels its waiting children (error "parent <id> failed: …"), and they theirs;
--    with after_policy 'always' a child runs anyway once every parent has finished. A parent
--    must exist before a child can name it, so no chain can form a cycle.
--
--    Blocked is state 'queued' with run_at 'infinity': every claim asks run_at <= now(), so
--    the claim and the ready index need no change. pending_parents counts the parents not
--    finished yet; taskq.task_deps holds one row per such (parent, child) edge, and only while
--    the parent is unfinished: the parent's final state deletes its edges (so an edge is
--    settled exactly once, whatever later retries do) and settles the children in the same
--    transaction. has_children marks the parents that have edges, so that the trigger doing
--    it is not even called for the others (its WHEN clause is checked first).
--
-- 2. A task's result may carry {"enqueue": [task, …]} at its top level: the follow-up tasks
--    are inserted by the transaction that records the success, which is fenced by worker and
--    attempt (version 5), so a worker that dies at any moment loses none and a replay after a
--    rescue doubles none. The stored result then holds "enqueued": [ids] instead. A follow-up
--    runs after the task that enqueued it (its first parent, already succeeded: its result is
--    readable by the follow-up like any parent's) and after whatever else its own after names.
--
-- Locks: naming a parent locks its row (FOR NO KEY UPDATE, in id order) until the submitting
-- transaction ends, so a parent finishing at that moment either is seen finished or sees the
-- new edge. Keep transactions that name running parents short: the parent's progress writes
-- and its completion wait for them (the heartbeat skips such rows and renews them next time).

ALTER TABLE taskq.tasks
  ADD COLUMN parents uuid[],                       -- NULL: none
  ADD COLUMN pending_parents integer NOT NULL DEFAULT 0,
  ADD COLUMN after_policy text CHECK (after_policy IN ('success', 'always')),
  ADD COLUMN after_delay_s double precision,       -- delay_s of a child, counted from its release
  ADD COLUMN has_children boolean NOT NULL DEFAULT false;

-- The unsettled edges, looked up by parent when it finishes. (A child's own list is its
-- parents column; an edge whose child was pruned meanwhile settles nothing.)
CREATE TABLE taskq.task_deps (
  parent uuid NOT NULL,
  child  uuid NOT NULL,
  PRIMARY KEY (parent, child)
);

-- "tasks[3]: " before a message about element 3 of a batch; nothing for a single submit.
CREATE FUNCTION taskq.label_of(label text, i integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN label IS NULL THEN '' ELSE format('%s[%s]: ', label, i) END
$$;

CREATE FUNCTION taskq.waiting_message(pending integer, parents uuid[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT format('waiting for %s of %s parent%s', pending, cardinality(parents),
                CASE WHEN cardinality(parents) = 1 THEN '' ELSE 's' END)
$$;

-- Whether v is an integer number within [lo, hi] (the cast only once it is a number).
CREATE FUNCTION taskq.json_int_between(v jsonb, lo integer, hi integer) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN jsonb_typeof(v) = 'number'
              THEN v::numeric = trunc(v::numeric) AND v::numeric BETWEEN lo AND hi
              ELSE false END
$$;

-- ---- naming parents ---------------------------------------------------------------------

-- Gives a task just inserted by taskq.insert_tasks (element i of its batch, el) its parents:
-- the ids and earlier indexes (resolved through batch, the ids the elements stand for) of
-- el's after, plus creator (the task whose result enqueued it) when not NULL. Parents are
-- locked in id order; an unknown one, or one of another owner when parent_owner is set, is
-- "no such parent task". A failed or cancelled parent cancels the child at once, unless its
-- after_policy is 'always'; unfinished ones block it and get an edge each.
CREATE FUNCTION taskq.link_parents(child uuid, el jsonb, i integer, batch uuid[],
                                   parent_owner text, creator uuid, label text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  pre text := taskq.label_of(label, i);
  list jsonb := nullif(el->'after', 'null');
  policy text := coalesce(el->>'after_policy', 'success');
  want uuid[] := CASE WHEN creator IS NULL THEN '{}'::uuid[] ELSE ARRAY[creator] END;
  waiting uuid[] := '{}';
  a jsonb;
  k integer := 0;
  pid uuid;
  p record;
  seen integer := 0;
  why text;
  cancel boolean;
  q text;
BEGIN
  IF policy NOT IN ('success', 'always') THEN
    RAISE EXCEPTION '%after_policy must be "success" or "always"', pre USING ERRCODE = '22023';
  END IF;
  IF list IS NULL AND creator IS NULL THEN
    IF el ? 'after_policy' THEN
      RAISE EXCEPTION '%after_policy needs after', pre USING ERRCODE = '22023';
    END IF;
    RETURN;
  END IF;
  IF list IS NOT NULL AND (CASE WHEN jsonb_typeof(list) = 'array'
                                THEN jsonb_array_length(list) NOT BETWEEN 1 AND 100 ELSE true END) THEN
    RAISE EXCEPTION '%after must be an array of 1 to 100 task ids', pre USING ERRCODE = '22023';
  END IF;
  FOR a IN SELECT e FROM jsonb_array_elements(coalesce(list, '[]')) AS e LOOP
    IF taskq.json_int_between(a, 0, 2147483646) THEN
      IF a::numeric >= i THEN
        RAISE EXCEPTION '%after[%] = % is not the index of an earlier task of the batch (a task runs only after tasks that exist before it)',
          pre, k, a USING ERRCODE = '22023';
      END IF;
      pid := batch[a::integer + 1];
      IF pid IS NULL THEN
        RAISE EXCEPTION '%after[%]: task % of the batch finished meanwhile; send the batch again',
          pre, k, a USING ERRCODE = '22023';
      END IF;
    ELSIF jsonb_typeof(a) = 'string'
          AND (a #>> '{}') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
      pid := (a #>> '{}')::uuid;
    ELSE
      RAISE EXCEPTION '%after[%] must be a task id (or, in a batch, the index of an earlier task)',
        pre, k USING ERRCODE = '22023';
    END IF;
    IF pid = child THEN
      RAISE EXCEPTION '%after[%]: a task cannot run after itself', pre, k USING ERRCODE = '22023';
    END IF;
    IF NOT pid = ANY (want) THEN
      want := want || pid;
    END IF;
    k := k + 1;
  END LOOP;

  -- in id order, as every submitter does: two of them never wait for each other crosswise
  FOR p IN SELECT t.id, t.state, t.owner, t.error FROM taskq.tasks t
            WHERE t.id = ANY (want) ORDER BY t.id FOR NO KEY UPDATE
  LOOP
    seen := seen + 1;
    IF parent_owner IS NOT NULL AND p.owner <> parent_owner THEN
      RAISE EXCEPTION '%no such parent task %', pre, p.id USING ERRCODE = '22023';
    END IF;
    IF p.state IN ('queued', 'running') THEN
      waiting := waiting || p.id;
    ELSIF p.state <> 'succeeded' AND why IS NULL THEN
      why := 'parent ' || p.id || ' ' || p.state::text || coalesce(': ' || left(p.error, 500), '');
    END IF;
  END LOOP;
  IF seen < cardinality(want) THEN
    SELECT w INTO pid FROM unnest(want) AS w
     WHERE NOT EXISTS (SELECT 1 FROM taskq.tasks t WHERE t.id = w) LIMIT 1;
    RAISE EXCEPTION '%no such parent task %', pre, pid USING ERRCODE = '22023';
  END IF;

  cancel := why IS NOT NULL AND policy = 'success';
  -- the row is this transaction's own, inserted a moment ago: no version to bump
  UPDATE taskq.tasks t
     SET parents = want, after_policy = policy, pending_parents = cardinality(waiting),
         after_delay_s = nullif(coalesce((el->>'delay_s')::float8, 0), 0),
         run_at = CASE WHEN cardinality(waiting) > 0 THEN 'infinity' ELSE t.run_at END,
         message = CASE WHEN cardinality(waiting) > 0 AND NOT cancel
                        THEN taskq.waiting_message(cardinality(waiting), want) END,
         state = CASE WHEN cancel THEN 'cancelled'::taskq.state ELSE t.state END,
         finished_at = CASE WHEN cancel THEN now() END,
         error = CASE WHEN cancel THEN why END
   WHERE t.id = child
  RETURNING t.queue INTO q;
  -- a cancelled child keeps its edges too: retried, it waits for what is still unfinished
  IF cardinality(waiting) > 0 THEN
    INSERT INTO taskq.task_deps (parent, child) SELECT w, child FROM unnest(waiting) AS w;
    UPDATE taskq.tasks t SET has_children = true WHERE t.id = ANY (waiting) AND NOT t.has_children;
  END IF;
  IF cancel THEN
    INSERT INTO taskq.task_events (task_id, event, attempt, detail) VALUES (child, 'cancelled', 0, why);
    PERFORM taskq.count_finished(q, 'cancelled', 1);
  END IF;
END $$;

-- submit_many (version 10) with parents: tasks may carry after and after_policy. The rows are
-- inserted as before (one statement); then the elements with parents are linked in the order
-- of the array, so that an index names an element linked already. label prefixes messages
-- about element i ("tasks[i]: "; NULL: none, for a single submit). creator: see link_parents.
CREATE FUNCTION taskq.insert_tasks(tasks jsonb, owner text, notify boolean, parent_owner text,
                                   creator uuid, label text)
RETURNS TABLE (ord integer, id uuid, created boolean, queue text, priority smallint,
               run_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  who text := coalesce(insert_tasks.owner, 'anonymous');
  bad record;
  el record;
  ids uuid[];
  made boolean[];
  keys text[];
  got uuid[];
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

  -- the task each element stands for, from a statement that sees the rows just inserted: its
  -- own, or the live one that holds its dedupe key (before, or by an earlier element)
  SELECT array_agg(CASE WHEN a.made THEN a.id ELSE h.id END ORDER BY a.o) INTO got
    FROM unnest(ids, made, keys) WITH ORDINALITY AS a(id, made, dkey, o)
    LEFT JOIN LATERAL (
      SELECT x.id FROM taskq.tasks x
       WHERE NOT a.made AND x.owner = who AND x.dedupe_key = a.dkey
         AND x.state IN ('queued', 'running')
      UNION ALL
      -- the holder finished between the insert and this statement: the latest with the key
      (SELECT x.id FROM taskq.tasks x
        WHERE NOT a.made AND x.owner = who AND x.dedupe_key = a.dkey
        ORDER BY x.id DESC LIMIT 1)
      LIMIT 1) h ON true;

  IF creator IS NOT NULL
     OR EXISTS (SELECT 1 FROM jsonb_array_elements(tasks) AS e(v) WHERE e.v ?| '{after,after_policy}') THEN
    FOR el IN SELECT (e.o - 1)::integer AS i, e.v FROM jsonb_array_elements(tasks) WITH ORDINALITY AS e(v, o)
               ORDER BY e.o
    LOOP
      CONTINUE WHEN NOT made[el.i + 1];  -- a dedupe hit: the live task keeps its own parents
      PERFORM taskq.link_parents(ids[el.i + 1], el.v, el.i, got, parent_owner, creator, label);
    END LOOP;
  END IF;

  RETURN QUERY
  SELECT (a.o - 1)::integer, x.id, a.made, x.queue, x.priority, x.run_at
    FROM unnest(got, made) WITH ORDINALITY AS a(id, made, o)
    JOIN taskq.tasks x ON x.id = a.id
   ORDER BY a.o;
  IF notify AND true = ANY (made) THEN
    PERFORM pg_notify('taskq_wake', '');
  END IF;
END $$;

-- taskq.submit_many, as in version 10, plus parents: an element may carry after (task ids,
-- and indexes of earlier elements) and after_policy. parent_owner: when not NULL, every
-- parent must be that owner's (taskq-fcgi passes the owner of a token that is not an admin's).
DROP FUNCTION taskq.submit_many(jsonb, text, boolean);
CREATE FUNCTION taskq.submit_many(tasks jsonb, owner text DEFAULT 'anonymous',
                                  notify boolean DEFAULT true, parent_owner text DEFAULT NULL)
RETURNS TABLE (ord integer, id uuid, created boolean, queue text, priority smallint,
               run_at timestamptz)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY SELECT * FROM taskq.insert_tasks(tasks, owner, notify, parent_owner, NULL, 'tasks');
END $$;

-- taskq.submit, as in version 1, plus after (parent ids) and after_policy.
DROP FUNCTION taskq.submit(text, jsonb, text, integer, double precision, integer, integer, text,
                           text, text);
CREATE FUNCTION taskq.submit(
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
  after_policy text DEFAULT NULL
) RETURNS uuid
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  new_id uuid;
  el jsonb;
BEGIN
  IF cardinality(submit.after) > 0 THEN
    SELECT jsonb_object_agg(f.key, f.value) INTO el
      FROM jsonb_each(jsonb_build_object(
             'kind', submit.kind, 'payload', coalesce(submit.payload, '{}'), 'queue', submit.queue,
             'priority', submit.priority, 'delay_s', submit.delay_s,
             'max_attempts', submit.max_attempts, 'timeout_s', submit.timeout_s,
             'dedupe_key', submit.dedupe_key, 'concurrency_key', submit.concurrency_key,
             'after', to_jsonb(submit.after), 'after_policy', submit.after_policy)) AS f
     WHERE f.value <> 'null';
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
  IF submit.after_policy IS NOT NULL THEN
    RAISE EXCEPTION 'after_policy needs after' USING ERRCODE = '22023';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM taskq.kinds k WHERE k.name = submit.kind) THEN
    RAISE EXCEPTION 'unknown task kind %', submit.kind USING ERRCODE = '22023';
  END IF;
  LOOP
    INSERT INTO taskq.tasks AS t (kind, payload, queue, priority, run_at, max_attempts,
                                  timeout_s, dedupe_key, concurrency_key, owner)
    VALUES (submit.kind, coalesce(submit.payload, '{}'), coalesce(submit.queue, 'default'),
            coalesce(submit.priority, 0), now() + make_interval(secs => coalesce(submit.delay_s, 0)),
            coalesce(submit.max_attempts, 3), submit.timeout_s, submit.dedupe_key,
            submit.concurrency_key, coalesce(submit.owner, 'anonymous'))
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

-- ---- a parent finishes -------------------------------------------------------------------

-- Settles the edges of a task that reached a final state: each child counts one parent less;
-- a child whose last parent finished is ready now (plus its own delay); one with a failed or
-- cancelled parent is cancelled (unless after_policy 'always'), which settles its own
-- children in turn. The cascade runs here level by level, not by trigger recursion (a long
-- chain would exhaust the stack): the trigger calls it makes return at once. Children are
-- locked in id order before they change, so transactions settling shared children queue
-- behind one another instead of deadlocking; the count is re-read under the lock, so two
-- parents finishing at the same moment release their child exactly once.
CREATE FUNCTION taskq.parent_finished() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  frontier uuid[] := ARRAY[NEW.id];
  kids uuid[];
  settled integer[];
  whys text[];
  woke integer := 0;
  n integer;
BEGIN
  IF current_setting('taskq.settling', true) = 'on' THEN
    RETURN NULL;  -- a child cancelled by the loop below: the loop settles its children
  END IF;
  PERFORM set_config('taskq.settling', 'on', true);
  LOOP
    WITH gone AS (
      DELETE FROM taskq.task_deps d WHERE d.parent = ANY (frontier) RETURNING d.parent, d.child
    )
    SELECT array_agg(x.child ORDER BY x.child), array_agg(x.k ORDER BY x.child),
           array_agg(x.why ORDER BY x.child)
      INTO kids, settled, whys
      FROM (SELECT g.child, count(*)::integer AS k,
                   min(CASE WHEN p.state <> 'succeeded'
                            THEN 'parent ' || p.id || ' ' || p.state::text
                                 || coalesce(': ' || left(p.error, 500), '') END) AS why
              FROM gone g JOIN taskq.tasks p ON p.id = g.parent
             GROUP BY g.child) x;
    EXIT WHEN kids IS NULL;
    PERFORM 1 FROM taskq.tasks c WHERE c.id = ANY (kids) ORDER BY c.id FOR NO KEY UPDATE;
    WITH plan AS MATERIALIZED (
      SELECT c.id, c.pending_parents - u.k AS left_n, u.why,
             CASE WHEN c.state <> 'queued' THEN 'none'
                  WHEN u.why IS NOT NULL AND c.after_policy IS DISTINCT FROM 'always' THEN 'cancel'
                  WHEN c.pending_parents - u.k <= 0 THEN 'release'
                  ELSE 'wait' END AS act
        FROM unnest(kids, settled, whys) AS u(id, k, why)
        JOIN taskq.tasks c ON c.id = u.id
    ), changed AS (
      UPDATE taskq.tasks c
         SET pending_parents = greatest(p.left_n, 0),
             state = CASE WHEN p.act = 'cancel' THEN 'cancelled'::taskq.state ELSE c.state END,
             finished_at = CASE WHEN p.act = 'cancel' THEN now() ELSE c.finished_at END,
             error = CASE WHEN p.act = 'cancel' THEN p.why ELSE c.error END,
             run_at = CASE WHEN p.act = 'release'
                           THEN now() + make_interval(secs => coalesce(c.after_delay_s, 0))
                           ELSE c.run_at END,
             message = CASE p.act WHEN 'wait' THEN taskq.waiting_message(p.left_n, c.parents)
                                  WHEN 'none' THEN c.message END,
             updated_at = now(), version = c.version + 1
        FROM plan p
       WHERE c.id = p.id
      RETURNING c.id, c.queue, c.attempts, c.has_children, p.act, p.why
    ), ev AS (
      INSERT INTO taskq.task_events (task_id, event, attempt, detail)
      SELECT x.id, CASE x.act WHEN 'cancel' THEN 'cancelled' ELSE 'unblocked' END, x.attempts,
             x.why
        FROM changed x WHERE x.act IN ('cancel', 'release')
    ), counted AS (
      INSERT INTO taskq.counters AS c (queue, state, shard, n)
      SELECT x.queue, 'cancelled', (pg_backend_pid() % 16)::smallint, count(*) FROM changed x
       WHERE x.act = 'cancel'
       GROUP BY x.queue
      ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n
    )
    SELECT coalesce(array_agg(x.id ORDER BY x.id) FILTER (WHERE x.act = 'cancel' AND x.has_children), '{}'),
           count(*) FILTER (WHERE x.act = 'release')
      INTO frontier, n
      FROM changed x;
    woke := woke + n;
    EXIT WHEN cardinality(frontier) = 0;
  END LOOP;
  PERFORM set_config('taskq.settling', '', true);
  IF woke > 0 THEN
    PERFORM pg_notify('taskq_wake', '');
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER tasks_parent_finished
  AFTER UPDATE OF state ON taskq.tasks
  FOR EACH ROW
  WHEN (NEW.has_children AND OLD.state IS DISTINCT FROM NEW.state
        AND NEW.state IN ('succeeded', 'failed', 'cancelled'))
  EXECUTE FUNCTION taskq.parent_finished();

-- ---- follow-ups ---------------------------------------------------------------------------

-- Whether v is an integer number within [lo, hi].

-- Checks one follow-up the way POST /api/tasks checks a body (fields, types, ranges, a
-- registered kind); raises "<label>: <what is wrong>" (SQLSTATE 22023) otherwise.
CREATE FUNCTION taskq.check_task(v jsonb, label text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
  f record;
  bad text;
  name_re constant text := '^[A-Za-z0-9_.:-]{1,64}$';
BEGIN
  IF jsonb_typeof(v) IS DISTINCT FROM 'object' THEN
    RAISE EXCEPTION '%: a task must be a JSON object', label USING ERRCODE = '22023';
  END IF;
  IF NOT v ? 'kind' THEN
    RAISE EXCEPTION '%: kind is required', label USING ERRCODE = '22023';
  END IF;
  FOR f IN SELECT e.key, e.value AS val, jsonb_typeof(e.value) AS t FROM jsonb_each(v) AS e LOOP
    bad := CASE f.key
      WHEN 'kind' THEN
        CASE WHEN f.t <> 'string' OR NOT (f.val #>> '{}') ~ name_re
             THEN 'kind must be 1-64 characters of letters, digits, ''_'', ''.'', '':'' or ''-'''
             WHEN NOT EXISTS (SELECT 1 FROM taskq.kinds k WHERE k.name = f.val #>> '{}')
             THEN format('unknown task kind ''%s''', f.val #>> '{}') END
      WHEN 'payload' THEN
        CASE WHEN f.t NOT IN ('object', 'null') THEN 'payload must be a JSON object' END
      WHEN 'queue' THEN
        CASE WHEN f.t <> 'string' OR NOT (f.val #>> '{}') ~ name_re
             THEN 'queue must be 1-64 characters of letters, digits, ''_'', ''.'', '':'' or ''-''' END
      WHEN 'priority' THEN
        CASE WHEN NOT taskq.json_int_between(f.val, -1000, 1000)
             THEN 'priority must be an integer between -1000 and 1000' END
      WHEN 'delay_s' THEN
        CASE WHEN CASE WHEN f.t = 'number' THEN NOT f.val::numeric BETWEEN 0 AND 31536000
                       ELSE true END
             THEN 'delay_s must be a number between 0 and 31536000' END
      WHEN 'max_attempts' THEN
        CASE WHEN NOT taskq.json_int_between(f.val, 1, 100)
             THEN 'max_attempts must be an integer between 1 and 100' END
      WHEN 'timeout_s' THEN
        CASE WHEN f.t <> 'null' AND NOT taskq.json_int_between(f.val, 1, 86400)
             THEN 'timeout_s must be an integer between 1 and 86400' END
      WHEN 'dedupe_key' THEN
        CASE WHEN f.t <> 'null' AND (f.t <> 'string' OR octet_length(f.val #>> '{}') NOT BETWEEN 1 AND 200)
             THEN 'dedupe_key must be a string of 1-200 bytes' END
      WHEN 'concurrency_key' THEN
        CASE WHEN f.t <> 'null' AND (f.t <> 'string' OR octet_length(f.val #>> '{}') NOT BETWEEN 1 AND 200)
             THEN 'concurrency_key must be a string of 1-200 bytes' END
      WHEN 'callback_url' THEN
        CASE WHEN f.t <> 'null' AND (f.t <> 'string' OR octet_length(f.val #>> '{}') > 2048
                                     OR NOT (f.val #>> '{}') ~ '^https?://[^\x01-\x20\x7f"\\<>]*$')
             THEN 'callback_url must be an http:// or https:// URL of at most 2048 bytes' END
      WHEN 'after' THEN
        CASE WHEN f.t NOT IN ('array', 'null') THEN 'after must be an array of task ids' END
      WHEN 'after_policy' THEN
        CASE WHEN f.t <> 'null' AND f.val NOT IN ('"success"', '"always"')
             THEN 'after_policy must be "success" or "always"' END
      ELSE format('unknown field ''%s''', left(f.key, 64))
    END;
    IF bad IS NOT NULL THEN
      RAISE EXCEPTION '%: %', label, bad USING ERRCODE = '22023';
    END IF;
  END LOOP;
END $$;

-- Inserts the follow-ups of a task that just succeeded with {"enqueue": [...]} in its result
-- (owner: the task's; queue by default the task's; each runs after the task, and after what
-- its own after names: ids of the owner's tasks, indexes of earlier follow-ups) and puts
-- "enqueued": [their ids] in the result instead. Anything wrong with one of them raises
-- (SQLSTATE 22023): the completion then fails as a whole and nothing is inserted, and the
-- worker records the task as failed with that message (see worker/pool.c, result rejected).
-- An AFTER trigger, so that every row of a batched completion is recorded before any
-- follow-up looks at other tasks (a follow-up may name a task completed by the same batch).
CREATE FUNCTION taskq.enqueue_followups() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  list jsonb := NEW.result -> 'enqueue';
  norm jsonb := '[]';
  el jsonb;
  i integer := 0;
  made uuid[];
BEGIN
  IF jsonb_typeof(NEW.result) <> 'object' OR jsonb_typeof(list) = 'null' THEN
    RETURN NULL;
  END IF;
  IF jsonb_typeof(list) <> 'array' OR jsonb_array_length(list) > 1000 THEN
    RAISE EXCEPTION 'enqueue must be an array of at most 1000 tasks' USING ERRCODE = '22023';
  END IF;
  FOR el IN SELECT e FROM jsonb_array_elements(list) AS e LOOP
    PERFORM taskq.check_task(el, format('enqueue[%s]', i));
    IF jsonb_typeof(el->'payload') = 'null' THEN
      el := el - 'payload';
    END IF;
    norm := norm || jsonb_build_array(el || jsonb_build_object('queue', coalesce(el->>'queue', NEW.queue)));
    i := i + 1;
  END LOOP;
  IF i > 0 THEN
    SELECT array_agg(s.id ORDER BY s.ord) INTO made
      FROM taskq.insert_tasks(norm, NEW.owner, true, NEW.owner, NEW.id, 'enqueue') AS s;
  END IF;
  UPDATE taskq.tasks t
     SET result = (t.result - 'enqueue') || jsonb_build_object('enqueued', coalesce(to_jsonb(made), '[]'))
   WHERE t.id = NEW.id;
  RETURN NULL;
END $$;

CREATE TRIGGER tasks_enqueue_followups
  AFTER UPDATE OF state ON taskq.tasks
  FOR EACH ROW
  WHEN (NEW.state = 'succeeded' AND OLD.state IS DISTINCT FROM NEW.state
        AND NEW.result ? 'enqueue')
  EXECUTE FUNCTION taskq.enqueue_followups();

-- ---- what else knows about blocked tasks ----------------------------------------------------

-- The worker's next wake-up: blocked tasks are never due by themselves.
CREATE OR REPLACE FUNCTION taskq.next_run_at(queues text[]) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT min(run_at) FROM taskq.tasks
   WHERE state = 'queued' AND queue = ANY (queues) AND run_at < 'infinity'
$$;

-- Retry (version 2): a child whose parents are not all finished waits for them again.
CREATE OR REPLACE FUNCTION taskq.retry(task uuid, OUT outcome text, OUT t taskq.tasks)
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE taskq.tasks x
     SET state = 'queued', attempts = 0,
         run_at = CASE WHEN x.pending_parents > 0 THEN 'infinity' ELSE now() END,
         cancel_requested = false, progress = 0,
         message = CASE WHEN x.pending_parents > 0
                        THEN taskq.waiting_message(x.pending_parents, x.parents) END,
         error = NULL, result = NULL, started_at = NULL,
         finished_at = NULL, worker_id = NULL, lease_until = NULL,
         updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.state IN ('failed', 'cancelled')
  RETURNING * INTO t;
  IF FOUND THEN
    outcome := 'queued';
    INSERT INTO taskq.task_events (task_id, event, attempt) VALUES (task, 'retried', 0);
    PERFORM pg_notify('taskq_wake', '');
    RETURN;
  END IF;
  SELECT * INTO t FROM taskq.tasks x WHERE x.id = task;
  outcome := CASE WHEN FOUND THEN 'wrong_state' ELSE 'not_found' END;
END $$;

-- Heartbeat (version 8): a running task whose row another transaction holds (one naming it
-- as a parent) is skipped this time instead of stalling every other lease of the worker; the
-- next heartbeat renews it.
CREATE OR REPLACE FUNCTION taskq.heartbeat(worker text, lease_s integer, held uuid[],
                                           held_attempts integer[], host text, pid integer,
                                           version text, queues text, concurrency integer,
                                           metrics jsonb)
RETURNS TABLE (id uuid, cancel_requested boolean)
LANGUAGE plpgsql AS $$
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
           WHERE r.worker_id = worker AND r.state = 'running'
           FOR NO KEY UPDATE OF r SKIP LOCKED) AS mine
   WHERE t.id = mine.id
  RETURNING t.id, t.cancel_requested;
END $$;

-- What a command kind's program gets as TASKQ_PARENTS: the parents of task, in the order it
-- named them, with their kind, state and result (a parent pruned meanwhile is left out).
CREATE FUNCTION taskq.parents_of(task uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', p.id, 'kind', p.kind, 'state', p.state,
                                               'result', p.result) ORDER BY u.o), '[]')
    FROM taskq.tasks c
    CROSS JOIN LATERAL unnest(c.parents) WITH ORDINALITY AS u(pid, o)
    JOIN taskq.tasks p ON p.id = u.pid
   WHERE c.id = task
$$;
