-- taskq schema, version 10: no change to the schema. Version 10 brought batch submit
-- (taskq.submit_many: functions/submit.sql). The number stays taken: installs have it
-- recorded, so a new step must never reuse it. (A step needs a statement: an empty one is
-- refused by PostgreSQL.)
SELECT 'version 10: functions only';
