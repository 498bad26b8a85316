-- taskq schema, version 24: the triggers that tell caches elsewhere to re-read (taskq-fcgi's
-- tokens, the workers' breakers) share one function, taskq.notify_channel, which sends on the
-- channel the trigger names (functions/live.sql; the triggers: functions/triggers.sql). The
-- two functions it replaces go, with their triggers, which functions/triggers.sql makes anew
-- in the same migrate. IF EXISTS: a fresh install has no functions yet at this point.

DROP FUNCTION IF EXISTS taskq.tokens_changed() CASCADE;
DROP FUNCTION IF EXISTS taskq.breakers_changed() CASCADE;
