-- functions/admin_views.sql: what admins and the queue overview read from SQL. Views are
-- replaced with CREATE OR REPLACE VIEW, which may only append columns: to drop, rename or
-- retype one, add a schema step that drops the view (this file then makes it anew).

-- Counts by queue and state, with the age of the oldest task of each (since its submit).
-- The queued row also says what its tasks wait for (functions/waits.sql): oldest_wait, how
-- long the longest-waiting runnable task has waited since it became runnable (NULL when none
-- is runnable), and how many are delayed and blocked; NULL on the other rows.
CREATE OR REPLACE VIEW taskq.queue_stats AS
SELECT s.queue, s.state, s.count, s.oldest_age,
       CASE WHEN s.state = 'queued' THEN now() - w.runnable_since END AS oldest_wait,
       CASE WHEN s.state = 'queued' THEN coalesce(w.delayed, 0) END AS delayed,
       CASE WHEN s.state = 'queued' THEN coalesce(w.blocked, 0) END AS blocked
  FROM (SELECT queue, state, count(*) AS count, now() - min(created_at) AS oldest_age
          FROM taskq.tasks
         GROUP BY queue, state) s
  LEFT JOIN taskq.queue_wait_totals w ON w.queue = s.queue AND s.state = 'queued'
 ORDER BY s.queue, s.state;

-- What runs now, longest-running first.
CREATE OR REPLACE VIEW taskq.running AS
SELECT id, kind, queue, worker_id, attempts, progress, message, started_at, lease_until,
       now() - started_at AS running_for
  FROM taskq.tasks
 WHERE state = 'running'
 ORDER BY started_at;

-- Running tasks that should not be: a lease that expired (rescue will move them) or a run past
-- its timeout (its worker should have stopped it).
CREATE OR REPLACE VIEW taskq.stuck AS
SELECT id, kind, queue, worker_id, attempts, started_at, lease_until,
       CASE WHEN lease_until < now() THEN 'lease expired'
            ELSE 'running past its timeout' END AS reason
  FROM taskq.tasks
 WHERE state = 'running'
   AND (lease_until < now()
        OR (timeout_s IS NOT NULL AND started_at < now() - make_interval(secs => timeout_s)));

-- The failures of the last day, newest first.
CREATE OR REPLACE VIEW taskq.recent_failures AS
SELECT id, kind, queue, attempts, error, finished_at
  FROM taskq.tasks
 WHERE state = 'failed' AND finished_at > now() - interval '24 hours'
 ORDER BY finished_at DESC;

-- Per queue: counts by state; what the queued tasks wait for (functions/waits.sql):
-- oldest_queued_s, how long the longest-waiting runnable task has waited since it became
-- runnable (NULL when none is runnable: delayed and blocked tasks do not count), and how many
-- are delayed and blocked; how many finished in the last minute; and how many live workers
-- serve the queue (taskq.served_queues; 0: its tasks wait until one starts); how many are
-- held, and whether the queue is paused (functions/flow.sql: a paused queue without tasks is
-- listed too, so that it can be resumed from where it shows); last, how many wait for a
-- signal (functions/signals.sql). One pass over the table and one over its queued rows:
-- taskq-fcgi caches the answer for a second.
CREATE OR REPLACE VIEW taskq.queue_overview AS
SELECT coalesce(c.queue, p.queue) AS queue, coalesce(c.queued, 0) AS queued,
       coalesce(c.running, 0) AS running, coalesce(c.succeeded, 0) AS succeeded,
       coalesce(c.failed, 0) AS failed, coalesce(c.cancelled, 0) AS cancelled,
       w.oldest_runnable_s AS oldest_queued_s,
       coalesce(c.finished_last_minute, 0) AS finished_last_minute,
       coalesce(w.delayed, 0) AS delayed, coalesce(w.blocked, 0) AS blocked,
       coalesce(v.workers, 0) AS workers, coalesce(c.held, 0) AS held,
       p.queue IS NOT NULL AS paused, coalesce(c.waiting, 0) AS waiting
  FROM (SELECT queue,
               count(*) FILTER (WHERE state = 'queued')    AS queued,
               count(*) FILTER (WHERE state = 'running')   AS running,
               count(*) FILTER (WHERE state = 'succeeded') AS succeeded,
               count(*) FILTER (WHERE state = 'failed')    AS failed,
               count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
               count(*) FILTER (WHERE state = 'waiting')   AS waiting,
               count(*) FILTER (WHERE finished_at > now() - interval '1 minute')
                 AS finished_last_minute,
               count(*) FILTER (WHERE state = 'held')      AS held
          FROM taskq.tasks
         GROUP BY queue) c
  FULL JOIN taskq.queue_pauses p ON p.queue = c.queue
  LEFT JOIN taskq.queue_wait_totals w ON w.queue = c.queue
  LEFT JOIN taskq.served_queues v ON v.queue = coalesce(c.queue, p.queue)
 ORDER BY 1;

-- The queue overview of one owner's tasks (same columns as taskq.queue_overview): a function,
-- not a view, so that the owner's indexes (tasks_owner_id, tasks_owner_unfinished) are used
-- rather than a pass over every owner's tasks. The workers are every owner's.
CREATE OR REPLACE FUNCTION taskq.queue_overview_of(who text)
RETURNS TABLE (queue text, queued bigint, running bigint, succeeded bigint, failed bigint,
               cancelled bigint, oldest_queued_s numeric, finished_last_minute bigint,
               delayed bigint, blocked bigint, workers bigint, held bigint, paused boolean,
               waiting bigint)
LANGUAGE sql STABLE AS $$
  SELECT c.queue, c.queued, c.running, c.succeeded, c.failed, c.cancelled,
         extract(epoch FROM now() - w.runnable_since), c.finished_last_minute,
         coalesce(w.delayed, 0), coalesce(w.blocked, 0), coalesce(v.workers, 0), c.held,
         EXISTS (SELECT 1 FROM taskq.queue_pauses p WHERE p.queue = c.queue), c.waiting
    FROM (SELECT t.queue,
                 count(*) FILTER (WHERE t.state = 'queued')    AS queued,
                 count(*) FILTER (WHERE t.state = 'running')   AS running,
                 count(*) FILTER (WHERE t.state = 'succeeded') AS succeeded,
                 count(*) FILTER (WHERE t.state = 'failed')    AS failed,
                 count(*) FILTER (WHERE t.state = 'cancelled') AS cancelled,
                 count(*) FILTER (WHERE t.state = 'waiting')   AS waiting,
                 count(*) FILTER (WHERE t.finished_at > now() - interval '1 minute')
                   AS finished_last_minute,
                 count(*) FILTER (WHERE t.state = 'held')      AS held
            FROM taskq.tasks t
           WHERE t.owner = who
           GROUP BY t.queue) c
    LEFT JOIN (SELECT x.* FROM taskq.queue_waits x WHERE x.owner = who) w ON w.queue = c.queue
    LEFT JOIN taskq.served_queues v ON v.queue = c.queue
   ORDER BY c.queue
$$;
