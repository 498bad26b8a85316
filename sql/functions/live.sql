-- functions/live.sql: change notifications for live views (long-polls, SSE, WebSocket). Must
-- not send one notification per row.

-- Every statement that inserts or changes tasks announces their ids on channel taskq_task,
-- once per statement (a claim of 100 tasks is one NOTIFY, not 100; so is a group commit of
-- 64 submits or a submit_many of 1,000: triggers tasks_notify_added and tasks_notify_changes,
-- triggers.sql), so taskq-fcgi can answer long-polls and feed live streams and the live feed
-- without polling, whichever path made the task (HTTP, SQL, follow-ups, schedule fires). A
-- statement that inserts nothing (a dedupe hit) sends nothing. Payloads stay under NOTIFY's
-- 8000-byte limit: ids go out in chunks of 200.
CREATE OR REPLACE FUNCTION taskq.notify_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('taskq_task', ids)
     FROM (SELECT string_agg(id::text, ',') AS ids
             FROM (SELECT id, (row_number() OVER ()) / 200 AS chunk FROM changed) c
            GROUP BY chunk) chunks;
  RETURN NULL;
END $$;
