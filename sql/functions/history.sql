-- functions/history.sql: a task's history (taskq.task_history), of which taskq.task_events
-- holds only a part. Must not change tasks; the verbs that store events are in their families'
-- files, and each calls taskq.keep_implied before it stores one.
--
-- A plain attempt (a worker claims the task and records its success, nothing else happens
-- between) stores no event: the task's row already says who claimed it (worker_id), which
-- attempt (attempts), when (started_at) and when it succeeded (finished_at), and those two
-- history rows were a third of the WAL a drained task wrote. The history puts them back: the
-- events stored, then the ones the row implies. The row says them only while that attempt is
-- its last word: a later claim overwrites worker_id and started_at, a failure clears
-- worker_id. So every verb that stores an event of a task that was running or succeeded
-- (fail, release, defer, a cancel, lease rescue, a callback's outcome) first stores what the
-- row implied (taskq.keep_implied): nothing is lost, and the implied events always come after
-- every stored one, as they happened. Queued, failed and cancelled tasks imply nothing: every
-- way into those states stores its events.

-- The events a task's row implies that taskq.task_events does not hold, for a task in state
-- st whose attempt att was claimed by worker at started (and succeeded at finished): the
-- attempt's `claimed` while it runs and once it succeeded, its `succeeded` once it did; each
-- unless stored already (by keep_implied, or before the history was stored in part: an
-- install upgraded from a release that stored every event keeps them). k orders them:
-- 1 claimed, 2 succeeded.
CREATE OR REPLACE FUNCTION taskq.implied_events(task uuid, st taskq.state, att integer,
                                                worker text, started timestamptz,
                                                finished timestamptz)
RETURNS TABLE (task_id uuid, k integer, at timestamptz, event text, attempt integer,
               worker_id text)
LANGUAGE sql STABLE AS $$
  SELECT task, x.k, x.at, x.event, att, worker
    FROM (VALUES (1, started, 'claimed'), (2, finished, 'succeeded')) AS x(k, at, event)
   WHERE CASE WHEN x.k = 1 THEN st IN ('running', 'succeeded') ELSE st = 'succeeded' END
     AND x.at IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM taskq.task_events e
                      WHERE e.task_id = task AND e.event = x.event AND e.at = x.at
                        AND e.attempt = att)
$$;

-- Stores what implied_events says of a task's attempt that stops being plain, in its order,
-- before the caller stores its own event (so that stored events keep the order of the
-- history). The caller passes the row as it was before its own change: st 'running' for a
-- worker's verb on the attempt it holds.
CREATE OR REPLACE FUNCTION taskq.keep_implied(task uuid, st taskq.state, att integer,
                                              worker text, started timestamptz,
                                              finished timestamptz DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO taskq.task_events (task_id, at, event, attempt, worker_id)
  SELECT i.task_id, i.at, i.event, i.attempt, i.worker_id
    FROM taskq.implied_events(task, st, att, worker, started, finished) i
   ORDER BY i.k;
END $$;

-- Every task's history: the events stored in taskq.task_events (id: their row's) and those
-- its row implies (id NULL). n is the event's place in its task's history, from 1: the
-- stored ones in id order, then the implied ones. Read one task's with WHERE task_id = … (or
-- = ANY (…)) ORDER BY n: the condition reaches both tables' indexes. Across tasks, order by
-- at (an implied event has no id, and a stored one's id says when it was stored, which for
-- an implied one stored later is not when it happened).
CREATE OR REPLACE VIEW taskq.task_history AS
SELECT h.task_id, row_number() OVER (PARTITION BY h.task_id ORDER BY h.k, h.id) AS n,
       h.id, h.at, h.event, h.attempt, h.worker_id, h.detail
  FROM (SELECT e.task_id, 0 AS k, e.id, e.at, e.event, e.attempt, e.worker_id, e.detail
          FROM taskq.task_events e
        UNION ALL
        SELECT t.id, i.k, NULL::bigint, i.at, i.event, i.attempt, i.worker_id, NULL::text
          FROM taskq.tasks t
         CROSS JOIN LATERAL taskq.implied_events(t.id, t.state, t.attempts, t.worker_id,
                                                 t.started_at, t.finished_at) i) h;
