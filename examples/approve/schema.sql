-- examples/approve/schema.sql — the example app's own tables, in its own schema (applied by
-- app.py at start; idempotent, and it brings the tables of an older version of the app up to
-- date). An approval row and its task are made in one transaction: the row names the task,
-- and neither exists without the other.
--
-- A request has at most one standing approval, and the database is what says so: the
-- partial unique index below makes a second Approve (a double click, a second tab, a
-- replayed POST) find the first approval instead of submitting a second task, however the
-- requests interleave. An approval whose task failed or was cancelled is set aside
-- (voided_at) by the next Approve of its request, which then stands in its place.
CREATE SCHEMA IF NOT EXISTS approve_example;

CREATE TABLE IF NOT EXISTS approve_example.requests (
  id          text PRIMARY KEY,                -- REQ-1042
  requester   text NOT NULL,
  item        text NOT NULL,
  amount      numeric(12, 2) NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
-- numbers of the requests filed from the page ("New request"), after the five below
CREATE SEQUENCE IF NOT EXISTS approve_example.request_numbers START 1047;
INSERT INTO approve_example.requests (id, requester, item, amount) VALUES
  ('REQ-1042', 'Dana Whitfield', 'Laptop for the new designer', 1850.00),
  ('REQ-1043', 'Omar Haddad', 'Conference trip, Lisbon', 1240.50),
  ('REQ-1044', 'Mei Tanaka', 'Two 27" monitors', 689.98),
  ('REQ-1045', 'Lukas Brandt', 'Team offsite catering', 2310.00),
  ('REQ-1046', 'Aisha Okafor', 'Accessibility audit of the shop', 4800.00)
ON CONFLICT (id) DO NOTHING;

CREATE TABLE IF NOT EXISTS approve_example.approvals (
  id          bigserial PRIMARY KEY,
  request_id  text NOT NULL,
  approver    text NOT NULL,
  amount      numeric(12, 2) NOT NULL,
  task_id     uuid,                        -- taskq.tasks.id; the task may be pruned later
  created_at  timestamptz NOT NULL DEFAULT now(),
  voided_at   timestamptz                  -- set aside: its task failed or was cancelled
);
ALTER TABLE approve_example.approvals ADD COLUMN IF NOT EXISTS voided_at timestamptz;
-- the app's first version let a request be approved again and again: the first one stands
UPDATE approve_example.approvals a SET voided_at = now()
 WHERE a.voided_at IS NULL
   AND EXISTS (SELECT 1 FROM approve_example.approvals b
                WHERE b.request_id = a.request_id AND b.voided_at IS NULL AND b.id < a.id);
CREATE UNIQUE INDEX IF NOT EXISTS approvals_one_standing_per_request
  ON approve_example.approvals (request_id) WHERE voided_at IS NULL;
