-- taskq schema, version 13: rate limits on task starts, per queue or per concurrency key.
--
-- taskq.rate_limits: at most max_starts task starts in any window of length per, across every
-- worker (60 per minute for an LLM API whose quota is per minute). Enforced in the claim, not
-- by sleeping workers: the claim takes no more tasks than the window has room for, records
-- their start times (started_at, the same now()), and a task held back stays queued with the
-- reason in its message. The window slides: the row keeps the start times of its last window
-- (an array of at most max_starts), so no burst at a window's edge can exceed the limit.
-- Claims of a limited queue or key take its row lock in turn; unlimited ones pay one index
-- probe.

CREATE TABLE taskq.rate_limits (
  scope       text NOT NULL CHECK (scope IN ('queue', 'key')),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  max_starts  integer NOT NULL CHECK (max_starts BETWEEN 1 AND 100000),
  per         interval NOT NULL CHECK (per > interval '0' AND per <= interval '1 day'),
  starts      timestamptz[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (scope, name)
);

-- How many tasks may start now under the limit of (scope, name): NULL when there is none.
-- Locks the limit's row until the end of the claiming transaction and drops start times that
-- left the window.
CREATE FUNCTION taskq.rate_allow(s text, n text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  lim taskq.rate_limits;
BEGIN
  SELECT * INTO lim FROM taskq.rate_limits WHERE scope = s AND name = n FOR UPDATE;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  lim.starts := ARRAY(SELECT x FROM unnest(lim.starts) x WHERE x > now() - lim.per ORDER BY x);
  UPDATE taskq.rate_limits SET starts = lim.starts WHERE scope = s AND name = n;
  RETURN greatest(0, lim.max_starts - coalesce(array_length(lim.starts, 1), 0));
END $$;

-- Records k starts now under the limit of (scope, name) (its row is locked by rate_allow).
CREATE FUNCTION taskq.rate_record(s text, n text, k integer) RETURNS void
LANGUAGE sql AS $$
  UPDATE taskq.rate_limits
     SET starts = starts || array_fill(now(), ARRAY[k])
   WHERE scope = s AND name = n AND k > 0;
$$;

-- Says why on the next few ready tasks a limit holds back (once: the message is unchanged
-- while they wait, so live streams see one change, not one per claim).
CREATE FUNCTION taskq.rate_note(queue_name text, ckey text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  lim taskq.rate_limits;
  note text;
BEGIN
  SELECT * INTO lim FROM taskq.rate_limits
   WHERE (ckey IS NULL AND scope = 'queue' AND name = queue_name)
      OR (ckey IS NOT NULL AND scope = 'key' AND name = ckey);
  note := format('held back by the rate limit of %s %s: %s starts per %s',
                 CASE WHEN ckey IS NULL THEN 'queue' ELSE 'concurrency key' END,
                 coalesce(ckey, queue_name), lim.max_starts, lim.per);
  UPDATE taskq.tasks t SET message = note, updated_at = now(), version = t.version + 1
   WHERE t.id IN (SELECT r.id FROM taskq.tasks r
                   WHERE r.state = 'queued' AND r.queue = queue_name AND r.run_at <= now()
                     AND r.concurrency_key IS NOT DISTINCT FROM ckey
                   ORDER BY r.priority DESC, r.run_at, r.id LIMIT 10
                   FOR UPDATE SKIP LOCKED)
     AND t.message IS DISTINCT FROM note;
END $$;

-- The claim of version 5 with the limits: the queue's limit caps the whole claim, a key's
-- limit caps what that key gives.
CREATE OR REPLACE FUNCTION taskq.claim(worker text, queue_name text, k integer, lease_s integer)
RETURNS SETOF taskq.tasks
LANGUAGE plpgsql AS $$
DECLARE
  got integer := 0;
  n integer;
  room integer;
  ckey text;
  lim integer;
  busy integer;
  plain_best smallint;
  floor_prio integer;
  pass integer;
  ids uuid[];
  q_allowed integer;
  k_allowed integer;
BEGIN
  q_allowed := taskq.rate_allow('queue', queue_name);
  IF q_allowed IS NOT NULL THEN
    IF q_allowed < k THEN
      PERFORM taskq.rate_note(queue_name, NULL);
    END IF;
    k := least(k, q_allowed);
  END IF;

  SELECT r.priority INTO plain_best FROM taskq.tasks r
   WHERE r.state = 'queued' AND r.queue = queue_name AND r.run_at <= now()
     AND r.concurrency_key IS NULL
   ORDER BY r.priority DESC, r.run_at, r.id LIMIT 1;

  FOR pass IN 1..3 LOOP
    EXIT WHEN got >= k;
    IF pass = 2 THEN
      SELECT array_agg(r.id) INTO ids FROM (
        SELECT r.id FROM taskq.tasks r
         WHERE r.state = 'queued' AND r.queue = queue_name AND r.run_at <= now()
           AND r.concurrency_key IS NULL
         ORDER BY r.priority DESC, r.run_at, r.id
         LIMIT k - got
         FOR UPDATE SKIP LOCKED) r;
      RETURN QUERY SELECT * FROM taskq.take(worker, ids, lease_s);
      GET DIAGNOSTICS n = ROW_COUNT;
      got := got + n;
      CONTINUE;
    END IF;
    CONTINUE WHEN pass = 3 AND plain_best IS NULL;
    floor_prio := CASE WHEN pass = 1 AND plain_best IS NOT NULL THEN plain_best + 1 ELSE -32768 END;
    FOR ckey IN
      WITH RECURSIVE keys AS (
        (SELECT r.concurrency_key AS key FROM taskq.tasks r
          WHERE r.state = 'queued' AND r.queue = queue_name AND r.concurrency_key IS NOT NULL
          ORDER BY r.concurrency_key LIMIT 1)
        UNION ALL
        SELECT (SELECT r.concurrency_key FROM taskq.tasks r
                 WHERE r.state = 'queued' AND r.queue = queue_name
                   AND r.concurrency_key > keys.key
                 ORDER BY r.concurrency_key LIMIT 1)
          FROM keys WHERE keys.key IS NOT NULL
      )
      SELECT keys.key FROM keys WHERE keys.key IS NOT NULL LIMIT 256
    LOOP
      EXIT WHEN got >= k;
      CONTINUE WHEN NOT pg_try_advisory_xact_lock(1952539761, hashtext(ckey));
      SELECT coalesce((SELECT l.max_running FROM taskq.concurrency_limits l WHERE l.key = ckey), 1)
        INTO lim;
      SELECT count(*) INTO busy FROM taskq.tasks r
       WHERE r.state = 'running' AND r.concurrency_key = ckey;
      room := least(lim - busy, k - got);
      CONTINUE WHEN room <= 0;
      k_allowed := taskq.rate_allow('key', ckey);
      IF k_allowed IS NOT NULL AND k_allowed < room THEN
        PERFORM taskq.rate_note(queue_name, ckey);
        room := k_allowed;
      END IF;
      CONTINUE WHEN room <= 0;
      SELECT array_agg(r.id) INTO ids FROM (
        SELECT r.id FROM taskq.tasks r
         WHERE r.state = 'queued' AND r.queue = queue_name AND r.run_at <= now()
           AND r.concurrency_key = ckey AND r.priority >= floor_prio
         ORDER BY r.priority DESC, r.run_at, r.id
         LIMIT room
         FOR UPDATE SKIP LOCKED) r;
      RETURN QUERY SELECT * FROM taskq.take(worker, ids, lease_s);
      GET DIAGNOSTICS n = ROW_COUNT;
      got := got + n;
      IF k_allowed IS NOT NULL THEN
        PERFORM taskq.rate_record('key', ckey, n);
      END IF;
    END LOOP;
  END LOOP;
  IF q_allowed IS NOT NULL THEN
    PERFORM taskq.rate_record('queue', queue_name, got);
  END IF;
END $$;

-- When the worker should claim again: the earliest delayed task still to come, or the moment
-- a full window of a limit frees a start (so a held-back queue is claimed the instant its
-- limit allows, not at the next poll). Ready tasks that a claim left (a busy concurrency
-- key) do not count: a finishing task or the poll brings the claimer back for them; nor do
-- blocked ones (run_at 'infinity', version 11): their last parent's completion wakes them.
CREATE OR REPLACE FUNCTION taskq.next_run_at(queues text[]) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT least(
    (SELECT min(run_at) FROM taskq.tasks
      WHERE state = 'queued' AND queue = ANY (queues) AND run_at > now()
        AND run_at < 'infinity'),
    (SELECT min(l.starts[1] + l.per) FROM taskq.rate_limits l
      WHERE array_length(l.starts, 1) >= l.max_starts
        AND ((l.scope = 'queue' AND l.name = ANY (queues)) OR l.scope = 'key')
        AND l.starts[1] + l.per > now()))
$$;
