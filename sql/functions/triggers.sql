-- functions/triggers.sql: which trigger function runs on which table and when (the functions
-- are in their families' files). Last in the pass, because CREATE OR REPLACE TRIGGER takes a
-- SHARE ROW EXCLUSIVE lock on its table until the migrate commits: it waits for the
-- transactions writing the table, and new writers wait for it, so the pass takes these locks
-- at its very end, before its first trigger, and holds them for milliseconds.
--
-- Taken so that a migrate beside running daemons never deadlocks with them: taskq.tasks first
-- and waiting (the pass holds nothing a writer of tasks could wait for), then the small
-- tables without waiting, since a writer of one of them may go on to write tasks (a breaker
-- report updates taskq.breakers, then taskq.tasks) and would wait for the migrate that waits
-- for it. When one is busy, all are let go and taken again a moment later.

DO $$
BEGIN
  LOOP
    BEGIN
      LOCK TABLE taskq.tasks IN SHARE ROW EXCLUSIVE MODE;
      LOCK TABLE taskq.tokens, taskq.view_keys, taskq.breakers IN SHARE ROW EXCLUSIVE MODE NOWAIT;
      EXIT;
    EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
      PERFORM pg_sleep(0.02 + random() * 0.08);
    END;
  END LOOP;
END $$;

-- A finished task with a callback_url arms its callback (callbacks.sql).
CREATE OR REPLACE TRIGGER tasks_callback_arm
  BEFORE UPDATE OF state ON taskq.tasks
  FOR EACH ROW
  WHEN (NEW.callback_url IS NOT NULL AND NEW.state IN ('succeeded', 'failed', 'cancelled')
        AND OLD.state IS DISTINCT FROM NEW.state)
  EXECUTE FUNCTION taskq.callback_arm();

-- Change notifications, once per statement (live.sql): of new tasks ...
CREATE OR REPLACE TRIGGER tasks_notify_added
  AFTER INSERT ON taskq.tasks
  REFERENCING NEW TABLE AS touched
  FOR EACH STATEMENT
  EXECUTE FUNCTION taskq.notify_tasks();

-- ... and of changed ones.
CREATE OR REPLACE TRIGGER tasks_notify_changes
  AFTER UPDATE ON taskq.tasks
  REFERENCING NEW TABLE AS touched
  FOR EACH STATEMENT
  EXECUTE FUNCTION taskq.notify_tasks();

-- A parent's final state settles its children (chains.sql).
CREATE OR REPLACE TRIGGER tasks_parent_finished
  AFTER UPDATE OF state ON taskq.tasks
  FOR EACH ROW
  WHEN (NEW.has_children AND OLD.state IS DISTINCT FROM NEW.state
        AND NEW.state IN ('succeeded', 'failed', 'cancelled'))
  EXECUTE FUNCTION taskq.parent_finished();

-- A success whose result enqueues follow-ups inserts them (chains.sql).
CREATE OR REPLACE TRIGGER tasks_enqueue_followups
  AFTER UPDATE OF state ON taskq.tasks
  FOR EACH ROW
  WHEN (NEW.state = 'succeeded' AND OLD.state IS DISTINCT FROM NEW.state
        AND NEW.result ? 'enqueue')
  EXECUTE FUNCTION taskq.enqueue_followups();

-- An owner's cap on unfinished tasks, after every insert, once per statement (owners.sql).
CREATE OR REPLACE TRIGGER tasks_owner_cap
  AFTER INSERT ON taskq.tasks
  REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT
  EXECUTE FUNCTION taskq.owner_cap_check();

-- ... and after a retry made a finished task unfinished again (owners.sql).
CREATE OR REPLACE TRIGGER tasks_owner_cap_requeued
  AFTER UPDATE OF state ON taskq.tasks
  FOR EACH ROW
  WHEN (OLD.state IN ('succeeded', 'failed', 'cancelled') AND NEW.state IN ('queued', 'running'))
  EXECUTE FUNCTION taskq.owner_cap_requeued();

-- taskq-fcgi drops its token cache (auth.sql, live.sql).
CREATE OR REPLACE TRIGGER tokens_notify
  AFTER UPDATE OR DELETE ON taskq.tokens
  FOR EACH STATEMENT EXECUTE FUNCTION taskq.notify_channel('taskq_tokens');

-- A key change reaches every taskq-fcgi at once, on the token channel (auth.sql).
CREATE OR REPLACE TRIGGER view_keys_notify
  AFTER INSERT OR UPDATE OR DELETE ON taskq.view_keys
  FOR EACH STATEMENT EXECUTE FUNCTION taskq.notify_channel('taskq_tokens');

-- Workers re-read the breakers (breakers.sql): a change of state, of whether failures are
-- counted, or of the host's throttle.
CREATE OR REPLACE TRIGGER breakers_notify_update
  AFTER UPDATE ON taskq.breakers
  FOR EACH ROW
  WHEN (OLD.state IS DISTINCT FROM NEW.state OR (OLD.failures = 0) <> (NEW.failures = 0)
        OR OLD.throttled_until IS DISTINCT FROM NEW.throttled_until)
  EXECUTE FUNCTION taskq.notify_channel('taskq_breakers');

CREATE OR REPLACE TRIGGER breakers_notify_delete
  AFTER DELETE OR TRUNCATE ON taskq.breakers
  FOR EACH STATEMENT EXECUTE FUNCTION taskq.notify_channel('taskq_breakers');
