-- taskq schema, version 5: worker verbs fenced by attempt.
--
-- A worker whose lease expired (a stall longer than the lease) may claim the same task again
-- under the same worker id; the stale run must then record nothing. So every verb a worker
-- runs on a claimed task names the attempt it holds (the new signatures: functions/complete.sql,
-- cancel.sql, workers.sql), and the signatures without it go. IF EXISTS: a fresh install has
-- no functions yet at this point.

DROP FUNCTION IF EXISTS taskq.progress(uuid, text, integer, text, integer);
DROP FUNCTION IF EXISTS taskq.complete(uuid, text, jsonb);
DROP FUNCTION IF EXISTS taskq.fail(uuid, text, text, boolean, double precision);
DROP FUNCTION IF EXISTS taskq.ack_cancel(uuid, text);
DROP FUNCTION IF EXISTS taskq.release(uuid, text);
DROP FUNCTION IF EXISTS taskq.heartbeat(text, integer, uuid[], text, integer, text, text, integer);
