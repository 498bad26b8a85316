-- functions/live.sql: change notifications for live views (long-polls, SSE, WebSocket). Must
-- not send one notification per row.

-- Every statement that changes tasks announces their ids on channel taskq_task, once per
-- statement (a claim of 100 tasks is one NOTIFY, not 100: trigger tasks_notify_changes,
-- triggers.sql), so taskq-fcgi can answer long-polls and feed live streams without polling.
-- Payloads stay under NOTIFY's 8000-byte limit: ids go out in chunks of 200.
CREATE OR REPLACE FUNCTION taskq.notify_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('taskq_task', ids)
     FROM (SELECT string_agg(id::text, ',') AS ids
             FROM (SELECT id, (row_number() OVER ()) / 200 AS chunk FROM changed) c
            GROUP BY chunk) chunks;
  RETURN NULL;
END $$;
