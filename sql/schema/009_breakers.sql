-- taskq schema, version 9: circuit breakers for the upstream hosts of the http kind.
--
-- One breaker per host (the URL's host in lower case, with ":port" when the port is not the
-- scheme's default), shared by every worker daemon on every host:
--
--   closed ──(N consecutive failures)──▶ open ──(cool-down over: one task probes)──▶ half_open
--   half_open ──(the probe succeeded)──▶ closed      (tasks that waited run at once)
--   half_open ──(the probe failed)──▶ open, for twice the cool-down (up to a maximum)
--
-- A failure is a network error, a timeout, a 408 or a 5xx; any other answer is a success (the
-- host is up). While a breaker is open, or half-open with its probe out, a worker that claimed
-- a task for the host puts it back in the queue until the next probe time, with a message that
-- says why, and the claim's attempt is not counted (taskq.defer).
--
-- Every transition is made here, under the host's row lock: two workers reporting at once
-- never lose a count, the breaker trips once, and one probe at a time is let through. Workers
-- keep the rows of hosts that are not healthy in memory (re-read every second and on NOTIFY
-- taskq_breakers), so a task for a healthy host costs no extra round trip. (The transitions,
-- taskq.defer and the notifying trigger: functions/breakers.sql.)

CREATE TYPE taskq.breaker_state AS ENUM ('closed', 'open', 'half_open');

CREATE TABLE taskq.breakers (
  host          text PRIMARY KEY CHECK (length(host) BETWEEN 1 AND 300),
  state         taskq.breaker_state NOT NULL DEFAULT 'closed',
  failures      integer NOT NULL DEFAULT 0,  -- consecutive failures (a success resets them)
  last_error    text,                        -- the last failure, short: "HTTP 503", "timed out"
  opened_at     timestamptz,                 -- when it last opened from closed
  cooldown_s    double precision,            -- open: the current cool-down (doubles per failed probe)
  retry_at      timestamptz,                 -- open: when the next probe may go
  probe_task    uuid,                        -- half_open: the probe, a task and its attempt
  probe_attempt integer,
  probe_until   timestamptz,                 -- half_open: after this another task may probe
  trips         bigint NOT NULL DEFAULT 0,   -- closed → open, ever
  probes        bigint NOT NULL DEFAULT 0,   -- probes let through, ever
  deferred      bigint NOT NULL DEFAULT 0,   -- tasks put back in the queue, ever
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Per-host settings; a NULL column takes the worker's flag (--breaker-failures,
-- --breaker-cooldown, --breaker-max-cooldown). failures = 0: no breaker for this host.
CREATE TABLE taskq.breaker_settings (
  host           text PRIMARY KEY CHECK (length(host) BETWEEN 1 AND 300),
  failures       integer CHECK (failures BETWEEN 0 AND 1000000),
  cooldown_s     double precision CHECK (cooldown_s > 0 AND cooldown_s <= 86400),
  max_cooldown_s double precision CHECK (max_cooldown_s > 0 AND max_cooldown_s <= 86400)
);

-- The host whose breaker a queued task waits for (set by taskq.defer): when that breaker
-- closes, its tasks run at once instead of at their run_at. Only waiting rows are indexed.
ALTER TABLE taskq.tasks ADD COLUMN breaker_host text;
CREATE INDEX tasks_breaker_wait ON taskq.tasks (breaker_host)
  WHERE state = 'queued' AND breaker_host IS NOT NULL;
