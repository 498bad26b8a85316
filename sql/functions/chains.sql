-- functions/chains.sql: chains, fan-in and follow-ups (the columns and taskq.task_deps:
-- schema/011_chains.sql). Must not insert tasks itself: taskq.insert_tasks (submit.sql) does.
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
--    attempt, so a worker that dies at any moment loses none and a replay after a rescue
--    doubles none. The stored result then holds "enqueued": [ids] instead. A follow-up runs
--    after the task that enqueued it (its first parent, already succeeded: its result is
--    readable by the follow-up like any parent's) and after whatever else its own after names.
--
-- Locks: naming a parent locks its row (FOR NO KEY UPDATE, in id order) until the submitting
-- transaction ends, so a parent finishing at that moment either is seen finished or sees the
-- new edge. Keep transactions that name running parents short: the parent's progress writes
-- and its completion wait for them (the heartbeat skips such rows and renews them next time).

-- The message of a blocked task: the same words wherever a count of parents changes.
CREATE OR REPLACE FUNCTION taskq.waiting_message(pending integer, parents uuid[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT format('waiting for %s of %s parent%s', pending, cardinality(parents),
                CASE WHEN cardinality(parents) = 1 THEN '' ELSE 's' END)
$$;

-- Whether v is an integer number within [lo, hi] (the cast only once it is a number).
CREATE OR REPLACE FUNCTION taskq.json_int_between(v jsonb, lo integer, hi integer) RETURNS boolean
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
CREATE OR REPLACE FUNCTION taskq.link_parents(child uuid, el jsonb, i integer, batch uuid[],
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
  refused boolean;
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

  -- a follow-up over its owner's cap was made failed by its insert (owners.sql): it keeps
  -- its state and error, and gets its parents and edges all the same (retried, it waits for
  -- what is still unfinished)
  SELECT t.state <> 'queued' INTO refused FROM taskq.tasks t WHERE t.id = child;
  cancel := why IS NOT NULL AND policy = 'success' AND NOT refused;
  -- the row is this transaction's own, inserted a moment ago: no version to bump
  UPDATE taskq.tasks t
     SET parents = want, after_policy = policy, pending_parents = cardinality(waiting),
         after_delay_s = nullif(coalesce((el->>'delay_s')::float8, 0), 0),
         run_at = CASE WHEN cardinality(waiting) > 0 AND NOT refused THEN 'infinity'
                       ELSE t.run_at END,
         message = CASE WHEN refused THEN t.message
                        WHEN cardinality(waiting) > 0 AND NOT cancel
                        THEN taskq.waiting_message(cardinality(waiting), want) END,
         state = CASE WHEN cancel THEN 'cancelled'::taskq.state ELSE t.state END,
         finished_at = CASE WHEN refused THEN t.finished_at WHEN cancel THEN now() END,
         error = CASE WHEN refused THEN t.error WHEN cancel THEN why END
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

-- ---- a parent finishes -------------------------------------------------------------------

-- Settles the edges of a task that reached a final state (trigger tasks_parent_finished,
-- triggers.sql): each child counts one parent less; a child whose last parent finished is
-- ready now (plus its own delay); one with a failed or cancelled parent is cancelled (unless
-- after_policy 'always'), which settles its own children in turn. The cascade runs here level
-- by level, not by trigger recursion (a long chain would exhaust the stack): the trigger calls
-- it makes return at once. Children are locked in id order before they change, so
-- transactions settling shared children queue behind one another instead of deadlocking; the
-- count is re-read under the lock, so two parents finishing at the same moment release their
-- child exactly once.
CREATE OR REPLACE FUNCTION taskq.parent_finished() RETURNS trigger
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

-- ---- follow-ups ---------------------------------------------------------------------------

-- Checks one follow-up the way POST /api/tasks checks a body (fields, types, ranges, a
-- registered kind), so that a result cannot enqueue what the API would refuse; raises
-- "<label>: <what is wrong>" (SQLSTATE 22023) otherwise.
CREATE OR REPLACE FUNCTION taskq.check_task(v jsonb, label text) RETURNS void
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
-- Follow-ups that would put the owner over its cap on unfinished tasks (owners.sql) are not
-- an error of the result: they are inserted failed, all of this result's together, with the
-- reason as their error ("refused: owner … may have at most N unfinished …"), and listed in
-- "enqueued" all the same; the task's success stands, and each can be retried later.
-- An AFTER trigger (tasks_enqueue_followups, triggers.sql), so that every row of a batched
-- completion is recorded before any follow-up looks at other tasks (a follow-up may name a
-- task completed by the same batch).
CREATE OR REPLACE FUNCTION taskq.enqueue_followups() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  list jsonb := NEW.result -> 'enqueue';
  norm jsonb := '[]';
  el jsonb;
  i integer := 0;
  made uuid[];
  cap_mode text;
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
    cap_mode := current_setting('taskq.over_cap', true);
    PERFORM set_config('taskq.over_cap', 'fail', true);
    SELECT array_agg(s.id ORDER BY s.ord) INTO made
      FROM taskq.insert_tasks(norm, NEW.owner, true, NEW.owner, NEW.id, 'enqueue') AS s;
    PERFORM set_config('taskq.over_cap', coalesce(cap_mode, ''), true);
  END IF;
  UPDATE taskq.tasks t
     SET result = (t.result - 'enqueue') || jsonb_build_object('enqueued', coalesce(to_jsonb(made), '[]'))
   WHERE t.id = NEW.id;
  RETURN NULL;
END $$;

-- What a command kind's program gets as TASKQ_PARENTS: the parents of task, in the order it
-- named them, with their kind, state and result (a parent pruned meanwhile is left out).
CREATE OR REPLACE FUNCTION taskq.parents_of(task uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', p.id, 'kind', p.kind, 'state', p.state,
                                               'result', p.result) ORDER BY u.o), '[]')
    FROM taskq.tasks c
    CROSS JOIN LATERAL unnest(c.parents) WITH ORDINALITY AS u(pid, o)
    JOIN taskq.tasks p ON p.id = u.pid
   WHERE c.id = task
$$;
