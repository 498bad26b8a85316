-- examples/approve/schema.sql — the example app's own table, in its own schema (applied by
-- app.py at start; idempotent). An approval row and its task are made in one transaction:
-- the row names the task, and neither exists without the other.
CREATE SCHEMA IF NOT EXISTS approve_example;

CREATE TABLE IF NOT EXISTS approve_example.approvals (
  id          bigserial PRIMARY KEY,
  request_id  text NOT NULL,
  approver    text NOT NULL,
  amount      numeric(12, 2) NOT NULL,
  task_id     uuid,                        -- taskq.tasks.id; the task may be pruned later
  created_at  timestamptz NOT NULL DEFAULT now()
);
