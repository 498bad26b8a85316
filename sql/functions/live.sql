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

-- ids (task ids as text) on channel taskq_task, in chunks of 200, as above.
CREATE OR REPLACE FUNCTION taskq.notify_ids(ids text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('taskq_task', string_agg(x, ','))
     FROM (SELECT x, (row_number() OVER () - 1) / 200 AS chunk FROM unnest(ids) x) c
    GROUP BY chunk;
END $$;

-- New tasks are announced the same way, once per inserting statement (trigger
-- tasks_notify_added; a submit_many of 1,000 is 5 NOTIFYs, one per 200), whichever path
-- inserts them: taskq.submit() and submit_many() from SQL (which NOTIFY the workers in the
-- same transaction anyway), follow-ups, schedule fires. So the live feed shows a task from its
-- submit on, not from its claim. A statement that inserts nothing (a dedupe hit) sends
-- nothing. The exception is a connection whose caller announces its inserts itself after their
-- commit, which says so with taskq.announce_inserts = off (lib/store/db.h): taskq-fcgi's
-- request threads, whose submits must not NOTIFY in their own transaction (a NOTIFYing commit
-- takes a cluster-wide lock); their ids ride on the wake-up below.
CREATE OR REPLACE FUNCTION taskq.notify_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('taskq.announce_inserts', true) = 'off' THEN
    RETURN NULL;
  END IF;
  PERFORM taskq.notify_ids(ARRAY(SELECT id::text FROM added));
  RETURN NULL;
END $$;

-- taskq-fcgi's wake-up (fcgi/bg/wake.c, at most one a millisecond): wakes the workers and
-- announces the tasks its request threads inserted since the last one (ids: comma-separated,
-- '' for none), in one transaction and so under one NOTIFY lock.
CREATE OR REPLACE FUNCTION taskq.announce(ids text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('taskq_wake', '');
  PERFORM taskq.notify_ids(string_to_array(nullif(ids, ''), ','));
END $$;
