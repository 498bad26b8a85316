-- taskq schema, version 23: a throttle per upstream host of the http kind, in the host's row
-- of taskq.breakers (schema/009_breakers.sql), shared by every worker daemon on every host.
--
-- When a host answers 429 or 503 with a Retry-After (seconds or an HTTP date), or says that
-- its rate-limit budget is spent (RateLimit-Remaining: 0 or X-RateLimit-Remaining: 0 with a
-- reset), no worker sends it anything before throttled_until: the task that got the answer,
-- and every task for the host a worker claims meanwhile, go back to the queue until then
-- without spending their attempt (taskq.defer), with a message that says why and until when.
-- The wait is capped by the workers' --http-retry-after-max (what the host asked for stays in
-- throttle_asked_until). The functions (taskq.breaker_throttle, the check in
-- taskq.breaker_admit, taskq.upstream_throttles): functions/breakers.sql.

ALTER TABLE taskq.breakers
  ADD COLUMN throttled_until      timestamptz,  -- no request to the host before this
  ADD COLUMN throttle_asked_until timestamptz,  -- what the host asked for (later when capped)
  ADD COLUMN throttle_reason      text,         -- the answer that asked: "429 Retry-After: 3"
  ADD COLUMN throttles            bigint NOT NULL DEFAULT 0, -- answers that asked to wait, ever
  ADD COLUMN throttles_capped     bigint NOT NULL DEFAULT 0; -- of those, asked past the cap

-- breaker_admit says how long the host's throttle lasts (a new OUT column: a new result type)
DROP FUNCTION IF EXISTS taskq.breaker_admit(text, uuid, text, integer, double precision);
