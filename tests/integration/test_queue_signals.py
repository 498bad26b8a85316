"""What a queue's figures say about waiting tasks, everywhere alike: "oldest queued" is the wait
of the oldest runnable task since it became runnable (delayed and blocked tasks are counted
apart, not as a stalled queue) in /api/queues (admin and owner), /metrics and the admin SQL
views; and a queue that no live worker serves says so, in /api/queues, /metrics, the task
JSON of its queued tasks (GET, submit, list, stream, `taskq status`) and `taskq stats`."""

import os
import subprocess
import time

from taskq_harness import ENV, Client, TaskqTestCase, api, new_token, wait_until
from test_metrics import Scrape
from test_streams import Sse

UNSERVED = "no live worker serves queue %s:"


def queue_row(client, q):
    r = client.request("GET", "/api/queues")
    assert r.status == 200, r
    rows = [x for x in r.json["queues"] if x["queue"] == q]
    return rows[0] if rows else None


def fresh_queue_row(client, q, cond, what):
    """The row of q once cond(row) holds (the admin's answer is cached for a second)."""
    return wait_until(lambda: (lambda x: x if x and cond(x) else None)(queue_row(client, q)),
                      timeout=8, interval=0.2, what=what)


def taskq_cli(*args):
    exe = os.path.join(ENV.build, "taskq")
    return subprocess.run([exe, "--db", ENV.db] + list(args), capture_output=True, text=True,
                          timeout=30)


class OldestRunnableTests(TaskqTestCase):

    def delayed_and_blocked(self, q, client=None):
        """A task delayed by an hour and a child blocked on it, in q."""
        c = client or api
        r = c.submit("noop", queue=q, delay_s=3600)
        self.assertEqual(r.status, 202, r)
        p = r.json["id"]
        r = c.submit("noop", queue=q, after=[p])
        self.assertEqual(r.status, 202, r)
        self.assertTrue(r.json["blocked"], r)
        return p, r.json["id"]

    def test_delayed_and_blocked_tasks_are_no_stalled_queue(self):
        q = self.own_queue("wait")
        self.delayed_and_blocked(q)
        time.sleep(2.2)
        row = fresh_queue_row(self.api, q, lambda x: x["counts"]["queued"] == 2, "q's row")
        self.assertEqual((row["delayed"], row["blocked"], row["oldest_queued_s"]), (1, 1, None),
                         row)
        s = Scrape()
        self.assertEqual(s.get("taskq_queue_oldest_queued_seconds", queue=q), 0)
        self.assertEqual(s.get("taskq_queue_delayed_tasks", queue=q), 1)
        self.assertEqual(s.get("taskq_queue_blocked_tasks", queue=q), 1)
        stats = {r["state"]: r for r in self.db.query(
            "SELECT state::text AS state, count, oldest_wait, delayed, blocked"
            " FROM taskq.queue_stats WHERE queue = %s", (q,))}
        self.assertEqual((stats["queued"]["count"], stats["queued"]["delayed"],
                          stats["queued"]["blocked"], stats["queued"]["oldest_wait"]),
                         (2, 1, 1, None))

        # a runnable task: the wait is its own, however old the delayed and blocked ones are
        t0 = time.monotonic()
        self.submit_ok("noop", queue=q)
        time.sleep(1.2)
        row = fresh_queue_row(self.api, q, lambda x: x["counts"]["queued"] == 3, "3 queued")
        waited = time.monotonic() - t0
        self.assertIsNotNone(row["oldest_queued_s"], row)
        self.assertGreater(row["oldest_queued_s"], 0.5, row)
        self.assertLess(row["oldest_queued_s"], waited + 0.5, row)  # not the delayed task's 3 s
        self.assertEqual((row["delayed"], row["blocked"]), (1, 1), row)
        s = Scrape()
        self.assertGreater(s.get("taskq_queue_oldest_queued_seconds", queue=q), 0.5)
        self.assertLess(s.get("taskq_queue_oldest_queued_seconds", queue=q), waited + 0.5)
        ov = self.db.query("SELECT oldest_queued_s, delayed, blocked FROM taskq.queue_overview"
                           " WHERE queue = %s", (q,))[0]
        self.assertEqual((ov["delayed"], ov["blocked"]), (1, 1))
        self.assertLess(float(ov["oldest_queued_s"]), time.monotonic() - t0 + 0.5)
        wait = self.db.scalar("SELECT extract(epoch FROM oldest_wait) FROM taskq.queue_stats"
                              " WHERE queue = %s AND state = 'queued'", (q,))
        self.assertLess(float(wait), time.monotonic() - t0 + 0.5)

    def test_a_delayed_task_waits_from_its_run_at_not_its_submit(self):
        q = self.own_queue("due")
        t = self.submit_ok("noop", queue=q, delay_s=2)
        submitted = time.monotonic()
        time.sleep(3.5)
        row = fresh_queue_row(self.api, q, lambda x: x["counts"]["queued"] == 1, "q's row")
        age = time.monotonic() - submitted
        self.assertEqual(row["delayed"], 0, row)
        # runnable for about 1.5 s of its 3.5 s
        self.assertGreater(row["oldest_queued_s"], 0.5, row)
        self.assertLess(row["oldest_queued_s"], age - 1.5, row)
        metric = Scrape().get("taskq_queue_oldest_queued_seconds", queue=q)
        self.assertLess(abs(metric - row["oldest_queued_s"]), 1.5, (metric, row))
        self.assertEqual(self.get_ok(t["id"])["state"], "queued")

    def test_an_owner_sees_the_same_figures_for_its_own_tasks(self):
        owner = "waits-%d" % os.getpid()
        c = Client(token=new_token(owner))
        q = self.own_queue("owned")
        self.delayed_and_blocked(q, c)
        time.sleep(1.5)
        row = queue_row(c, q)
        self.assertEqual((row["counts"]["queued"], row["delayed"], row["blocked"],
                          row["oldest_queued_s"]), (2, 1, 1, None), row)
        r = c.submit("noop", queue=q)
        self.assertEqual(r.status, 202, r)
        time.sleep(1.2)
        row = queue_row(c, q)
        self.assertGreater(row["oldest_queued_s"], 0.5, row)
        self.assertLess(row["oldest_queued_s"], 3.0, row)
        self.assertEqual((row["workers"], row["warning"].startswith(UNSERVED % q)), (0, True),
                         row)


