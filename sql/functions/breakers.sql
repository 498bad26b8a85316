-- functions/breakers.sql: circuit breakers for the upstream hosts of the http kind (the tables
-- and the state machine: schema/009_breakers.sql). Every transition is made here, under the
-- host's row lock: two workers reporting at once never lose a count, the breaker trips once,
-- and one probe at a time is let through. The same row holds the host's throttle (an upstream
-- that asked to wait: schema/023_throttles.sql), checked at the same admission. Must not decide
-- what counts as a failure, nor read an answer's headers: the worker does (worker/breakers.c,
-- worker/kinds/httpwait.c).

-- Workers re-read the breakers when one changes state or starts (or stops) counting
-- failures; counters alone do not wake them (the WHEN clauses of breakers_notify_update and
-- breakers_notify_delete, triggers.sql, which send on channel taskq_breakers with
-- taskq.notify_channel).

-- The settings of host: its row of taskq.breaker_settings over the worker's defaults.
CREATE OR REPLACE FUNCTION taskq.breaker_settings_for(
  h text, d_failures integer, d_cooldown_s float8, d_max_cooldown_s float8,
  OUT failures integer, OUT cooldown_s float8, OUT max_cooldown_s float8)
LANGUAGE sql STABLE AS $$
  SELECT coalesce(s.failures, d_failures),
         coalesce(s.cooldown_s, d_cooldown_s),
         greatest(coalesce(s.max_cooldown_s, d_max_cooldown_s), coalesce(s.cooldown_s, d_cooldown_s))
    FROM (SELECT 1) one LEFT JOIN taskq.breaker_settings s ON s.host = h
$$;

-- What a task waiting for breaker b says: "circuit open for api.example.com: 5 consecutive
-- failures (HTTP 503), next probe at 12:00:05Z".
CREATE OR REPLACE FUNCTION taskq.breaker_message(b taskq.breakers, next_at timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT format('circuit %s for %s: %s consecutive failure%s%s, %s at %s',
                CASE WHEN b.state = 'half_open' THEN 'half-open' ELSE 'open' END, b.host,
                b.failures, CASE WHEN b.failures = 1 THEN '' ELSE 's' END,
                CASE WHEN b.last_error IS NOT NULL THEN ' (' || b.last_error || ')' ELSE '' END,
                CASE WHEN b.state = 'half_open' THEN 'a probe is running, next try'
                     ELSE 'next probe' END,
                to_char(next_at AT TIME ZONE 'UTC', 'HH24:MI:SS"Z"'))
$$;

-- A time in a throttle's message: "12:00:03Z" within 12 hours, else the date too.
CREATE OR REPLACE FUNCTION taskq.throttle_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC',
                 CASE WHEN t - now() < interval '12 hours' THEN 'HH24:MI:SS"Z"'
                      ELSE 'YYYY-MM-DD"T"HH24:MI:SS"Z"' END)
$$;

