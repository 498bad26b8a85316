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
-- last_error) and computes the first fire time after now. (Firing, the bookkeeping and the
-- overview: functions/schedules.sql; fire rows are pruned with the tasks, maintenance.sql.)

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
