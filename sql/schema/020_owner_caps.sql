-- taskq schema, version 20: the cap on each owner's unfinished tasks lives in the database.
--
-- taskq.owner_caps: at most max_unfinished queued + running tasks per owner, held where
-- tasks are made (a trigger on every insert into taskq.tasks and on every retry,
-- functions/owners.sql), so that every path honours it: taskq-fcgi's submits and batches,
-- chains, taskq.submit and submit_many from SQL, the CLI, follow-ups and schedule fires.
-- It used to be taskq-fcgi's --owner-max-unfinished, checked on its HTTP submits only. The
-- row '*' is every owner without a row of its own; 0 is no cap. Without rows, the caps are
-- what taskq-fcgi's were (taskq.configured_cap, functions/owners.sql): 10,000, and none for
-- 'anonymous' (the owner of stacks without auth and of SQL submits that name none), which
-- taskq-fcgi never limited. Owners that hold a live admin token are not capped (looked up
-- by tokens_admin_owner).
--
-- taskq.owner_counts: each capped owner's unfinished tasks as last counted, so that an
-- insert need not count a big backlog every time: within a second of the count, the count
-- plus the owner's tasks made since (tasks_owner_id, by the time in their ids) is a bound
-- that answers most inserts; only one that may be over the cap, or a stale count, counts
-- again (and refreshes the row, about once a second per owner while it submits).

CREATE TABLE taskq.owner_caps (
  owner          text PRIMARY KEY CHECK (owner = '*' OR owner ~ '^[A-Za-z0-9_.@:-]{1,64}$'),
  max_unfinished integer NOT NULL CHECK (max_unfinished BETWEEN 0 AND 100000000),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX tokens_admin_owner ON taskq.tokens (owner) WHERE admin;

CREATE TABLE taskq.owner_counts (
  owner      text PRIMARY KEY,
  unfinished integer NOT NULL,     -- the owner's queued + running tasks (up to its cap + 1)
  counted_at timestamptz NOT NULL  -- when (clock time) they were counted
);
