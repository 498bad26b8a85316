-- taskq schema, version 14: no change to the schema. Version 14 made the claim's inner
-- statement (taskq.take: functions/claim.sql) PL/pgSQL. The number stays taken: installs
-- have it recorded, so a new step must never reuse it. (A step needs a statement: an empty
-- one is refused by PostgreSQL.)
SELECT 'version 14: functions only';
