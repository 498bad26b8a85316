-- taskq schema, version 19: keyed tasks are placed fairly too. taskq.fair_head and
-- taskq.fair_run_at take the concurrency key (the line a keyed task joins is its key's, in
-- the order a claim takes the key's tasks): a new last argument, so the old signatures go
-- (functions/submit.sql makes them anew; callers that pass no key get the plain line, as
-- before). IF EXISTS: a fresh install has no functions yet at this point.

DROP FUNCTION IF EXISTS taskq.fair_run_at(text, smallint, double precision, boolean, timestamptz);
DROP FUNCTION IF EXISTS taskq.fair_head(text, smallint);
