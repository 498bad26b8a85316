-- functions/live.sql: change notifications for live views (long-polls, SSE, WebSocket). Must
-- not send one notification per row.

-- Every statement that changes tasks announces their ids on channel taskq_task, once per
-- statement (a claim of 100 tasks is one NOTIFY, not 100: trigger tasks_notify_changes,
-- triggers.sql), so taskq-fcgi can answer long-polls and feed live streams without polling.
-- Payloads stay under NOTIFY's 8000-byte limit: ids go out in chunks of 200.
--
-- Not for a session that set taskq.announce to 'later' (taskq-worker's hot connections): a
-- NOTIFY in a transaction takes a cluster-wide lock at its commit and holds it until the
-- commit is durable, so NOTIFYing commits wait for each other's disk flushes. Such a session
-- announces the tasks it changed itself, after its commit, from a connection whose commits
-- need not wait for the disk (taskq.announce_tasks, worker/announce.c).
CREATE OR REPLACE FUNCTION taskq.notify_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('taskq.announce', true) = 'later' THEN
    RETURN NULL;
  END IF;
  PERFORM pg_notify('taskq_task', ids)
     FROM (SELECT string_agg(id::text, ',') AS ids
             FROM (SELECT id, (row_number() OVER ()) / 200 AS chunk FROM changed) c
            GROUP BY chunk) chunks;
  RETURN NULL;
END $$;

-- What a session that announces later sends after its commits: the changed tasks' ids on
-- taskq_task, in chunks of 200 as the trigger sends them.
CREATE OR REPLACE FUNCTION taskq.announce_tasks(ids uuid[]) RETURNS void
LANGUAGE sql AS $$
  SELECT pg_notify('taskq_task', c.ids)
    FROM (SELECT (u.n - 1) / 200 AS chunk, string_agg(u.id::text, ',' ORDER BY u.n) AS ids
            FROM unnest(ids) WITH ORDINALITY AS u(id, n)
           GROUP BY 1 ORDER BY 1) c
$$;

-- A trigger's empty notification on the channel its first argument names: a cache elsewhere
-- (taskq-fcgi's tokens, the workers' breakers) is stale (triggers.sql).
CREATE OR REPLACE FUNCTION taskq.notify_channel() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_ARGV[0], '');
  RETURN NULL;
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
  PERFORM taskq.announce_tasks(ARRAY(SELECT id FROM added));
  RETURN NULL;
END $$;

-- taskq-fcgi's wake-up (fcgi/bg/wake.c, at most one a millisecond): wakes the workers and
-- announces the tasks its request threads inserted since the last one (ids: comma-separated,
-- '' for none), in one transaction and so under one NOTIFY lock.
CREATE OR REPLACE FUNCTION taskq.announce(ids text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('taskq_wake', '');
  PERFORM taskq.announce_tasks(string_to_array(nullif(ids, ''), ',')::uuid[]);
END $$;
