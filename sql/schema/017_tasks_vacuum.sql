-- taskq schema, version 17: vacuum the task table's indexes, however big the table is.
--
-- A claim or a completion leaves a dead index entry in tasks_ready (the queued rows, ordered
-- by queue, priority, run_at, id) at the head of its queue, where every claim and every fair
-- submit starts its scan. VACUUM removes such entries only when it vacuums the indexes, and
-- PostgreSQL skips that when fewer than 2% of the table's pages hold dead rows: beside 10M
-- finished rows (456,000 pages) the dead rows of a drain never reach that, so the entries
-- stayed, each drain left more, and every claim and submit stepped over all of them (with
-- 2M finished rows, four drains of 10,000 in a row: 2,204, 2,097, 1,836, 1,695 tasks/s;
-- with the indexes vacuumed: 2,323, 2,510, 2,174, 2,325). So: always vacuum the indexes, and
-- vacuum after 1% of the rows changed plus 1,000 (not 20%: at 10M rows that was 2M dead rows,
-- a quarter of an hour of a busy drain). A vacuum then reads the table's indexes in full
-- (about 1.5 GB at 10M rows, seconds of one core, at most once a minute per table).
ALTER TABLE taskq.tasks SET (vacuum_index_cleanup = on, autovacuum_vacuum_scale_factor = 0.01,
                             autovacuum_vacuum_threshold = 1000);
