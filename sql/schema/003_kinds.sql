-- taskq schema, version 3: what the http and command kinds and completion webhooks need.

-- taskq.fail gained retry_in_s (an upstream's Retry-After) in version 3: the old signature
-- goes. IF EXISTS: a fresh install has no functions yet at this point.
DROP FUNCTION IF EXISTS taskq.fail(uuid, text, text, boolean);

-- Completion webhooks: a task may carry callback_url; when it reaches a final state its
-- callback becomes 'pending', a worker POSTs the task JSON there (signed) and marks it
-- 'delivered', or retries with back-off and finally marks it 'failed'. The callback never
-- changes the task's own outcome. (The trigger that arms a callback and the verbs that
-- deliver it: functions/callbacks.sql.)
ALTER TABLE taskq.tasks
  ADD COLUMN callback_url text CHECK (length(callback_url) BETWEEN 1 AND 2048),
  ADD COLUMN callback_state text CHECK (callback_state IN ('pending', 'delivered', 'failed')),
  ADD COLUMN callback_attempts integer NOT NULL DEFAULT 0,
  ADD COLUMN callback_next_at timestamptz,
  ADD COLUMN callback_error text;

CREATE INDEX tasks_callbacks_due ON taskq.tasks (callback_next_at) WHERE callback_state = 'pending';
