"""Fair shares and priority aging (sql/schema/027_fair_shares.sql).

Owners' weights (`taskq owner weight`, taskq.set_owner_weight, PUT /api/owners/{owner}/weight)
set their share of the starts when owners compete for workers: the fair place in line
(taskq.fair_step) moves an owner's virtual clock by 100 us / weight per task. A small owner's
first task lands at the head of a big owner's backlog. Priority aging (`taskq queue aging`,
taskq.set_queue_aging, "aging_s" in /api/queues) lifts a waiting task one step of priority per
seconds_per_step, so a low priority starts under a steady load of higher ones.

The workers these tests start claim no tasks ahead of their executors (--claim-ahead 0): a
worker's local queue would add what it holds to every wait measured here (docs/internals.md).
"""

import os
import subprocess
import threading
import time

import psycopg2

from taskq_harness import ENV, Client, Db, TaskqTestCase, new_token, unique, wait_until


def cli(*args):
    exe = os.path.join(ENV.build, "taskq")
    return subprocess.run([exe, "--db", ENV.db] + [str(a) for a in args], capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, TASKQ_TOKEN=""))


class FairShareTests(TaskqTestCase):

    def setUp(self):
        super().setUp()
        self.skip_unless_auth()

    def owner(self, prefix, weight=None):
        """A new owner with a token (and its cap lifted: floods here pass the stack's 500);
        returns (owner, client)."""
        o = unique(prefix)
        self.db.query("INSERT INTO taskq.owner_caps (owner, max_unfinished) VALUES (%s, 0)", (o,))
        self.addCleanup(self.db.query, "DELETE FROM taskq.owner_caps WHERE owner = %s", (o,))
        self.addCleanup(self.db.query, "DELETE FROM taskq.owner_weights WHERE owner = %s", (o,))
        if weight is not None:
            r = self.api.request("PUT", "/api/owners/%s/weight" % o, json_body={"weight": weight})
            self.assertEqual(r.status, 200, str(r))
            self.assertEqual(r.json, {"owner": o, "weight": weight})
        return o, Client(token=new_token(o), keepalive=True)

    def flood(self, client, q, n, **fields):
        """n noop tasks of one owner in batches of up to 1000; returns their ids."""
        ids = []
        while len(ids) < n:
            k = min(1000, n - len(ids))
            r = client.request("POST", "/api/tasks/batch",
                               json_body=[dict(kind="noop", queue=q, **fields)] * k)
            if r.status == 429:  # a batch over the owner's burst waits for a full bucket
                time.sleep(float(r.header("Retry-After") or 1))
                continue
            self.assertEqual(r.status, 202, str(r))
            ids += r.json["ids"]
        return ids

    def starts(self, q):
        """The owners of the queue's started tasks, in the order they started."""
        return [r["owner"] for r in self.db.query(
            "SELECT owner FROM taskq.tasks WHERE queue = %s AND started_at IS NOT NULL "
            "ORDER BY started_at, id", (q,))]

    def test_weights_are_set_listed_and_checked(self):
        o, client = self.owner("w", weight=2.5)
        r = self.api.request("GET", "/api/owners")
        self.assertEqual(r.status, 200, str(r))
        self.assertIn({"owner": o, "weight": 2.5}, r.json["owners"])
        self.assertEqual(r.json["default_weight"], 1)
        for body in ({"weight": 0}, {"weight": 101}, {"weight": "3"}, {"weight": None}, {},
                     {"weight": 2, "extra": 1}, [3]):
            r = self.api.request("PUT", "/api/owners/%s/weight" % o, json_body=body)
            self.assert_error(r, 400, "invalid_field")
        self.assert_error(self.api.request("PUT", "/api/owners/bad%20name/weight",
                                           json_body={"weight": 1}), 400, "invalid_field")
        # owners' tokens may neither read nor set weights
        self.assertEqual(client.request("GET", "/api/owners").status, 403)
        self.assertEqual(client.request("PUT", "/api/owners/%s/weight" % o,
                                        json_body={"weight": 100}).status, 403)
        # the CLI and SQL set the same row, with the same checks
        p = cli("owner", "weight", o, "4")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("owner %s: weight 4" % o, p.stdout)
        self.assertIn(o, cli("owner", "list").stdout)
        p = cli("owner", "weight", o, "0")
        self.assertEqual(p.returncode, 65, p.stderr)
        self.assertIn("0.01-100", p.stderr)
        self.assertEqual(self.db.scalar("SELECT taskq.set_owner_weight(%s, 0.5)", (o,)), 0.5)
        self.assertEqual(self.db.scalar("SELECT weight FROM taskq.owner_weights WHERE owner = %s",
                                        (o,)), 0.5)
        with self.assertRaises(psycopg2.Error) as e:
            self.db.query("SELECT taskq.set_owner_weight(%s, 1000)", (o,))
        self.assertEqual(e.exception.pgcode, "22023")

    def test_weights_3_to_1_share_the_starts_3_to_1(self):
        q = self.own_queue("share")
        heavy, hc = self.owner("heavy", weight=3)
        light, lc = self.owner("light", weight=1)
        n = 600
        # the light owner first: in submit order (no weights, no fairness) the first starts
        # would all be its own
        for c in (lc, hc):  # the owners' floods, one task first so the batches follow it
            self.assertEqual(c.submit("noop", {}, queue=q).status, 202)
            self.flood(c, q, n - 1)
        self.start_worker(q, concurrency=4, args=["--claim-ahead", "0"])
        # saturated while both owners have tasks queued: the light owner's n last the
        # longest, so the first n + n/3 starts are the contended ones
        window = n + n // 3
        wait_until(lambda: len(self.starts(q)) >= window, timeout=120, what="the starts")
        got = self.starts(q)[:window]
        h, l = got.count(heavy), got.count(light)
        ratio = h / l
        self.report("weights 3:1, %d noop tasks each queued, 4 executors: of the first %d "
                    "starts %d heavy, %d light (%.2f:1)" % (n, window, h, l, ratio))
        self.assertTrue(2.7 <= ratio <= 3.3, (h, l))

    def test_one_task_of_a_small_owner_starts_next_behind_a_flood_of_10000(self):
        q = self.own_queue("flood")
        big, _ = self.owner("big")
        _, sc = self.owner("small")
        # the flood in one INSERT (an owner's HTTP submits are rate limited, and submit_many
        # takes seconds for 10,000), placed as the fair place puts a flood: one step (100 us)
        # apart, ending now
        self.db.query("INSERT INTO taskq.tasks (kind, queue, owner, run_at) "
                      "SELECT 'noop', %s, %s, now() - (10000 - g) * interval '100 us' "
                      "FROM generate_series(0, 9999) g", (q, big))
        r = sc.submit("noop", {}, queue=q)
        self.assertEqual(r.status, 202, str(r))
        tid = r.json["id"]
        t0 = time.monotonic()
        self.start_worker(q, concurrency=4, args=["--claim-ahead", "0"])
        wait_until(lambda: self.db.scalar("SELECT started_at IS NOT NULL FROM taskq.tasks "
                                          "WHERE id = %s", (tid,)), timeout=60,
                   what="the small owner's task started")
        waited = time.monotonic() - t0
        before = self.db.scalar(
            "SELECT count(*) FROM taskq.tasks WHERE queue = %s AND started_at < "
            "(SELECT started_at FROM taskq.tasks WHERE id = %s)", (q, tid))
        self.report("10,000 queued of one owner, then 1 of another: it started after %d "
                    "others, %.2f s after a worker (4 executors) began" % (before, waited))
        # the head of the line: behind at most the head task and one claim of the executors
        self.assertLessEqual(before, 5)


