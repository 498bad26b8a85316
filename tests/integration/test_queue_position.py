"""A queued task's place in line (sql/functions/position.sql): "position" (1 = next to start
in its line) and "eta_s" (its position over the queue's measured start rate) in the task JSON
of GET /api/tasks/{id} and of the other reads of one task; null when it is not queued and
ready. Exact in a plain FIFO queue, checked for every queued task in one snapshot while
workers drain it; the ETA within 25% of the real wait on a steady queue.
"""

import time

from taskq_harness import TaskqTestCase, wait_until


class QueuePositionTests(TaskqTestCase):

    def batch(self, q, n, step_ms=20):
        r = self.api.request("POST", "/api/tasks/batch", json_body=[
            dict(kind="sleep", payload={"steps": 1, "step_ms": step_ms}, queue=q)] * n)
        self.assertEqual(r.status, 202, str(r))
        return r.json["ids"]

    def mismatches(self, q):
        """Queued tasks of q whose position is not their rank in claim order (one snapshot),
        and how many are queued."""
        row = self.db.query(
            "SELECT count(*) FILTER (WHERE x.position IS DISTINCT FROM x.rn) AS bad, "
            "count(*) AS queued FROM (SELECT p.position, row_number() OVER "
            "(ORDER BY t.priority DESC, t.run_at, t.id) AS rn FROM taskq.tasks t, "
            "taskq.place_of(t) p WHERE t.queue = %s AND t.state = 'queued') x", (q,))[0]
        return row["bad"], row["queued"]

    def test_positions_are_exact_in_a_fifo_queue_while_it_drains(self):
        q = self.own_queue("pos")
        ids = self.batch(q, 500)
        first, last = self.get_ok(ids[0]), self.get_ok(ids[-1])
        self.assertEqual((first["position"], last["position"]), (1, 500))
        self.assertIn("eta_s", first)
        self.start_worker(q, concurrency=2, args=["--claim-ahead", "0"])
        checks, seen = 0, []
        while True:
            bad, queued = self.mismatches(q)
            self.assertEqual(bad, 0, "%d of %d queued tasks out of place" % (bad, queued))
            checks += 1
            if queued == 0:
                break
            # over HTTP: a task's position only falls while the queue drains
            t = self.get_ok(ids[-1])
            if t["state"] == "queued":
                self.assertLessEqual(t["position"], seen[-1] if seen else 500)
                seen.append(t["position"])
            time.sleep(0.05)
        t = self.get_ok(ids[-1])
        self.assertIsNone(t["position"], t)
        self.assertIsNone(t["eta_s"], t)
        self.report("500 tasks in a FIFO queue drained by 2 executors: every queued task's "
                    "position equal to its rank, in %d snapshots; the last one's over HTTP: "
                    "%s..." % (checks, seen[:5]))

    def test_delayed_tasks_have_no_place_in_line(self):
        q = self.own_queue("posdelay")
        t = self.submit_ok("noop", {}, queue=q, delay_s=3600)
        self.assertIsNone(self.get_ok(t["id"])["position"])
        # a higher priority goes ahead
        low = self.submit_ok("noop", {}, queue=q, priority=-1)
        self.submit_ok("noop", {}, queue=q, priority=5)
        self.assertEqual(self.get_ok(low["id"])["position"], 2)

    def test_eta_is_within_a_quarter_of_the_real_wait_on_a_steady_queue(self):
        q = self.own_queue("eta")
        ids = self.batch(q, 200, step_ms=100)
        self.start_worker(q, concurrency=2, args=["--claim-ahead", "0"])
        # steady: the rate is measured (about once a second) from a few seconds of starts
        wait_until(lambda: self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s "
                                          "AND finished_at IS NOT NULL", (q,)) >= 30,
                   timeout=60, what="a steady drain")
        time.sleep(1.5)
        probe = None
        for tid in ids:
            t = self.get_ok(tid)
            if t["state"] == "queued" and t["position"] >= 80:
                probe = t
                break
        self.assertIsNotNone(probe, "a task 80 or more in line")
        self.assertIsNotNone(probe["eta_s"], probe)
        asked = time.time()
        wait_until(lambda: self.db.scalar("SELECT started_at IS NOT NULL FROM taskq.tasks "
                                          "WHERE id = %s", (probe["id"],)), timeout=60,
                   what="the probe started")
        real = self.db.scalar("SELECT extract(epoch FROM started_at)::float8 FROM taskq.tasks "
                              "WHERE id = %s", (probe["id"],)) - asked
        self.report("position %d, eta_s %d, started after %.1f s (%+.0f%%)" % (
            probe["position"], probe["eta_s"], real, 100 * (probe["eta_s"] - real) / real))
        self.assertLessEqual(abs(probe["eta_s"] - real), 0.25 * real + 0.5,
                             (probe["eta_s"], real))
