-- taskq schema, version 29: streamed output. A running task may append chunks of text apart
-- from its progress (a command program's "output TEXT" lines, an http task's streamed
-- upstream body), numbered per task (seq 1, 2, ... across attempts, each with its attempt);
-- browsers follow them live (GET /api/tasks/{id}/output/stream) and read them back
-- (GET /api/tasks/{id}/output?after=SEQ). The functions (taskq.output_many, output_page,
-- output_since): functions/output.sql.
--
-- task_output_heads holds one row per task with output: the last seq handed out, the bytes
-- kept and whether the cap was reached, so an append neither scans nor sums the chunks. No
-- foreign key, like task_events: taskq.prune deletes both with their task.

CREATE TABLE taskq.task_output (
  task_id   uuid        NOT NULL,
  seq       bigint      NOT NULL,
  attempt   integer     NOT NULL,
  data      text        NOT NULL,
  at        timestamptz NOT NULL DEFAULT now(),
  truncated boolean     NOT NULL DEFAULT false, -- the marker: later output went over the cap
  PRIMARY KEY (task_id, seq)
);

CREATE TABLE taskq.task_output_heads (
  task_id   uuid    PRIMARY KEY,
  last_seq  bigint  NOT NULL DEFAULT 0,
  bytes     bigint  NOT NULL DEFAULT 0,     -- octets of data kept (the marker's aside)
  truncated boolean NOT NULL DEFAULT false
);
