-- taskq schema, version 25: new and changed tasks are announced by one trigger function,
-- taskq.notify_tasks (functions/live.sql), for both triggers (functions/triggers.sql). The
-- function that announced changes goes, with its trigger, which functions/triggers.sql makes
-- anew in the same migrate. IF EXISTS: a fresh install has no functions yet at this point.

DROP FUNCTION IF EXISTS taskq.notify_changes() CASCADE;
DROP FUNCTION IF EXISTS taskq.notify_added() CASCADE;
