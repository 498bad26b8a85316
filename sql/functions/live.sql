-- functions/live.sql: change notifications for live views (long-polls, SSE, WebSocket). Must
-- not send one notification per row.

-- Every statement that inserts or changes tasks announces their ids on channel taskq_task,
-- once per statement (a claim of 100 tasks is one NOTIFY, not 100; a submit_many of 1,000 is
-- 5, one per 200: triggers tasks_notify_added and tasks_notify_changes, triggers.sql, with
-- the statement's rows as the transition table touched), so taskq-fcgi can answer long-polls
-- and feed live streams without polling, and the live feed shows a task from its submit on.
-- Payloads stay under NOTIFY's 8000-byte limit: ids go out in chunks of 200.
--
-- A NOTIFY in a transaction takes a cluster-wide lock at its commit and holds it until the
-- commit is durable, so NOTIFYing commits wait for each other's disk flushes. Sessions on a
-- hot path therefore announce their tasks themselves, after their commit, from a connection
-- whose commits need not wait for the disk, and tell the trigger so: taskq.announce =
-- 'later' for the changes of taskq-worker's hot connections (worker/announce.c),
-- taskq.announce_inserts = off for the inserts of taskq-fcgi's request threads (their ids
-- ride on its wake-up, taskq.announce below). Every other session (SQL submits, follow-ups,
-- schedule fires, taskq-fcgi's cancels and retries) announces from the trigger.
CREATE OR REPLACE FUNCTION taskq.notify_tasks() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF (CASE TG_OP WHEN 'INSERT' THEN current_setting('taskq.announce_inserts', true) = 'off'
                 ELSE current_setting('taskq.announce', true) = 'later' END) THEN
    RETURN NULL;
  END IF;
  PERFORM taskq.announce_tasks(ARRAY(SELECT id FROM touched));
  RETURN NULL;
END $$;

-- What a session that announces later sends after its commits: the changed tasks' ids on
-- taskq_task, in chunks of 200 as the trigger sends them. PL/pgSQL so that its plan is kept
-- for the session: as an SQL function (which cannot be inlined: it has a FROM) it was parsed
-- and planned again at every call, a fifth of PostgreSQL's CPU under a steady submit load
-- (taskq-fcgi's wake-ups call it up to once a millisecond).
CREATE OR REPLACE FUNCTION taskq.announce_tasks(ids uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('taskq_task', c.ids)
     FROM (SELECT (u.n - 1) / 200 AS chunk, string_agg(u.id::text, ',' ORDER BY u.n) AS ids
             FROM unnest(announce_tasks.ids) WITH ORDINALITY AS u(id, n)
            GROUP BY 1 ORDER BY 1) c;
END $$;

-- A trigger's empty notification on the channel its first argument names: a cache elsewhere
-- (taskq-fcgi's tokens, the workers' breakers) is stale (triggers.sql).
CREATE OR REPLACE FUNCTION taskq.notify_channel() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_ARGV[0], '');
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
