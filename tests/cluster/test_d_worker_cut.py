"""Fault 1: a worker host is cut off (its link down: packets vanish) while it runs tasks. Its
leases expire, the other hosts rescue the tasks; when it comes back it records nothing for a
task it no longer holds (completion is fenced by holder and attempt): 0 lost, 0 doubled."""

import time
import unittest

from clusterlib import LEASE_S, dev, figure, scalar, sql, submit_batch, wait_final, wait_until


class TestWorkerCut(unittest.TestCase):
    def test_cut_worker_host(self):
        # long enough that wk1 is still running them when the link goes; 4 executors a host
        ids = submit_batch("web1", [{"kind": "sleep", "payload": {"steps": 10, "step_ms": 300}}
                                    for _ in range(24)])
        running = ("SELECT id::text FROM taskq.tasks WHERE id = ANY(%s::uuid[]) AND "
                   "state = 'running' AND worker_id LIKE 'wk1:%%'")
        wait_until(lambda: sql(running, (ids,)), 15, "wk1 to run some of the tasks")
        dev("cut", "wk1")
        t_cut = scalar("SELECT now()")
        healed = False
        try:
            # what wk1 holds as the link goes: nothing it does can reach the database now
            held = [r[0] for r in sql(running, (ids,))]
            self.assertTrue(held, "wk1 finished its tasks before the cut")
            wk1 = scalar("SELECT worker_id FROM taskq.tasks WHERE id = %s", (held[0],))
            # every task wk1 held is taken back and claimed by another host
            def rescued():
                rows = sql("SELECT task_id::text, min(at) FROM taskq.task_events WHERE task_id = "
                           "ANY(%s::uuid[]) AND event = 'rescued' AND at > %s GROUP BY 1",
                           (held, t_cut))
                return rows if len(rows) == len(held) else None
            rows = wait_until(rescued, LEASE_S * 3 + 15, "the cut host's tasks to be rescued")
            rescue_s = max((at - t_cut).total_seconds() for _, at in rows)
            # wk1 is still cut: bring it back now, while its executors still try to record
            # the outcomes of the attempts they lost
            dev("heal", "wk1")
            healed = True
            t = wait_final(ids, 60)
        finally:
            if not healed:
                dev("heal", "wk1")
        # fenced: wk1 recorded no success for an attempt it no longer held
        late = sql("SELECT e.task_id::text, e.attempt FROM taskq.task_history e WHERE "
                   "e.task_id = ANY(%s::uuid[]) AND e.event = 'succeeded' AND e.worker_id = %s "
                   "AND e.at > %s", (held, wk1, t_cut))
        self.assertEqual(late, [], "wk1 recorded a result for a task it had lost")
        for tid in held:
            n = scalar("SELECT count(*) FROM taskq.task_history WHERE task_id = %s "
                       "AND event = 'claimed'", (tid,))
            self.assertGreaterEqual(n, 2, "task %s was not claimed again" % tid)
        self.assertEqual(len(t.lost), 0, str(t))
        self.assertEqual(len(t.doubled), 0, str(t))
        self.assertEqual(len(t.not_succeeded), 0, str(t))
        # and wk1 is back at work: it heartbeats again
        wait_until(lambda: scalar("SELECT last_seen > now() - interval '5 seconds' FROM "
                                  "taskq.workers WHERE id = %s", (wk1,)), 30,
                   "wk1 to heartbeat again")
        figure("fault 1 (worker host cut): %d tasks, %d held by wk1 at the cut: %d lost, %d "
               "doubled; rescued %.1f s after the cut (lease %.0f s)" % (
                   len(ids), len(held), len(t.lost), len(t.doubled), rescue_s, LEASE_S))


if __name__ == "__main__":
    unittest.main()
