-- taskq schema, version 12: recurring schedules.
--
-- taskq.schedules: one row per schedule: a cron expression (5 fields, 6 with seconds first,
-- @hourly-style aliases, @every 30s) read in a time zone, and the template of the task each
-- fire time submits. Workers fire them: each worker's scheduler thread looks once a second
-- for schedules whose next_fire_at has come, computes the fire times in C (lib/cron.c,
-- lib/tz.c) and calls taskq.fire_schedule() for each. Exactly one task per fire time however
-- many workers run: taskq.schedule_fires has one row per (schedule, fire time), inserted in
-- the same transaction as the task, so two workers firing the same time collide on its key
-- and the second does nothing (no leader to lose mid-fire).
--
-- Managed over HTTP (/api/schedules), with the CLI (taskq schedule add|list|rm) or plain SQL:
-- an INSERT that leaves next_fire_at NULL is picked up by the next scheduler round, which
-- checks the expression and the zone (a bad one disables the schedule, with the reason in
-- last_error) and computes the first fire time after now.

CREATE TABLE taskq.schedules (
  name          text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  cron          text NOT NULL CHECK (length(cron) BETWEEN 1 AND 256),
  tz            text NOT NULL DEFAULT 'UTC' CHECK (length(tz) BETWEEN 1 AND 64),
  kind          text NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
  payload       jsonb NOT NULL DEFAULT '{}',
  queue         text NOT NULL DEFAULT 'default' CHECK (length(queue) BETWEEN 1 AND 64),
  priority      smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN -1000 AND 1000),
  max_attempts  integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
  timeout_s     integer CHECK (timeout_s BETWEEN 1 AND 86400),
  owner         text NOT NULL DEFAULT 'anonymous',
  enabled       boolean NOT NULL DEFAULT true,
  -- after downtime: how many missed fire times to run besides the latest (0: only the latest)
  backfill      integer NOT NULL DEFAULT 0 CHECK (backfill BETWEEN 0 AND 1000),
  last_fire_at  timestamptz,
  next_fire_at  timestamptz,
  last_task_id  uuid,
  last_error    text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- the scheduler's once-a-second question: what is due (or new, next_fire_at NULL)
CREATE INDEX schedules_due ON taskq.schedules (next_fire_at) WHERE enabled;
CREATE INDEX schedules_owner ON taskq.schedules (owner, name);

CREATE TABLE taskq.schedule_fires (
  schedule  text NOT NULL REFERENCES taskq.schedules (name) ON DELETE CASCADE
                 ON UPDATE CASCADE,
  fire_at   timestamptz NOT NULL,
  task_id   uuid NOT NULL,
  fired_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  worker_id text,
  PRIMARY KEY (schedule, fire_at)
);
CREATE INDEX schedule_fires_fired_at ON taskq.schedule_fires (fired_at);

-- Submits the task of schedule s for fire time at, once: the fire row and the task are
-- inserted together, and a fire time already fired (by this or another worker) does nothing.
-- Returns the new task's id, or NULL when the time had been fired, or the schedule is gone
-- or disabled.
CREATE FUNCTION taskq.fire_schedule(s text, at timestamptz, worker text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
  sc taskq.schedules;
  new_id uuid := taskq.uuid_v7();
BEGIN
  SELECT * INTO sc FROM taskq.schedules WHERE name = s AND enabled;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  INSERT INTO taskq.schedule_fires (schedule, fire_at, task_id, worker_id)
  VALUES (s, at, new_id, worker)
  ON CONFLICT (schedule, fire_at) DO NOTHING;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  INSERT INTO taskq.tasks (id, kind, payload, queue, priority, run_at, max_attempts, timeout_s,
                           owner)
  VALUES (new_id, sc.kind, sc.payload, sc.queue, sc.priority, now(), sc.max_attempts,
          sc.timeout_s, sc.owner);
  UPDATE taskq.schedules
     SET last_fire_at = greatest(last_fire_at, at), last_task_id = new_id
   WHERE name = s AND (last_fire_at IS NULL OR last_fire_at <= at);
  RETURN new_id;
END $$;

-- The scheduler's bookkeeping after a round: the next fire time it computed (NULL and
-- enabled = false with the reason when the expression or the zone is bad). Never moves
-- next_fire_at back past what another worker already set for a later time.
CREATE FUNCTION taskq.schedule_advance(s text, next_at timestamptz, error text DEFAULT NULL)
RETURNS void
LANGUAGE sql AS $$
  UPDATE taskq.schedules
     SET next_fire_at = CASE WHEN error IS NOT NULL THEN NULL
                             ELSE greatest(next_at, CASE WHEN next_fire_at > now()
                                                         THEN next_fire_at END) END,
         enabled = enabled AND error IS NULL,
         last_error = error,
         updated_at = CASE WHEN error IS NOT NULL THEN now() ELSE updated_at END
   WHERE name = s;
$$;

-- Fire rows are history: pruned with the tasks they made (see the worker's --retention-h).
CREATE VIEW taskq.schedule_overview AS
SELECT s.name, s.cron, s.tz, s.kind, s.queue, s.owner, s.enabled, s.backfill, s.last_fire_at,
       s.next_fire_at, s.last_error,
       (SELECT count(*) FROM taskq.schedule_fires f WHERE f.schedule = s.name) AS fires
  FROM taskq.schedules s;

-- Retention: fire rows go with the finished tasks (the worker's prune, --retention-h); the
-- latest fire time of each schedule lives on in taskq.schedules.last_fire_at.
CREATE OR REPLACE FUNCTION taskq.prune(older_than interval DEFAULT '7 days', batch integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  WITH old AS (
    SELECT id FROM taskq.tasks
     WHERE state IN ('succeeded', 'failed', 'cancelled') AND finished_at < now() - older_than
     ORDER BY finished_at
     LIMIT batch
     FOR UPDATE SKIP LOCKED
  ), gone AS (
    DELETE FROM taskq.tasks t USING old WHERE t.id = old.id RETURNING t.id
  ), ev AS (
    DELETE FROM taskq.task_events e USING gone WHERE e.task_id = gone.id
  )
  SELECT count(*) INTO n FROM gone;
  DELETE FROM taskq.schedule_fires f
   WHERE f.ctid = ANY (ARRAY(SELECT x.ctid FROM taskq.schedule_fires x
                              WHERE x.fired_at < now() - older_than LIMIT batch));
  RETURN n;
END $$;
