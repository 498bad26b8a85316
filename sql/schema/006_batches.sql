-- taskq schema, version 6: no change to the schema. Version 6 brought batched completions
-- (taskq.complete_many: functions/complete.sql). The number stays taken: installs have it
-- recorded, so a new step must never reuse it. (A step needs a statement: an empty one is
-- refused by PostgreSQL.)
SELECT 'version 6: functions only';
