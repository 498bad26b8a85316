-- taskq schema, version 4: no change to the schema. Version 4 brought the change notifications
-- for live views (taskq.notify_changes: functions/live.sql, bound in functions/triggers.sql)
-- and the view taskq.queue_overview (functions/admin_views.sql). The number stays taken:
-- installs have it recorded, so a new step must never reuse it. (A step needs a statement:
-- an empty one is refused by PostgreSQL.)
SELECT 'version 4: functions only';
