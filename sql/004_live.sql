-- taskq schema, version 4: change notifications for live views, and the queue overview.

-- Every statement that changes tasks announces their ids on channel taskq_task, once per
-- statement (a claim of 100 tasks is one NOTIFY, not 100), so taskq-fcgi can answer
-- long-polls and feed live streams without polling. Payloads stay under NOTIFY's 8000-byte
-- limit: ids go out in chunks of 200.
CREATE FUNCTION taskq.notify_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('taskq_task', ids)
     FROM (SELECT string_agg(id::text, ',') AS ids
             FROM (SELECT id, (row_number() OVER ()) / 200 AS chunk FROM changed) c
            GROUP BY chunk) chunks;
  RETURN NULL;
END $$;

CREATE TRIGGER tasks_notify_changes
  AFTER UPDATE ON taskq.tasks
  REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT
  EXECUTE FUNCTION taskq.notify_changes();

-- Per queue: counts by state, the age of the oldest queued task, and how many finished in
-- the last minute. One pass over the table: taskq-fcgi caches the answer for a second.
CREATE VIEW taskq.queue_overview AS
SELECT queue,
       count(*) FILTER (WHERE state = 'queued')    AS queued,
       count(*) FILTER (WHERE state = 'running')   AS running,
       count(*) FILTER (WHERE state = 'succeeded') AS succeeded,
       count(*) FILTER (WHERE state = 'failed')    AS failed,
       count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
       extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'queued'))
         AS oldest_queued_s,
       count(*) FILTER (WHERE finished_at > now() - interval '1 minute') AS finished_last_minute
  FROM taskq.tasks
 GROUP BY queue
 ORDER BY queue;
