"""An owner's cap on unfinished tasks (taskq.owner_caps, sql/functions/owners.sql) holds on
every path that makes tasks for the owner, not only on taskq-fcgi's submit: taskq.submit and
taskq.submit_many from SQL (SQLSTATE 53400), the HTTP submit, batch, chain and dedupe paths and
retries (429 too_many_unfinished, also when taskq-fcgi's own early count is stale), the CLI
with the owner's token (exit 75), follow-ups enqueued by a result and schedule fires. The last
two have nobody to answer: the tasks are made failed, saying why, and the completion or the
fire that made them stands. Admins' owners, 'anonymous' and a cap of 0 are not capped; `taskq
limit set|list|rm owner` manages the caps.

Each test caps an owner of its own at CAP with a row of its own (the stack's "*" stays 500).
"""

import os
import subprocess

import psycopg2

from taskq_harness import ENV, TOP, Client, TaskqTestCase, new_token, unique, wait_final

CAP = 3
CHAIN = os.path.join(TOP, "tests", "integration", "programs", "chain.py")


def cli(*args, token=None):
    exe = os.path.join(ENV.build, "taskq")
    env = dict(os.environ, TASKQ_TOKEN=token or "")
    return subprocess.run([exe, "--db", ENV.db] + [str(a) for a in args], capture_output=True,
                          text=True, timeout=60, env=env)


