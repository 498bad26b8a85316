-- functions/waits.sql: what a queued task waits for, defined once. Every figure of a queue's
-- wait reads these views: /api/queues (taskq.queue_overview, taskq.queue_overview_of),
-- /metrics (taskq.metrics_queues), the admin's taskq.queue_stats, and through them the
-- dashboard and `taskq stats`. Must not hold verbs, nor read anything but taskq.tasks.
--
-- A queued task is
--   blocked   while a parent it names is unfinished (pending_parents > 0; chains.sql),
--   delayed   while its run_at lies ahead: delay_s, a retry's back-off, a breaker's deferral,
--   runnable  otherwise: due, and waiting for a worker (or held back by its concurrency key
--             or a rate limit, which a worker's claim decides).
-- A runnable task became runnable at greatest(created_at, run_at): its submit, the end of its
-- delay or back-off, or its release by its last parent (which sets run_at; a fair-queued
-- task's run_at may lie before its submit). How long the longest-waiting runnable task has
-- waited is what "oldest queued" means everywhere: a task delayed by an hour, or one waiting
-- for its parents, is not a stalled queue.

-- Per queue and owner (owners' /api/queues read their own rows through the owner index).
-- Reads queued rows only (the partial indexes on state = 'queued' serve it).
CREATE OR REPLACE VIEW taskq.queue_waits AS
SELECT queue, owner,
       count(*) FILTER (WHERE pending_parents = 0 AND run_at <= now()) AS runnable,
       count(*) FILTER (WHERE pending_parents = 0 AND run_at > now())  AS delayed,
       count(*) FILTER (WHERE pending_parents > 0)                     AS blocked,
       min(greatest(created_at, run_at)) FILTER (WHERE pending_parents = 0 AND run_at <= now())
         AS runnable_since
  FROM taskq.tasks
 WHERE state = 'queued'
 GROUP BY queue, owner;

-- The same per queue, every owner's tasks together; oldest_runnable_s is NULL when no task
-- of the queue is runnable.
CREATE OR REPLACE VIEW taskq.queue_wait_totals AS
SELECT queue,
       sum(runnable)::bigint AS runnable,
       sum(delayed)::bigint  AS delayed,
       sum(blocked)::bigint  AS blocked,
       min(runnable_since)   AS runnable_since,
       extract(epoch FROM now() - min(runnable_since)) AS oldest_runnable_s
  FROM taskq.queue_waits
 GROUP BY queue;

-- Tasks waiting for a signal (state 'waiting', functions/signals.sql) are not queued: they
-- hold no worker and count in none of the figures above. Per queue and signal: how many wait,
-- since when the longest has waited (its last change: its submit or the attempt that asked),
-- and the next deadline (NULL: none has one). Reads the waiting rows only (tasks_state_id).
CREATE OR REPLACE VIEW taskq.signal_waits AS
SELECT queue, waiting_for->>'signal' AS signal, count(*) AS waiting,
       min(updated_at) AS waiting_since, min(wait_until) AS next_deadline
  FROM taskq.tasks
 WHERE state = 'waiting'
 GROUP BY queue, waiting_for->>'signal';
