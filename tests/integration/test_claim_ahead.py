"""The worker's local queue: short tasks are claimed in batches beyond the free executors,
long ones are not hoarded (a task that waits in one worker's local queue while another
worker has a free executor is handed back and runs there)."""

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
            "SELECT count(*) AS n FROM taskq.task_events WHERE task_id = ANY(%s::uuid[]) "
            "AND event = 'claimed' GROUP BY at, worker_id ORDER BY min(id)", (ids,))]

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

    def test_long_tasks_waiting_in_a_local_queue_are_handed_back_to_a_free_worker(self):
        q = self.own_queue("hoard")
        a = self.start_worker(q, name="hoard-a", concurrency=1, args=["--claim-ahead", "16"])
        warm = self.submit_batch(q, [{"kind": "noop"}] * 200)   # short tasks: a claims ahead
        wait_final(warm, timeout=60)
        ids = self.submit_batch(q, [{"kind": "sleep", "payload": LONG}] * 4)
        wait_until(lambda: self.db.scalar(
            "SELECT count(*) FROM taskq.tasks WHERE id = ANY(%s::uuid[]) AND state = 'running'",
            (ids,)) == 4, timeout=15, what="the 4 long tasks claimed")
        t0 = time.monotonic()
        b = self.start_worker(q, name="hoard-b", concurrency=3, args=["--claim-ahead", "16"])
        t = wait_final(ids, timeout=40)
        took = time.monotonic() - t0
        self.assertEqual((t.lost, t.unfinished, t.twice), (0, 0, {}), str(t))
        self.assertEqual(t.not_once_succeeded(), [], str(t))
        ran = {r["worker_id"]: r["n"] for r in self.db.query(
            "SELECT worker_id, count(*) AS n FROM taskq.task_events WHERE task_id = "
            "ANY(%s::uuid[]) AND event = 'claimed' AND id > coalesce((SELECT max(id) FROM "
            "taskq.task_events e2 WHERE e2.task_id = task_events.task_id AND e2.event = "
            "'released'), 0) GROUP BY worker_id", (ids,))}
        self.assertGreaterEqual(ran.get(b.worker_id(), 0), 2,
                                "the free worker ran fewer than 2 of the long tasks: %s" % ran)
        self.assertLess(took, 9.0, "4 tasks of 3 s took %.1fs with 4 executors" % took)
        released = self.db.scalar(
            "SELECT count(*) FROM taskq.task_events WHERE task_id = ANY(%s::uuid[]) AND event "
            "= 'released' AND worker_id = %s", (ids, a.worker_id()))
        self.assertGreaterEqual(released, 2)
        self.assertEqual(self.db.scalar(
            "SELECT max(attempts) FROM taskq.tasks WHERE id = ANY(%s::uuid[])", (ids,)), 1)
        self.report("%s; %d handed back by the busy worker, the free one ran %d; all done "
                    "%.1fs after it started" % (t.figures(), released,
                                                ran.get(b.worker_id(), 0), took))
