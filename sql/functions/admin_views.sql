-- functions/admin_views.sql: what admins and the queue overview read from SQL. Views are
-- replaced with CREATE OR REPLACE VIEW, which may only append columns: to drop, rename or
-- retype one, add a schema step that drops the view (this file then makes it anew).

-- Counts by queue and state, with the age of the oldest task of each.
CREATE OR REPLACE VIEW taskq.queue_stats AS
SELECT queue, state, count(*) AS count, now() - min(created_at) AS oldest_age
  FROM taskq.tasks
 GROUP BY queue, state
 ORDER BY queue, state;

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

-- Per queue: counts by state, the age of the oldest queued task, and how many finished in
-- the last minute. One pass over the table: taskq-fcgi caches the answer for a second.
CREATE OR REPLACE VIEW taskq.queue_overview AS
SELECT queue,
       count(*) FILTER (WHERE state = 'queued')    AS queued,
       count(*) FILTER (WHERE state = 'running')   AS running,
       count(*) FILTER (WHERE state = 'succeeded') AS succeeded,
       count(*) FILTER (WHERE state = 'failed')    AS failed,
       count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
       extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'queued'))
         AS oldest_queued_s,
       count(*) FILTER (WHERE finished_at > now() - interval '1 minute') AS finished_last_minute
  FROM taskq.tasks
 GROUP BY queue
 ORDER BY queue;

-- The queue overview of one owner's tasks (same columns as taskq.queue_overview): a function,
-- not a view, so that the owner's index (tasks_owner_id) is used rather than a pass over
-- every owner's tasks.
CREATE OR REPLACE FUNCTION taskq.queue_overview_of(who text)
RETURNS TABLE (queue text, queued bigint, running bigint, succeeded bigint, failed bigint,
               cancelled bigint, oldest_queued_s numeric, finished_last_minute bigint)
LANGUAGE sql STABLE AS $$
  SELECT t.queue,
         count(*) FILTER (WHERE t.state = 'queued'),
         count(*) FILTER (WHERE t.state = 'running'),
         count(*) FILTER (WHERE t.state = 'succeeded'),
         count(*) FILTER (WHERE t.state = 'failed'),
         count(*) FILTER (WHERE t.state = 'cancelled'),
         extract(epoch FROM now() - min(t.created_at) FILTER (WHERE t.state = 'queued')),
         count(*) FILTER (WHERE t.finished_at > now() - interval '1 minute')
    FROM taskq.tasks t
   WHERE t.owner = who
   GROUP BY t.queue
   ORDER BY t.queue
$$;