class UnservedQueueTests(TaskqTestCase):

    def test_a_queue_no_worker_serves_says_so_until_one_does(self):
        q = self.own_queue("lonely")
        r = api.submit("noop", queue=q, delay_s=3600)
        self.assertEqual(r.status, 202, r)
        t = self.track(r.json["id"])
        self.assertTrue(r.json["warning"].startswith(UNSERVED % q), r.json)
        self.assertTrue(self.get_ok(t)["warning"].startswith(UNSERVED % q))
        listed = api.list(queue=q).json["tasks"]
        self.assertTrue(listed[0]["warning"].startswith(UNSERVED % q), listed)
        sse = Sse("/api/tasks/%s/events" % t)
        try:
            first = next(sse.events(lambda d: True, timeout=10))[1]
        finally:
            sse.close()
        self.assertTrue(first["warning"].startswith(UNSERVED % q), first)
        p = taskq_cli("status", t)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(UNSERVED % q, p.stdout)
        row = fresh_queue_row(api, q, lambda x: True, "q's row")
        self.assertEqual(row["workers"], 0, row)
        self.assertTrue(row["warning"].startswith(UNSERVED % q), row)
        self.assertEqual(Scrape().get("taskq_queue_workers", queue=q), 0)
        self.assertTrue(Scrape().has("taskq_queue_workers", queue=q))

        w = self.start_worker(q, name="lonely", concurrency=1)
        w.worker_id()
        row = fresh_queue_row(api, q, lambda x: x["workers"] == 1, "1 worker serving q")
        self.assertIsNone(row["warning"], row)
        wait_until(lambda: self.get_ok(t)["warning"] is None, timeout=5,
                   what="the task's warning gone")
        self.assertEqual(self.get_ok(t)["state"], "queued")
        wait_until(lambda: Scrape().get("taskq_queue_workers", queue=q) == 1, timeout=5,
                   what="taskq_queue_workers 1")
        p = taskq_cli("status", t)
        self.assertNotIn(UNSERVED % q, p.stdout)
        # a task that is not queued never carries it, served or not
        self.assertEqual(api.delete(t).status, 200)
        self.assertIsNone(self.get_ok(t)["warning"])

    def test_the_dev_stack_serves_the_queues_the_docs_use(self):
        ids = []
        for q in ("default", "reports", "slow", "llm"):
            r = api.submit("noop", queue=q, delay_s=3600)
            self.assertEqual(r.status, 202, r)
            ids.append(self.track(r.json["id"]))
            self.assertIsNone(r.json["warning"], r.json)
            row = fresh_queue_row(api, q, lambda x: x["counts"]["queued"] >= 1, q)
            self.assertGreaterEqual(row["workers"], 1, row)
            self.assertIsNone(row["warning"], row)
        for t in ids:
            self.assertEqual(api.delete(t).status, 200)
