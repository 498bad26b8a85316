-- functions/output.sql: streamed output, the chunks of text a running task appends apart
-- from its progress (tables: schema/029_output.sql). Writes come in batches from the
-- workers' output flushers (worker/output.c), fenced by the attempt; reads page by seq.

-- The output flushes of a worker: for each (id, attempt) pair it holds, chunks -> (n - 1) is
-- the JSON array of strings the task appended since the last flush, in order. Each chunk
-- gets the task's next seq. The output a task keeps is capped at cap octets (over all its
-- attempts): the first chunk that would pass it, and every later one, is dropped, and one
-- marker row (data '', truncated) follows the last chunk kept; overs[n]: the worker dropped
-- chunks of this task already (its buffer was past the cap). Returns the ids of the tasks
-- whose output is capped now, so the worker drops their further output at once. Sends the
-- ids that got rows on channel taskq_output (taskq-fcgi's watcher publishes them to the
-- output streams), in chunks of 200 ids, from the flusher's own connection.
CREATE OR REPLACE FUNCTION taskq.output_many(worker text, ids uuid[], atts integer[],
                                             chunks jsonb, overs boolean[], cap bigint)
RETURNS SETOF uuid
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  h taskq.task_output_heads;
  kept integer;
  added bigint;
  capped boolean;
  written uuid[] := '{}';
BEGIN
  FOR r IN
    SELECT u.id AS tid, u.att, u.over, u.n
      FROM unnest(ids, atts, overs) WITH ORDINALITY AS u(id, att, over, n)
      JOIN taskq.tasks t ON t.id = u.id
     WHERE t.worker_id = worker AND t.attempts = u.att AND t.state = 'running'
     ORDER BY u.id
  LOOP
    INSERT INTO taskq.task_output_heads AS x (task_id) VALUES (r.tid)
    ON CONFLICT (task_id) DO UPDATE SET last_seq = x.last_seq
    RETURNING x.* INTO h;
    IF h.truncated THEN
      RETURN NEXT r.tid;
      CONTINUE;
    END IF;
    WITH c AS (
      SELECT e.data, e.k, sum(octet_length(e.data)) OVER (ORDER BY e.k) AS upto
        FROM jsonb_array_elements_text(chunks -> (r.n - 1)::int) WITH ORDINALITY AS e(data, k)
    ), ins AS (
      INSERT INTO taskq.task_output (task_id, seq, attempt, data)
      SELECT r.tid, h.last_seq + c.k, r.att, c.data FROM c WHERE h.bytes + c.upto <= cap
      RETURNING octet_length(data) AS len
    )
    SELECT count(*), coalesce(sum(ins.len), 0) INTO kept, added FROM ins;
    capped := r.over OR kept < jsonb_array_length(chunks -> (r.n - 1)::int);
    IF capped THEN
      INSERT INTO taskq.task_output (task_id, seq, attempt, data, truncated)
      VALUES (r.tid, h.last_seq + kept + 1, r.att, '', true);
      RETURN NEXT r.tid;
    END IF;
    UPDATE taskq.task_output_heads x
       SET last_seq = h.last_seq + kept + capped::int, bytes = h.bytes + added, truncated = capped
     WHERE x.task_id = r.tid;
    IF kept > 0 OR capped THEN
      written := written || r.tid;
    END IF;
  END LOOP;
  PERFORM pg_notify('taskq_output', c.ids)
     FROM (SELECT (u.n - 1) / 200 AS chunk, string_agg(u.id::text, ',' ORDER BY u.n) AS ids
             FROM unnest(written) WITH ORDINALITY AS u(id, n)
            GROUP BY 1 ORDER BY 1) c;
END $$;

-- A page of a task's output (GET /api/tasks/{id}/output): up to lim chunks after after_seq,
-- in seq order, each row also saying whether the task's output was capped and its last seq.
-- Always at least one row: without chunks, one whose seq is NULL.
CREATE OR REPLACE FUNCTION taskq.output_page(task uuid, after_seq bigint, lim integer)
RETURNS TABLE (seq bigint, attempt integer, data text, at timestamptz, truncated boolean,
               output_truncated boolean, last_seq bigint)
LANGUAGE sql STABLE AS $$
  SELECT o.seq, o.attempt, o.data, o.at, o.truncated, coalesce(h.truncated, false),
         coalesce(h.last_seq, 0)
    FROM (SELECT 1) one
    LEFT JOIN taskq.task_output_heads h ON h.task_id = task
    LEFT JOIN LATERAL (SELECT x.seq, x.attempt, x.data, x.at, x.truncated
                         FROM taskq.task_output x
                        WHERE x.task_id = task AND x.seq > after_seq
                        ORDER BY x.seq LIMIT lim) o ON true
   ORDER BY o.seq
$$;

-- What taskq-fcgi's publisher sends to the output streams (fcgi/bg/outpub.c): for each task
-- of ids, the chunks after afters[n] (at most lim of them; a negative after: after the task's
-- last seq now, for a publisher that adopts streams it knows nothing of), with the task's
-- state and last seq; a task without new chunks gives one row whose seq is NULL (state NULL:
-- the task is gone).
CREATE OR REPLACE FUNCTION taskq.output_since(ids uuid[], afters bigint[], lim integer)
RETURNS TABLE (task_id uuid, state text, seq bigint, attempt integer, data text,
               at timestamptz, truncated boolean, last_seq bigint)
LANGUAGE sql STABLE AS $$
  SELECT u.id, t.state::text, o.seq, o.attempt, o.data, o.at, o.truncated,
         coalesce(h.last_seq, 0)
    FROM unnest(ids, afters) AS u(id, after_seq)
    LEFT JOIN taskq.tasks t ON t.id = u.id
    LEFT JOIN taskq.task_output_heads h ON h.task_id = u.id
    LEFT JOIN LATERAL (SELECT x.seq, x.attempt, x.data, x.at, x.truncated
                         FROM taskq.task_output x
                        WHERE x.task_id = u.id
                          AND x.seq > CASE WHEN u.after_seq < 0 THEN coalesce(h.last_seq, 0)
                                           ELSE u.after_seq END
                        ORDER BY x.seq LIMIT lim) o ON true
   ORDER BY u.id, o.seq
$$;
