-- taskq schema, version 16: no change to the schema. Version 16 set plan_cache_mode = auto on
-- taskq.claim; that setting is now part of the claim's definition (functions/claim.sql). The
-- number stays taken: installs have it recorded, so a new step must never reuse it. (A step
-- needs a statement: an empty one is refused by PostgreSQL.)
SELECT 'version 16: functions only';
