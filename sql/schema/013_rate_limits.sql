-- taskq schema, version 13: rate limits on task starts, per queue or per concurrency key.
--
-- taskq.rate_limits: at most max_starts task starts in any window of length per, across every
-- worker (60 per minute for an LLM API whose quota is per minute). Enforced in the claim, not
-- by sleeping workers: the claim takes no more tasks than the window has room for, records
-- their start times (started_at, the same now()), and a task held back stays queued with the
-- reason in its message. The window slides: the row keeps the start times of its last window
-- (an array of at most max_starts), so no burst at a window's edge can exceed the limit.
-- Claims of a limited queue or key take its row lock in turn; unlimited ones pay one index
-- probe. (The limits' functions: functions/limits.sql; the claim: functions/claim.sql.)

CREATE TABLE taskq.rate_limits (
  scope       text NOT NULL CHECK (scope IN ('queue', 'key')),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  max_starts  integer NOT NULL CHECK (max_starts BETWEEN 1 AND 100000),
  per         interval NOT NULL CHECK (per > interval '0' AND per <= interval '1 day'),
  starts      timestamptz[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (scope, name)
);
