-- functions/limits.sql: rate limits on task starts, as the claim enforces them (the table and
-- its sliding window: schema/013_rate_limits.sql). Must not claim: claim.sql calls these.

-- How many tasks may start now under the limit of (scope, name): NULL when there is none.
-- Locks the limit's row until the end of the claiming transaction (claims of one limit take
-- their turns, so no two of them spend the same room) and drops start times that left the
-- window.
CREATE OR REPLACE FUNCTION taskq.rate_allow(s text, n text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  lim taskq.rate_limits;
BEGIN
  SELECT * INTO lim FROM taskq.rate_limits WHERE scope = s AND name = n FOR UPDATE;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  -- the clock after the lock, not the transaction's start: a claim whose transaction began
  -- earlier but took the lock later would otherwise prune with an older window than a start
  -- already recorded, miss the starts that claim pruned, and let one start too many through
  lim.starts := ARRAY(SELECT x FROM unnest(lim.starts) x WHERE x > clock_timestamp() - lim.per
                       ORDER BY x);
  UPDATE taskq.rate_limits SET starts = lim.starts WHERE scope = s AND name = n;
  RETURN greatest(0, lim.max_starts - coalesce(array_length(lim.starts, 1), 0));
END $$;

-- Records k starts now under the limit of (scope, name) (its row is locked by rate_allow):
-- at the clock after the tasks' started_at (taskq.take), so that a start is never recorded
-- earlier than it is shown.
CREATE OR REPLACE FUNCTION taskq.rate_record(s text, n text, k integer) RETURNS void
LANGUAGE sql AS $$
  UPDATE taskq.rate_limits
     SET starts = starts || array_fill(clock_timestamp(), ARRAY[k])
   WHERE scope = s AND name = n AND k > 0;
$$;

-- Says why on the next few ready tasks a limit holds back (once: the message is unchanged
-- while they wait, so live streams see one change, not one per claim).
CREATE OR REPLACE FUNCTION taskq.rate_note(queue_name text, ckey text) RETURNS void
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
