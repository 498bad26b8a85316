-- taskq schema, version 22: the delayed tasks, apart. taskq.next_run_at asks each worker's
-- queues for the earliest task still to come; without an index of its own that question
-- walked every queued task of the queue (tasks_ready leads with the priority, run_at comes
-- after it): 50–300 ms a call with a backlog of 75,000, asked several times a second, on the
-- claimer's connection. A task is here while it waits for a time after it was made: a delay,
-- a retry's back-off, a release, a rescue, a block on its parents ('infinity'); a plain
-- submit (run_at = created_at) never is, so it costs submits nothing.

CREATE INDEX tasks_delayed ON taskq.tasks (queue, run_at)
  WHERE state = 'queued' AND run_at > created_at;
