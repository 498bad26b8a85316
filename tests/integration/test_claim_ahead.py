"""The worker's local queue: short tasks are claimed in batches beyond the free executors,
long ones are not hoarded (a task that waits in one worker's local queue while another
worker has a free executor is handed back and runs there), and executors busy with long
tasks claim nothing ahead (a freed executor takes the single most urgent task:
test_priority_delay)."""

import time

from taskq_harness import TaskqTestCase, wait_final, wait_until

LONG = {"steps": 30, "step_ms": 100}     # 3 s


class ClaimAheadTests(TaskqTestCase):

    def submit_batch(self, q, tasks):
        r = self.api.request("POST", "/api/tasks/batch", json_body=[dict(t, queue=q)
                                                                     for t in tasks])
        self.assertEqual(r.status, 202, r)
        return r.json["ids"]

    def claims(self, ids):
        """The sizes of the claims that took ids (a claim's events share its transaction's
        timestamp and worker)."""
        return [r["n"] for r in self.db.query(
            "SELECT count(*) AS n FROM taskq.task_history WHERE task_id = ANY(%s::uuid[]) "
            "AND event = 'claimed' GROUP BY at, worker_id ORDER BY at", (ids,))]

    def test_short_tasks_are_claimed_in_batches_larger_than_the_executors(self):
        q = self.own_queue("ahead")
        ids = self.submit_batch(q, [{"kind": "noop"}] * 600)
        self.start_worker(q, name="ahead", concurrency=2, args=["--claim-ahead", "64"])
        t = wait_final(ids, timeout=60)
        self.assertEqual((t.lost, t.unfinished, t.twice), (0, 0, {}), str(t))
        self.assertEqual(t.not_once_succeeded(), [], str(t))
        sizes = self.claims(ids)
        self.assertGreater(max(sizes), 2, "no claim took more than the 2 executors: %s" % sizes)
        self.assertLessEqual(max(sizes), 2 + 64, "a claim beyond --claim-ahead: %s" % sizes)
        self.assertLess(len(sizes), 600 / 2, "claims of at most 2 tasks: %s" % sizes[:40])
        self.report("%s; %d claims for 600 tasks, the largest %d (2 executors, claim-ahead 64)"
                    % (t.figures(), len(sizes), max(sizes)))

    def test_long_tasks_are_not_hoarded_by_a_busy_worker(self):
        q = self.own_queue("hoard")
        # short and long tasks in one line: while the short ones finish fast, the worker
        # claims ahead, and long ones come with them; what waits behind a long one in its
        # local queue goes back after 2 s, to the worker that has free executors
        batch = self.submit_batch(q, [{"kind": "noop"}] * 200
                                  + [{"kind": "sleep", "payload": LONG}] * 4)
        long_ = batch[200:]
        a = self.start_worker(q, name="hoard-a", concurrency=1, args=["--claim-ahead", "16"])
        wait_until(lambda: self.db.scalar(
            "SELECT count(*) FROM taskq.tasks WHERE id = ANY(%s::uuid[]) AND state = 'running'",
            (long_,)) >= 1, timeout=15, what="a long task running")
        t0 = time.monotonic()
        b = self.start_worker(q, name="hoard-b", concurrency=3, args=["--claim-ahead", "16"])
        t = wait_final(batch, timeout=40)
        took = time.monotonic() - t0
        self.assertEqual((t.lost, t.unfinished, t.twice), (0, 0, {}), str(t))
        self.assertEqual(t.not_once_succeeded(), [], str(t))
        released = [r["task_id"] for r in self.db.query(
            "SELECT task_id::text FROM taskq.task_events WHERE task_id = ANY(%s::uuid[]) AND "
            "event = 'released' AND worker_id = %s", (batch, a.worker_id()))]
        ran_b = self.db.scalar(
            "SELECT count(DISTINCT task_id) FROM taskq.task_history WHERE task_id = "
            "ANY(%s::uuid[]) AND event = 'claimed' AND worker_id = %s", (released, b.worker_id()))
        # the long ones the busy worker held go back to the free one (or were still in the
        # queue when it started: either way the free worker runs them, not the busy one)
        long_b = self.db.scalar(
            "SELECT count(*) FROM taskq.tasks WHERE id = ANY(%s::uuid[]) AND worker_id = %s",
            (long_, b.worker_id()))
        self.assertGreaterEqual(long_b, 2, "the free worker ran %d of the 4 long tasks (%d "
                                "handed back by the busy one)" % (long_b, len(released)))
        self.assertLess(took, 10.0, "4 tasks of 3 s took %.1fs with a free worker beside the "
                        "busy one (12 s on the busy one alone)" % took)
        self.assertEqual(self.db.scalar(
            "SELECT max(attempts) FROM taskq.tasks WHERE id = ANY(%s::uuid[])", (batch,)), 1)
        self.report("%s; %d handed back by the busy worker, the free one ran %d of them (%d "
                    "of the 4 long ones); all done %.1fs after it started"
                    % (t.figures(), len(released), ran_b, long_b, took))
