"""Fault: SIGTERM a worker daemon mid-work (graceful shutdown).

The worker stops claiming, gives running tasks --grace seconds, hands the rest back to
`queued` (a `released` event; the attempt does not count), deletes its taskq.workers row and
exits 0. Another worker then finishes the released tasks; nothing is lost or run twice.
"""

import time

from taskq_harness import TaskqTestCase, wait_final, wait_until

GRACE = 2
SHORT = {"steps": 8, "step_ms": 100}     # 0.8 s: finishes within the grace
LONG = {"steps": 40, "step_ms": 100}     # 4 s: longer than the grace


class TermTests(TaskqTestCase):

    def test_sigterm_short_tasks_finish_long_ones_released_then_run_elsewhere(self):
        q = self.own_queue("term")
        w1 = self.start_worker(q, name="term-a", lease=3, concurrency=8, grace=GRACE)
        wid1 = w1.worker_id()
        # one batch: all 8 land in one commit, so the short ones cannot finish before the
        # last long one is submitted (8 single submits can take longer than 0.8 s under load)
        r = self.api.request("POST", "/api/tasks/batch", json_body=(
            [{"kind": "sleep", "payload": SHORT, "queue": q}] * 4
            + [{"kind": "sleep", "payload": LONG, "queue": q}] * 4))
        self.assertEqual(r.status, 202, r)
        ids = r.json["ids"]
        short, long_ = ids[:4], ids[4:]
        wait_until(lambda: self.db.scalar(
            "SELECT count(*) FROM taskq.tasks WHERE id = ANY(%s::uuid[]) AND state = 'running' "
            "AND worker_id = %s", (ids, wid1)) == len(ids), timeout=15,
            what="all 8 tasks running on %s" % wid1)
        rc, took = w1.terminate(timeout=GRACE + 13)
        self.assertEqual(rc, 0, "exit status %s after SIGTERM: %s" % (rc, w1.log_tail()))
        self.assertGreaterEqual(took, GRACE - 0.3, "did not wait the grace for long tasks")
        self.assertLess(took, GRACE + 3.0, "took %.1fs to exit with --grace %d" % (took, GRACE))

        rows = {r["id"]: r for r in self.db.query(
            "SELECT id::text, state::text, attempts, worker_id, progress, result "
            "FROM taskq.tasks WHERE id = ANY(%s::uuid[])", (ids,))}
        ev = self.events(ids)
        for tid in short:
            with self.subTest(task="short", id=tid):
                self.assertEqual(rows[tid]["state"], "succeeded", repr(rows[tid]))
                self.assertEqual(rows[tid]["result"], {"steps": 8})
                self.assertEqual([e[:2] for e in ev[tid]],
                                 [("claimed", wid1), ("succeeded", None)], ev[tid])
        for tid in long_:
            with self.subTest(task="long", id=tid):
                self.assertEqual(rows[tid]["state"], "queued", repr(rows[tid]))
                self.assertEqual(rows[tid]["attempts"], 0, "a released attempt counted")
                self.assertIsNone(rows[tid]["worker_id"])
                self.assertEqual([e[0] for e in ev[tid]], ["claimed", "released"], ev[tid])
                self.assertEqual(ev[tid][1][1], wid1, "released by another worker id")
        gone = self.db.scalar("SELECT count(*) FROM taskq.workers WHERE id = %s", (wid1,))
        self.assertEqual(gone, 0, "taskq.workers row of the stopped worker is still there")

        t0 = time.monotonic()
        w2 = self.start_worker(q, name="term-b", lease=3, concurrency=8, grace=GRACE)
        wid2 = w2.worker_id()
        t = wait_final(ids, timeout=30)
        again = time.monotonic() - t0
        self.assertEqual((t.lost, t.unfinished), (0, 0), str(t))
        self.assertEqual(t.twice, {}, str(t))
        self.assertEqual(t.not_once_succeeded(), [], str(t))
        ev = self.events(ids)
        for tid in long_:
            # the released attempt did not count: the second claim is attempt 1 again
            self.assertEqual(ev[tid], [("claimed", wid1, 1), ("released", wid1, None),
                                       ("claimed", wid2, 1), ("succeeded", None, None)],
                             "events of a released task")
        self.assertEqual(self.db.scalar(
            "SELECT max(attempts) FROM taskq.tasks WHERE id = ANY(%s::uuid[])", (ids,)), 1)
        self.report("%s; 4 short succeeded within the grace, 4 long released; exit 0 "
                    "%.1fs after SIGTERM (--grace %d); released ones done %.1fs after a new "
                    "worker started" % (t.figures(), took, GRACE, again))

    def events(self, ids):
        """{id: [(event, worker_id or None, attempt)]}; worker_id only where it names one."""
        out = {i: [] for i in ids}
        for e in self.db.query(
                "SELECT task_id::text, event, worker_id, attempt FROM taskq.task_history "
                "WHERE task_id = ANY(%s::uuid[]) ORDER BY task_id, n", (ids,)):
            wid = e["worker_id"] if e["event"] in ("claimed", "released") else None
            att = e["attempt"] if e["event"] == "claimed" else None
            out[e["task_id"]].append((e["event"], wid, att))
        return out
