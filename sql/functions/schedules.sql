-- functions/schedules.sql: firing recurring schedules, once per fire time however many workers
-- run (the tables: schema/012_schedules.sql). The fire times are computed in C (lib/cron.c,
-- lib/tz.c); must not compute them here.

-- Submits the task of schedule s for fire time at, once: the fire row and the task are
-- inserted together, and a fire time already fired (by this or another worker) collides on
-- its key and does nothing (no leader to lose mid-fire). Returns the new task's id, or NULL
-- when the time had been fired, or the schedule is gone or disabled. A kind no worker
-- registered is refused as taskq.submit refuses it (the scheduler disables such a schedule
-- before it fires: its due query asks, see lib/store/schedules.c). A fire that would put the
-- schedule's owner over its cap on unfinished tasks makes a failed task that says so
-- (functions/owners.sql).
CREATE OR REPLACE FUNCTION taskq.fire_schedule(s text, at timestamptz, worker text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
  sc taskq.schedules;
  new_id uuid := taskq.uuid_v7();
  cap_mode text;
BEGIN
  SELECT * INTO sc FROM taskq.schedules WHERE name = s AND enabled;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM taskq.kinds k WHERE k.name = sc.kind) THEN
    RAISE EXCEPTION 'unknown task kind ''%''', sc.kind USING ERRCODE = '22023';
  END IF;
  INSERT INTO taskq.schedule_fires (schedule, fire_at, task_id, worker_id)
  VALUES (s, at, new_id, worker)
  ON CONFLICT (schedule, fire_at) DO NOTHING;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  -- over the owner's cap on unfinished tasks the task is made failed, saying why, rather
  -- than the fire refused (owners.sql): the fire time is spent either way
  cap_mode := current_setting('taskq.over_cap', true);
  PERFORM set_config('taskq.over_cap', 'fail', true);
  INSERT INTO taskq.tasks (id, kind, payload, queue, priority, run_at, max_attempts, timeout_s,
                           owner)
  VALUES (new_id, sc.kind, sc.payload, sc.queue, sc.priority, now(), sc.max_attempts,
          sc.timeout_s, sc.owner);
  PERFORM set_config('taskq.over_cap', coalesce(cap_mode, ''), true);
  UPDATE taskq.schedules
     SET last_fire_at = greatest(last_fire_at, at), last_task_id = new_id
   WHERE name = s AND (last_fire_at IS NULL OR last_fire_at <= at);
  RETURN new_id;
END $$;

-- The scheduler's bookkeeping after a round: the next fire time it computed (NULL and
-- enabled = false with the reason when the expression or the zone is bad). Never moves
-- next_fire_at back past what another worker already set for a later time.
CREATE OR REPLACE FUNCTION taskq.schedule_advance(s text, next_at timestamptz,
                                                  error text DEFAULT NULL)
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
CREATE OR REPLACE VIEW taskq.schedule_overview AS
SELECT s.name, s.cron, s.tz, s.kind, s.queue, s.owner, s.enabled, s.backfill, s.last_fire_at,
       s.next_fire_at, s.last_error,
       (SELECT count(*) FROM taskq.schedule_fires f WHERE f.schedule = s.name) AS fires
  FROM taskq.schedules s;