class OwnerCapTests(TaskqTestCase):

    def setUp(self):
        super().setUp()
        self.owner = unique("capped")
        self.set_cap(self.owner, CAP)
        self.q = self.own_queue("cap")

    def set_cap(self, owner, n):
        self.db.query("INSERT INTO taskq.owner_caps (owner, max_unfinished) VALUES (%s, %s) "
                      "ON CONFLICT (owner) DO UPDATE SET max_unfinished = excluded.max_unfinished",
                      (owner, n))
        self.addCleanup(self.db.query, "DELETE FROM taskq.owner_caps WHERE owner = %s", (owner,))

    def sql_submit(self, owner=None, queue=None, delay_s=3600, kind="noop", payload="{}"):
        return self.db.scalar("SELECT taskq.submit(%s, %s::jsonb, %s, delay_s => %s, "
                              "owner => %s)::text",
                              (kind, payload, queue or self.q, delay_s, owner or self.owner))

    def refused(self, sql, params=()):
        """The SQLSTATE and message of the error sql raises (it must raise)."""
        with self.assertRaises(psycopg2.Error) as e:
            self.db.query(sql, params)
        return e.exception.pgcode, e.exception.diag.message_primary

    def unfinished(self, owner=None):
        return self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE owner = %s "
                              "AND state IN ('queued', 'running')", (owner or self.owner,))

    def assert_cap_message(self, msg):
        self.assertEqual(msg, "owner %s may have at most %d unfinished (queued or running) tasks"
                         % (self.owner, CAP))

    def test_sql_submits_past_the_cap_are_refused(self):
        self.sql_submit()
        self.sql_submit()
        # a batch that does not fit lands nothing
        code, msg = self.refused(
            "SELECT * FROM taskq.submit_many(%s::jsonb, %s)",
            ('[{"kind": "noop", "queue": "%s", "delay_s": 60}, '
             '{"kind": "noop", "queue": "%s", "delay_s": 60}]' % (self.q, self.q), self.owner))
        self.assertEqual(code, "53400")
        self.assert_cap_message(msg)
        self.assertEqual(self.unfinished(), 2)
        self.sql_submit()
        code, msg = self.refused("SELECT taskq.submit('noop', queue => %s, owner => %s)",
                                 (self.q, self.owner))
        self.assertEqual(code, "53400")
        self.assert_cap_message(msg)
        # with parents (taskq.insert_tasks) too
        parent = self.sql_submit(owner="anonymous")
        code, _ = self.refused("SELECT taskq.submit('noop', queue => %s, owner => %s, "
                               "after => ARRAY[%s]::uuid[])", (self.q, self.owner, parent))
        self.assertEqual(code, "53400")
        self.assertEqual(self.unfinished(), CAP)
        # finished tasks do not count: room again
        self.db.query("SELECT taskq.cancel(id) FROM taskq.tasks WHERE owner = %s LIMIT 1",
                      (self.owner,))
        self.sql_submit()
        self.assertEqual(self.unfinished(), CAP)

    def test_a_big_backlog_is_held_to_the_cap_from_its_last_count(self):
        """Past 64 unfinished tasks an insert starts from the owner's last count
        (taskq.owner_counts) rather than walking the backlog: still exactly the cap, and a
        refusal always rests on a fresh count (tasks that finished meanwhile make room at
        once)."""
        owner = unique("big")
        self.set_cap(owner, 100)
        self.addCleanup(self.db.query, "DELETE FROM taskq.owner_counts WHERE owner = %s",
                        (owner,))
        many = '[%s]' % ", ".join(['{"kind": "noop", "queue": "%s", "delay_s": 3600}' % self.q]
                                  * 90)
        self.db.query("SELECT * FROM taskq.submit_many(%s::jsonb, %s)", (many, owner))
        self.assertEqual(self.db.scalar("SELECT unfinished FROM taskq.owner_counts "
                                        "WHERE owner = %s", (owner,)), 90)
        self.fill_to_the_cap(owner, 10, 100)
        self.db.query("SELECT taskq.cancel(id) FROM (SELECT id FROM taskq.tasks WHERE owner = %s "
                      "LIMIT 50) x", (owner,))
        self.fill_to_the_cap(owner, 50, 100)

    def fill_to_the_cap(self, owner, n, cap):
        """n submits fit; the next one is refused (53400) and owner stays at cap."""
        for _ in range(n):
            self.sql_submit(owner=owner)
        code, _ = self.refused("SELECT taskq.submit('noop', queue => %s, owner => %s)",
                               (self.q, owner))
        self.assertEqual(code, "53400")
        self.assertEqual(self.unfinished(owner), cap)

    def test_http_and_cli_paths_past_the_cap_are_refused(self):
        if Client(token=None).request("GET", "/api/me").status != 401:
            self.skipTest("auth is off on this stack")
        token = new_token(self.owner)
        c = Client(token=token)
        r = c.submit("noop", {}, queue=self.q, delay_s=3600)
        self.assertEqual(r.status, 202, str(r))
        parent = r.json["id"]
        cancelled = self.sql_submit()
        self.db.query("SELECT taskq.cancel(%s)", (cancelled,))
        # the rest of the cap filled behind taskq-fcgi's back: its own count (read at most once
        # a second) may not know, the database does
        self.sql_submit()
        self.sql_submit()
        attempts = {
            "submit": lambda: c.submit("noop", {}, queue=self.q),
            "submit with a dedupe key": lambda: c.submit("noop", {}, queue=self.q,
                                                          dedupe_key=unique("d")),
            "submit with parents": lambda: c.submit("noop", {}, queue=self.q, after=[parent]),
            "batch": lambda: c.request("POST", "/api/tasks/batch",
                                       json_body=[{"kind": "noop", "queue": self.q}]),
            "retry": lambda: c.retry(cancelled),
        }
        for what, attempt in attempts.items():
            with self.subTest(path=what):
                r = attempt()
                self.assert_error(r, 429, "too_many_unfinished")
                self.assertEqual(r.header("Retry-After"), "5", str(r))
                self.assert_cap_message(r.json["error"]["message"])
        self.assertEqual(self.unfinished(), CAP)
        # the CLI with the owner's token: 75, try again later
        p = cli("submit", "noop", "{}", "--queue", self.q, token=token)
        self.assertEqual(p.returncode, 75, p.stderr)
        self.assertIn("may have at most %d unfinished" % CAP, p.stderr)
        self.assertEqual(self.unfinished(), CAP)

    def complete(self, task, result, verb="complete"):
        """Claims task (alone in its queue) for a worker of this test and completes it."""
        q = self.db.scalar("SELECT queue FROM taskq.tasks WHERE id = %s", (task,))
        claimed = self.db.query("SELECT id::text AS id, attempts FROM taskq.claim(%s, %s, 1, 60)",
                                ("t-cap", q))
        self.assertEqual([row["id"] for row in claimed], [task])
        if verb == "complete":
            return self.db.scalar("SELECT taskq.complete(%s, 't-cap', %s, %s::jsonb)",
                                  (task, claimed[0]["attempts"], result))
        return self.db.scalar("SELECT count(*) FROM taskq.complete_many('t-cap', ARRAY[%s]::uuid[],"
                              " ARRAY[%s], %s::jsonb)",
                              (task, claimed[0]["attempts"], "[%s]" % result))

    def test_followups_past_the_cap_are_made_failed_and_the_parent_succeeds(self):
        fq = self.own_queue("cap-next")
        result = ('{"v": 7, "enqueue": [{"kind": "noop", "queue": "%s"}, '
                  '{"kind": "noop", "queue": "%s", "after": [0]}]}' % (fq, fq))
        for verb in ("complete", "complete_many"):
            with self.subTest(verb=verb):
                pq = self.own_queue("cap-parent")
                self.db.query("SELECT taskq.cancel(id) FROM taskq.tasks WHERE owner = %s",
                              (self.owner,))
                parent = self.sql_submit(queue=pq, delay_s=0)
                fillers = [self.sql_submit(), self.sql_submit()]
                # at the cap: the parent runs, two wait; once it succeeds, two follow-ups
                # would make four
                self.assertTrue(self.complete(parent, result, verb))
                p = self.db.task(parent)
                self.assertEqual(p["state"], "succeeded")
                self.assertEqual(p["result"]["v"], 7)
                ids = p["result"]["enqueued"]
                self.assertEqual(len(ids), 2)
                rows = self.db.query("SELECT id::text AS id, state::text, error, owner, queue, "
                                     "parents::text[] AS parents, attempts FROM taskq.tasks "
                                     "WHERE id = ANY(%s::uuid[]) ORDER BY id", (ids,))
                for row in rows:
                    self.assertEqual((row["state"], row["owner"], row["queue"], row["attempts"]),
                                     ("failed", self.owner, fq, 0), row)
                    self.assertEqual(row["error"], "refused: owner %s may have at most %d "
                                     "unfinished (queued or running) tasks; retry it once some "
                                     "of them have finished" % (self.owner, CAP))
                    self.assertEqual(row["parents"][0], parent)
                events = self.db.query("SELECT task_id::text AS id, event, detail "
                                       "FROM taskq.task_events WHERE task_id = ANY(%s::uuid[])",
                                       (ids,))
                self.assertEqual(sorted((e["id"], e["event"]) for e in events),
                                 sorted((i, "failed") for i in ids))
                self.assertEqual(self.unfinished(), len(fillers))
                # where there is room, a refused follow-up is retried like any failed task
                # (room for one here)
                out = self.db.scalar("SELECT (taskq.retry(%s)).outcome", (ids[0],))
                self.assertEqual(out, "queued")
                code, _ = self.refused("SELECT (taskq.retry(%s)).outcome", (ids[1],))
                self.assertEqual(code, "53400")

    def test_followups_of_a_real_worker_past_the_cap(self):
        """End to end: taskq-worker records the success of a task whose follow-ups do not
        fit (its completer batches and fences as always); nothing is rejected or retried."""
        fq = self.own_queue("cap-next")
        w = self.start_worker(self.q, args=["--commands", "t_chain=" + CHAIN])
        w.worker_id()
        self.sql_submit(delay_s=3600, queue=fq)
        parent = self.sql_submit(kind="t_chain", delay_s=0,
                                 payload='{"followups": 2, "queue": "%s"}' % fq)
        self.sql_submit(delay_s=3600, queue=fq)
        t = wait_final([parent], timeout=30)
        self.assertEqual(t.not_once_succeeded(), [], str(t))
        p = self.db.task(parent)
        self.assertEqual((p["state"], p["attempts"]), ("succeeded", 1))
        ids = p["result"]["enqueued"]
        states = self.db.query("SELECT state::text, error FROM taskq.tasks "
                               "WHERE id = ANY(%s::uuid[])", (ids,))
        self.assertEqual([s["state"] for s in states], ["failed", "failed"])
        self.assertTrue(all(s["error"].startswith("refused: owner %s" % self.owner)
                            for s in states), states)

    def test_a_schedule_fire_past_the_cap_makes_a_failed_task(self):
        name = unique("capsched").replace("-", "_")
        self.db.query("INSERT INTO taskq.schedules (name, cron, kind, queue, owner, next_fire_at) "
                      "VALUES (%s, '0 0 1 1 *', 'noop', %s, %s, '2999-01-01')",
                      (name, self.q, self.owner))
        self.addCleanup(self.db.query, "DELETE FROM taskq.schedules WHERE name = %s", (name,))
        for _ in range(CAP):
            self.sql_submit()
        fired = self.db.scalar("SELECT taskq.fire_schedule(%s, '2020-01-01T00:00:00Z')::text",
                               (name,))
        self.assertIsNotNone(fired)
        t = self.db.task(fired)
        self.assertEqual((t["state"], t["owner"]), ("failed", self.owner))
        self.assertTrue(t["error"].startswith("refused: owner %s may have at most %d"
                                              % (self.owner, CAP)), t["error"])
        # the fire time is spent: firing it again makes nothing
        self.assertIsNone(self.db.scalar("SELECT taskq.fire_schedule(%s, '2020-01-01T00:00:00Z')",
                                         (name,)))
        # with room, the next fire makes a queued task
        self.db.query("SELECT taskq.cancel(id) FROM taskq.tasks WHERE owner = %s "
                      "AND state = 'queued'", (self.owner,))
        fired = self.db.scalar("SELECT taskq.fire_schedule(%s, '2021-01-01T00:00:00Z')::text",
                               (name,))
        self.assertEqual(self.db.task(fired)["state"], "queued")

    def test_who_is_capped_by_what(self):
        other = unique("other")
        star = self.db.scalar("SELECT max_unfinished FROM taskq.owner_caps WHERE owner = '*'")
        room = "SELECT cap, unfinished FROM taskq.owner_room(%s)"
        self.assertEqual(self.db.query(room, (self.owner,)), [{"cap": CAP, "unfinished": 0}])
        # an owner without a row of its own has the cap of "*"; 'anonymous' (no auth, SQL
        # submits that name no owner) has none
        star = 10000 if star is None else star
        self.assertEqual(self.db.query(room, (other,)),
                         [{"cap": star or None, "unfinished": 0}])
        self.assertEqual(self.db.query(room, ("anonymous",))[0]["cap"], None)
        # without rows: 10,000 (taskq-fcgi's cap before it moved to the database), and none
        # for 'anonymous' unless it has a row
        self.assertEqual(self.db.query("SELECT taskq.configured_cap('x', NULL, NULL) AS a, "
                                       "taskq.configured_cap('anonymous', NULL, 7) AS b, "
                                       "taskq.configured_cap('anonymous', 5, 7) AS c, "
                                       "taskq.configured_cap('x', NULL, 7) AS d"),
                         [{"a": 10000, "b": 0, "c": 5, "d": 7}])
        # 0: no cap
        self.set_cap(other, 0)
        self.assertEqual(self.db.query(room, (other,))[0]["cap"], None)
        for _ in range(CAP + 2):
            self.sql_submit(owner=other)
        # an owner holding a live admin token is not capped; once it is revoked, it is
        for _ in range(CAP):
            self.sql_submit()
        new_token(self.owner, "--admin", "--note", "cap test")
        self.assertEqual(self.db.query(room, (self.owner,))[0]["cap"], None)
        self.sql_submit()
        self.db.query("UPDATE taskq.tokens SET revoked_at = now() WHERE owner = %s",
                      (self.owner,))
        code, _ = self.refused("SELECT taskq.submit('noop', queue => %s, owner => %s)",
                               (self.q, self.owner))
        self.assertEqual(code, "53400")

    def test_limit_cli_sets_lists_and_removes_owner_caps(self):
        owner = unique("clicap")
        self.addCleanup(self.db.query, "DELETE FROM taskq.owner_caps WHERE owner = %s", (owner,))
        p = cli("limit", "set", "owner", owner, "7")
        self.assertEqual((p.returncode, p.stdout), (0, "set owner %s: at most 7 unfinished tasks\n"
                                                    % owner), p.stderr)
        p = cli("limit", "set", "owner", owner, "0")
        self.assertEqual((p.returncode, p.stdout),
                         (0, "changed owner %s: no cap on unfinished tasks\n" % owner), p.stderr)
        cli("limit", "set", "owner", owner, "2")
        self.sql_submit(owner=owner)
        lines = cli("limit", "list").stdout.splitlines()
        self.assertIn(["owner", owner, "2", "1"], [line.split() for line in lines])
        self.assertIn(["owner", "*"], [line.split()[:2] for line in lines])
        for bad in (("-1",), ("100000001",), ("x",)):
            self.assertEqual(cli("limit", "set", "owner", owner, *bad).returncode, 65, bad)
        self.assertEqual(cli("limit", "set", "owner", "no spaces", "3").returncode, 65)
        self.assertEqual(cli("limit", "set", "owner", owner).returncode, 64)
        self.assertEqual(cli("limit", "rm", "owner", owner).returncode, 0)
        self.assertEqual(cli("limit", "rm", "owner", owner).returncode, 3)
        # an owner's token may not set caps (the admins' command)
        token = new_token(owner)
        self.assertEqual(cli("limit", "set", "owner", owner, "9", token=token).returncode, 77)