class AgingTests(TaskqTestCase):

    def set_aging(self, q, seconds):
        p = cli("queue", "aging", q, seconds)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.addCleanup(self.db.query, "DELETE FROM taskq.queue_aging WHERE queue = %s", (q,))
        return p

    def aging_shown(self, q):
        rows = {x["queue"]: x for x in self.api.request("GET", "/api/queues").json["queues"]}
        return rows[q]["aging_s"] if q in rows else "absent"

    def test_aging_is_set_shown_and_checked(self):
        q = self.own_queue("aging")
        self.assertIn("+1 priority per 2.5 s", self.set_aging(q, 2.5).stdout)
        self.submit_ok("noop", {}, queue=q, delay_s=3600)
        # /api/queues is cached for a second
        wait_until(lambda: self.aging_shown(q) == 2.5, what="aging_s 2.5 in /api/queues")
        for bad in ("0.01", "x", "-1", "3000000"):
            p = cli("queue", "aging", q, bad)
            self.assertEqual(p.returncode, 65, (bad, p.stderr))
        self.assertIn("no aging", cli("queue", "aging", q, 0).stdout)
        wait_until(lambda: self.aging_shown(q) is None, what="aging_s null in /api/queues")
        self.assertEqual(self.db.scalar("SELECT taskq.set_queue_aging(%s, 60)", (q,)), 60)
        with self.assertRaises(psycopg2.Error) as e:
            self.db.query("SELECT taskq.set_queue_aging(%s, 0.01)", (q,))
        self.assertEqual(e.exception.pgcode, "22023")

    def test_a_low_priority_starts_under_a_steady_higher_load(self):
        q = self.own_queue("aged")
        step = 0.25
        self.set_aging(q, step)
        load = {"kind": "sleep", "payload": {"steps": 1, "step_ms": 50}, "queue": q}
        stop = threading.Event()
        lows = []

        def feed():
            """A steady priority-0 load: about 20 tasks queued, topped up as they start."""
            db = Db()
            try:
                while not stop.is_set():
                    queued = db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s "
                                       "AND state = 'queued' AND priority >= 0", (q,))
                    if queued < 20:
                        Client().request("POST", "/api/tasks/batch", json_body=[load] * 10)
                    time.sleep(0.02)
            finally:
                db.close()

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        self.addCleanup(feeder.join, 10)
        self.addCleanup(stop.set)
        # 2 executors, tasks of 50 ms: about 40 starts a second, never idle
        self.start_worker(q, concurrency=2, args=["--claim-ahead", "0"])
        wait_until(lambda: self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s "
                                          "AND started_at IS NOT NULL", (q,)) > 20,
                   timeout=30, what="the load running")
        low = self.submit_ok("sleep", {"steps": 1, "step_ms": 50}, queue=q, priority=-10)
        wait_until(lambda: self.db.scalar("SELECT started_at IS NOT NULL FROM taskq.tasks "
                                          "WHERE id = %s", (low["id"],)), timeout=30,
                   what="the priority -10 task started")
        time.sleep(0.5)
        stop.set()
        t = self.db.query(
            "SELECT extract(epoch FROM started_at - created_at)::float8 AS waited, priority, "
            "base_priority, (SELECT count(*) FROM taskq.tasks x WHERE x.queue = %s AND "
            "coalesce(x.base_priority, x.priority) = 0 AND x.started_at > t.started_at) "
            "AS after FROM taskq.tasks t WHERE id = %s", (q, low["id"]))[0]
        # 10 steps to reach the load's priority, where it enters at the head: the bound is 10
        # steps, plus a step lost to rounding at each pass of the maintenance (about one a
        # second: 4 here), plus one pass, plus a task of each executor (50 ms)
        bound = 10 * step + 4 * step + 1.0 + 0.1
        self.report("priority -10 under a steady priority-0 load (2 executors busy, ~20 "
                    "queued), aging 1 step per %.2f s: started after %.2f s (bound %.1f s), "
                    "at priority %d" % (step, t["waited"], bound, t["priority"]))
        self.assertGreater(t["after"], 0, "the load went on after it started")
        self.assertEqual(t["base_priority"], -10)
        self.assertGreaterEqual(t["priority"], 0)
        self.assertGreaterEqual(t["waited"], 10 * step - 0.05, "it aged, it did not jump")
        self.assertLess(t["waited"], bound + 0.5)