-- What a task held by b's throttle says: "upstream api.example.com asked to wait until
-- 12:00:03Z (429 Retry-After: 3)"; when the wait was capped, "; held until 12:10:00Z (the
-- workers' --http-retry-after-max)" follows.
CREATE OR REPLACE FUNCTION taskq.throttle_message(b taskq.breakers) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT format('upstream %s asked to wait until %s (%s)', b.host,
                taskq.throttle_time(coalesce(b.throttle_asked_until, b.throttled_until)),
                coalesce(b.throttle_reason, 'throttled'))
         || CASE WHEN b.throttle_asked_until > b.throttled_until
                 THEN format('; held until %s (the workers'' --http-retry-after-max)',
                             taskq.throttle_time(b.throttled_until))
                 ELSE '' END
$$;

-- Puts a claimed task back in the queue without spending an attempt (the claim's count is
-- undone: the host, not the task, failed), due at `until`, with msg as its message; host (may
-- be NULL) is the breaker it waits for. A task whose cancel was requested is cancelled
-- instead. Fenced by worker and attempt like taskq.fail: false when this holder no longer
-- holds the task.
CREATE OR REPLACE FUNCTION taskq.defer(task uuid, worker text, att integer, until timestamptz,
                                       msg text, host text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  t taskq.tasks;
BEGIN
  UPDATE taskq.tasks x
     SET state = CASE WHEN x.cancel_requested THEN 'cancelled'::taskq.state
                      ELSE 'queued'::taskq.state END,
         attempts = greatest(x.attempts - 1, 0),
         run_at = CASE WHEN x.cancel_requested THEN x.run_at ELSE until END,
         finished_at = CASE WHEN x.cancel_requested THEN now() END,
         message = msg, breaker_host = host, lease_until = NULL, worker_id = NULL,
         updated_at = now(), version = x.version + 1
   WHERE x.id = task AND x.worker_id = worker AND x.attempts = att AND x.state = 'running'
  RETURNING * INTO t;
  IF NOT taskq.attempt_ended(t, worker,
                             CASE WHEN t.state = 'cancelled' THEN 'cancelled' ELSE 'deferred' END,
                             att, msg) THEN
    RETURN false;
  END IF;
  IF t.state = 'queued' AND until <= now() THEN
    PERFORM pg_notify('taskq_wake', '');
  END IF;
  RETURN true;
END $$;

-- A task of a throttled host (the breaker's row b, locked by the caller) goes back until the
-- throttle ends, with message: 'deferred', counted on the breaker; 'lost' when the worker no
-- longer holds it (taskq.defer).
CREATE OR REPLACE FUNCTION taskq.throttle_hold(task uuid, worker text, att integer,
                                               b taskq.breakers, message text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT taskq.defer(task, worker, att, b.throttled_until, message, b.host) THEN
    RETURN 'lost';
  END IF;
  UPDATE taskq.breakers x SET deferred = x.deferred + 1 WHERE x.host = b.host;
  RETURN 'deferred';
END $$;

-- Closes host's breaker (the caller holds its row lock, or this takes it): consecutive
-- failures back to 0, no probe, and the tasks that waited for it run now. Returns the state
-- it had (NULL: no row).
-- While the host is throttled they wait for the throttle's end instead, with its message.
CREATE OR REPLACE FUNCTION taskq.breaker_close(h text) RETURNS taskq.breaker_state
LANGUAGE plpgsql AS $$
DECLARE
  b taskq.breakers;
  held timestamptz;
BEGIN
  SELECT * INTO b FROM taskq.breakers x WHERE x.host = h FOR UPDATE;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  UPDATE taskq.breakers x
     SET state = 'closed', failures = 0, cooldown_s = NULL, retry_at = NULL,
         probe_task = NULL, probe_attempt = NULL, probe_until = NULL, updated_at = now()
   WHERE x.host = h AND (x.state <> 'closed' OR x.failures <> 0);
  IF b.state <> 'closed' THEN
    held := CASE WHEN b.throttled_until > now() THEN b.throttled_until END;
    UPDATE taskq.tasks t
       SET run_at = coalesce(held, now()),
           message = CASE WHEN held IS NOT NULL THEN taskq.throttle_message(b) END,
           updated_at = now(), version = t.version + 1
     WHERE t.breaker_host = h AND t.state = 'queued' AND t.run_at > coalesce(held, now());
    PERFORM pg_notify('taskq_wake', '');
  END IF;
  RETURN b.state;
END $$;

-- By hand: closes host's breaker and lifts its throttle now; the tasks that waited for either
-- run now. True when it was open, half-open or throttled.
CREATE OR REPLACE FUNCTION taskq.breaker_reset(h text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  lifted boolean;
  closed boolean;
BEGIN
  UPDATE taskq.breakers x SET throttled_until = NULL, updated_at = now()
   WHERE x.host = h AND x.throttled_until > now()
  RETURNING true INTO lifted;
  closed := coalesce(taskq.breaker_close(h) <> 'closed', false);
  IF lifted AND NOT closed THEN
    UPDATE taskq.tasks t
       SET run_at = now(), message = NULL, updated_at = now(), version = t.version + 1
     WHERE t.breaker_host = h AND t.state = 'queued' AND t.run_at > now();
    PERFORM pg_notify('taskq_wake', '');
  END IF;
  RETURN closed OR coalesce(lifted, false);
END $$;

-- A worker asks before it calls host for a claimed task (only when its copy of the breakers
-- shows the host not closed). verdict:
--   run       the breaker is closed: go ahead
--   probe     the cool-down is over (or the previous probe is gone: its worker died, its
--             deadline passed): this task is the probe, the breaker is now half-open, and
--             no other task gets through before probe_s seconds or this one's report
--   deferred  the task went back to the queue (its attempt not counted) until the next probe
--             time and a little jitter, or until the host's throttle ends (before the
--             breaker is looked at); message says why
--   lost      the worker no longer holds the task
-- throttled_s: the seconds the host's throttle has left (0: none), for the worker's copy.
CREATE OR REPLACE FUNCTION taskq.breaker_admit(
  h text, task uuid, worker text, att integer, probe_s float8,
  OUT verdict text, OUT state taskq.breaker_state, OUT failures integer, OUT message text,
  OUT throttled_s float8)
LANGUAGE plpgsql AS $$
DECLARE
  b taskq.breakers;
  probe_alive boolean := false;
  until timestamptz;
BEGIN
  SELECT * INTO b FROM taskq.breakers x WHERE x.host = h FOR UPDATE;
  throttled_s := 0;
  IF FOUND AND b.throttled_until > now() THEN
    -- the host asked to wait: nothing goes to it before then, probe or not
    throttled_s := extract(epoch FROM b.throttled_until - now());
    message := taskq.throttle_message(b);
    state := b.state;
    failures := b.failures;
    verdict := taskq.throttle_hold(task, worker, att, b, message);
    RETURN;
  END IF;
  IF NOT FOUND OR b.state = 'closed' THEN
    verdict := 'run';
    state := 'closed';
    failures := coalesce(b.failures, 0);
    RETURN;
  END IF;
  IF b.state = 'half_open' AND NOT (b.probe_task = task AND b.probe_attempt = att) THEN
    probe_alive := coalesce(b.probe_until > now(), false) AND EXISTS (
      SELECT 1 FROM taskq.tasks x
       WHERE x.id = b.probe_task AND x.attempts = b.probe_attempt AND x.state = 'running');
  END IF;
  IF (b.state = 'open' AND coalesce(b.retry_at <= now(), true))
     OR (b.state = 'half_open' AND NOT probe_alive) THEN
    IF NOT EXISTS (SELECT 1 FROM taskq.tasks x WHERE x.id = task AND x.worker_id = worker
                     AND x.attempts = att AND x.state = 'running') THEN
      verdict := 'lost';
      state := b.state;
      failures := b.failures;
      RETURN;
    END IF;
    UPDATE taskq.breakers x
       SET state = 'half_open', probe_task = task, probe_attempt = att,
           probe_until = now() + make_interval(secs => probe_s),
           probes = x.probes + CASE WHEN x.probe_task = task AND x.probe_attempt = att
                                    THEN 0 ELSE 1 END,
           updated_at = now()
     WHERE x.host = h
    RETURNING * INTO b;
    verdict := 'probe';
    state := b.state;
    failures := b.failures;
    RETURN;
  END IF;
  -- wait for the next probe time: a probe may go at retry_at, or once the running probe is
  -- over (at the latest at its deadline; a success lets the waiting tasks run at once)
  until := CASE WHEN b.state = 'open' THEN b.retry_at
                ELSE least(b.probe_until, now() + make_interval(secs => coalesce(b.cooldown_s, 1)))
           END;
  until := until + make_interval(secs => random() * 0.1 * coalesce(b.cooldown_s, 1));
  message := taskq.breaker_message(b, until);
  state := b.state;
  failures := b.failures;
  IF taskq.defer(task, worker, att, until, message, h) THEN
    verdict := 'deferred';
    UPDATE taskq.breakers x SET deferred = x.deferred + 1 WHERE x.host = h;
  ELSE
    verdict := 'lost';
  END IF;
END $$;

-- A worker reports what host did for an attempt: ok (it answered: 2xx, 3xx, a 4xx but 408)
-- or not (a network error, a timeout, a 408 or a 5xx; reason says which, shortly). The
-- defaults are the reporting worker's flags. transition: 'opened' (N consecutive failures),
-- 'reopened' (the probe failed), 'closed' (a success while open or half-open), or NULL.
CREATE OR REPLACE FUNCTION taskq.breaker_report(
  h text, task uuid, att integer, ok boolean, reason text,
  d_failures integer, d_cooldown_s float8, d_max_cooldown_s float8,
  OUT transition text, OUT state taskq.breaker_state, OUT failures integer, OUT cooldown_s float8)
LANGUAGE plpgsql AS $$
DECLARE
  b taskq.breakers;
  cfg record;
BEGIN
  SELECT * INTO cfg FROM taskq.breaker_settings_for(h, d_failures, d_cooldown_s, d_max_cooldown_s);
  IF ok OR cfg.failures <= 0 THEN
    -- a success (or no breaker for this host): closed, counting from 0 (no write when it is)
    IF EXISTS (SELECT 1 FROM taskq.breakers x WHERE x.host = h
                AND (x.state <> 'closed' OR x.failures <> 0))
       AND taskq.breaker_close(h) <> 'closed' THEN
      transition := 'closed';
    END IF;
    state := 'closed';
    failures := 0;
    RETURN;
  END IF;
  INSERT INTO taskq.breakers (host) VALUES (h) ON CONFLICT (host) DO NOTHING;
  SELECT * INTO b FROM taskq.breakers x WHERE x.host = h FOR UPDATE;
  b.failures := b.failures + 1;
  b.last_error := left(reason, 200);
  IF b.state = 'half_open' AND b.probe_task = task AND b.probe_attempt = att THEN
    transition := 'reopened';
    b.cooldown_s := least(coalesce(b.cooldown_s, cfg.cooldown_s) * 2, cfg.max_cooldown_s);
  ELSIF b.state = 'closed' AND b.failures >= cfg.failures THEN
    transition := 'opened';
    b.cooldown_s := cfg.cooldown_s;
    b.opened_at := now();
    b.trips := b.trips + 1;
  END IF;
  IF transition IS NOT NULL THEN
    b.state := 'open';
    b.retry_at := now() + make_interval(secs => b.cooldown_s);
    b.probe_task := NULL;
    b.probe_attempt := NULL;
    b.probe_until := NULL;
  END IF;
  UPDATE taskq.breakers x
     SET state = b.state, failures = b.failures, last_error = b.last_error,
         opened_at = b.opened_at, cooldown_s = b.cooldown_s, retry_at = b.retry_at,
         probe_task = b.probe_task, probe_attempt = b.probe_attempt,
         probe_until = b.probe_until, trips = b.trips, updated_at = now()
   WHERE x.host = h;
  state := b.state;
  failures := b.failures;
  cooldown_s := b.cooldown_s;
END $$;

-- A worker reports that host asked to wait wait_s seconds: a 429 or 503 with Retry-After, or
-- a spent rate-limit budget; reason says which ("429 Retry-After: 3"). max_s is the reporting
-- worker's --http-retry-after-max: the host is held for at most that long (capped says it was
-- asked for longer). A throttle only ever grows: a shorter wait than the one in force changes
-- nothing but the counters. With a task (the attempt that got the answer), the task goes back
-- to the queue until the throttle ends, its attempt not counted; if it was the breaker's probe,
-- the breaker is open again until then (the host answered, but no verdict on its health).
-- verdict: 'held' (no task given), 'deferred', or 'lost' (the worker no longer holds the
-- task; the throttle is recorded all the same). throttled_s: the seconds the throttle has
-- left; message: what the held tasks say.
CREATE OR REPLACE FUNCTION taskq.breaker_throttle(
  h text, wait_s float8, max_s float8, reason text,
  task uuid DEFAULT NULL, worker text DEFAULT NULL, att integer DEFAULT NULL,
  OUT verdict text, OUT throttled_s float8, OUT capped boolean, OUT message text)
LANGUAGE plpgsql AS $$
DECLARE
  b taskq.breakers;
  asked timestamptz := now() + make_interval(secs => least(greatest(wait_s, 0), 1e9));
  until timestamptz := now() + make_interval(secs => least(greatest(wait_s, 0), max_s));
BEGIN
  capped := wait_s > max_s;
  INSERT INTO taskq.breakers (host) VALUES (h) ON CONFLICT (host) DO NOTHING;
  SELECT * INTO b FROM taskq.breakers x WHERE x.host = h FOR UPDATE;
  IF b.throttled_until IS NULL OR b.throttled_until < until THEN
    b.throttled_until := until;
    b.throttle_asked_until := asked;
    b.throttle_reason := left(reason, 200);
  END IF;
  IF task IS NOT NULL AND b.state = 'half_open' AND b.probe_task = task
     AND b.probe_attempt = att THEN
    b.state := 'open';
    b.retry_at := greatest(b.throttled_until, coalesce(b.retry_at, now()));
    b.probe_task := NULL;
    b.probe_attempt := NULL;
    b.probe_until := NULL;
  END IF;
  UPDATE taskq.breakers x
     SET throttled_until = b.throttled_until, throttle_asked_until = b.throttle_asked_until,
         throttle_reason = b.throttle_reason, throttles = x.throttles + 1,
         throttles_capped = x.throttles_capped + CASE WHEN capped THEN 1 ELSE 0 END,
         state = b.state, retry_at = b.retry_at, probe_task = b.probe_task,
         probe_attempt = b.probe_attempt, probe_until = b.probe_until, updated_at = now()
   WHERE x.host = h;
  throttled_s := greatest(extract(epoch FROM b.throttled_until - now()), 0);
  message := taskq.throttle_message(b);
  verdict := CASE WHEN task IS NULL THEN 'held'
                  ELSE taskq.throttle_hold(task, worker, att, b, message) END;
END $$;

-- The hosts throttled now: until when, what they asked for and why, the seconds left, the
-- queued tasks that wait for the throttle (or for the host's breaker), the counters, and the
-- message those tasks carry.
CREATE OR REPLACE VIEW taskq.upstream_throttles AS
SELECT b.host, b.throttled_until AS until, b.throttle_asked_until AS asked_until,
       b.throttle_reason AS reason,
       extract(epoch FROM b.throttled_until - now())::float8 AS seconds_left,
       (SELECT count(*) FROM taskq.tasks t
         WHERE t.breaker_host = b.host AND t.state = 'queued' AND t.run_at > now()) AS waiting,
       b.throttles, b.throttles_capped, taskq.throttle_message(b) AS message
  FROM taskq.breakers b
 WHERE b.throttled_until > now()
 ORDER BY b.throttled_until DESC, b.host;

-- The same for one owner: the throttled hosts its own queued tasks wait for, with those only
-- counted (an owner does not learn the hosts other owners' tasks call).
CREATE OR REPLACE FUNCTION taskq.upstream_throttles_of(who text)
RETURNS TABLE (host text, until timestamptz, asked_until timestamptz, reason text,
               seconds_left float8, waiting bigint, message text)
LANGUAGE sql STABLE AS $$
  SELECT u.host, u.until, u.asked_until, u.reason, u.seconds_left, w.n, u.message
    FROM taskq.upstream_throttles u
    CROSS JOIN LATERAL (SELECT count(*) AS n FROM taskq.tasks t
                         WHERE t.breaker_host = u.host AND t.state = 'queued'
                           AND t.run_at > now() AND t.owner = who) w
   WHERE w.n > 0
   ORDER BY u.until DESC, u.host
$$;
