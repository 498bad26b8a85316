-- taskq schema, version 18: queue figures that tell the truth.
--
-- taskq.queue_overview_of(owner) answers, since version 18, how many of a queue's queued tasks
-- are delayed and blocked and how many live workers serve it, and its oldest_queued_s is the
-- wait of the oldest runnable task (functions/waits.sql): a new result type, so the old
-- signature goes (functions/admin_views.sql makes it anew). IF EXISTS: a fresh install has no
-- functions yet at this point.

DROP FUNCTION IF EXISTS taskq.queue_overview_of(text);
