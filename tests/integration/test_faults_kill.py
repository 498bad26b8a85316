"""Fault: kill -9 worker daemons while tasks run.

Two extra workers (--lease 3, 8 executors each) serve the test's own queue; one of them, in
turn, is killed with SIGKILL while it runs some of the tasks and restarted at once, at least
KILLS times. Leases expire, any live worker's rescue re-queues the killed runs, and every task
must still end `succeeded` exactly once: one `succeeded` event, no overlapping runs, nothing
left running. Reports how long a killed worker's tasks took from the kill to their next
`claimed` event.
"""

import statistics
import time

from taskq_harness import TaskqTestCase, ENDS_RUN, wait_final, wait_until

N = 30
KILLS = 6
LEASE = 3
PAYLOAD = {"steps": 10, "step_ms": 200}    # 2 s a task
MIN_GAP = 1.0                               # seconds between kills


class KillTests(TaskqTestCase):

    def running_on(self, q, wid):
        """How many of the queue's tasks this worker runs that are past their first step."""
        return self.db.scalar(
            "SELECT count(*) FROM taskq.tasks WHERE queue = %s AND state = 'running' "
            "AND worker_id = %s AND progress > 0", (q, wid))

    def test_kill9_workers_repeatedly_every_task_succeeds_once(self):
        q = self.own_queue("kill")
        ws = [self.start_worker(q, name="kill-%s" % c, lease=LEASE, concurrency=8)
              for c in "ab"]
        for w in ws:
            w.worker_id()
        ids = self.submit_many(N, "sleep", PAYLOAD, queue=q, max_attempts=100)
        kills = []          # (kill time, worker id of the killed incarnation, tasks it ran)
        last = 0.0
        for k in range(KILLS):
            w = ws[k % 2]
            wid = w.worker_id()
            time.sleep(max(0.0, last + MIN_GAP - time.monotonic()))
            try:
                n = wait_until(lambda: self.running_on(q, wid), timeout=20,
                               what="worker %s running tasks of %s" % (wid, q))
            except AssertionError:
                self.fail("only %d of %d kills: worker %s ran none of the tasks "
                          "(states %s)" % (len(kills), KILLS, wid, self.states(ids)))
            at = w.kill()
            last = time.monotonic()
            kills.append((at, wid, n))
            self.assertTrue(all(x.alive for x in ws if x is not w),
                            "the other worker died: %s" % [x.log_tail() for x in ws])
            w.start()
        for w in ws:
            w.worker_id()       # both up again
        t = wait_final(ids, timeout=75)
        self.assertEqual((t.lost, t.unfinished), (0, 0), str(t))
        self.assertIsNotNone(t.events, str(t))
        self.assertEqual(t.twice, {}, str(t))
        self.assertEqual(t.not_once_succeeded(), [], str(t))
        stuck = self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s "
                               "AND state = 'running'", (q,))
        self.assertEqual(stuck, 0)

        # how long the killed runs took to run again: kill -> the task's next `claimed`
        gaps, victims, unended = [], 0, []
        for at, wid, _ in kills:
            for tid, evs in t.events.items():
                for i, e in enumerate(evs):
                    if e["event"] != "claimed" or e["worker_id"] != wid:
                        continue
                    end = next((x for x in evs[i + 1:] if x["event"] in ENDS_RUN), None)
                    if end is None or end["event"] != "rescued":
                        if end is None:
                            unended.append(tid)
                        continue   # finished (or failed, released) before the kill
                    victims += 1
                    self.assertGreaterEqual(end["at"], at, "rescued before the kill: %s" % evs)
                    nxt = next((x for x in evs[i + 1:] if x["event"] == "claimed"), None)
                    self.assertIsNotNone(nxt, "killed run never claimed again: %s" % evs)
                    gaps.append((nxt["at"] - at).total_seconds())
        self.assertEqual(unended, [], "runs of killed workers never ended")
        self.assertGreaterEqual(victims, KILLS, "fewer killed runs than kills: %s" % kills)
        self.assertLess(max(gaps), LEASE + 5.0,
                        "a killed task waited %.1fs to run again (lease %ds)" % (max(gaps), LEASE))
        rescued = sum(1 for evs in t.events.values() for e in evs if e["event"] == "rescued")
        self.report("%s; %d kills, %d runs killed (%d rescued events); kill -> next claim "
                    "min %.2fs, median %.2fs, max %.2fs (lease %ds)" % (
                        t.figures(), len(kills), victims, rescued, min(gaps),
                        statistics.median(gaps), max(gaps), LEASE))

    def test_kill9_last_attempt_rescued_as_failed(self):
        """A killed run that was the task's last attempt ends `failed` (lease expired), with a
        `rescued` event saying so; one with attempts left is re-queued and runs again."""
        q = self.own_queue("kill1")
        w = self.start_worker(q, name="kill-last", lease=LEASE, concurrency=4)
        wid = w.worker_id()
        last = self.submit_ok("sleep", {"steps": 50, "step_ms": 100}, queue=q, max_attempts=1)
        more = self.submit_ok("sleep", {"steps": 50, "step_ms": 100}, queue=q, max_attempts=2)
        ids = [last["id"], more["id"]]
        wait_until(lambda: self.running_on(q, wid) == 2, timeout=15, what="both running")
        at = w.kill()
        t = wait_final([last["id"]], timeout=LEASE + 10)
        took = (self.db.task(last["id"])["finished_at"] - at).total_seconds()
        row = t.rows[last["id"]]
        self.assertEqual((row["state"], row["attempts"]), ("failed", 1), str(t))
        self.assertIn("lease expired", row["error"] or "")
        evs = t.events[last["id"]]
        self.assertEqual([e["event"] for e in evs], ["claimed", "rescued"], evs)
        self.assertIn("failed", evs[-1]["detail"] or "", "rescued detail: %r" % evs[-1])
        # the other one is queued again: a new worker runs it to success (attempt 2)
        wait_until(lambda: self.db.task(more["id"])["state"] == "queued", timeout=LEASE + 10,
                   what="the task with an attempt left re-queued")
        w.start()
        t = wait_final(ids, timeout=15)
        evs = t.events[more["id"]]
        self.assertEqual([(e["event"], e["attempt"]) for e in evs],
                         [("claimed", 1), ("rescued", 1), ("claimed", 2), ("succeeded", 2)], evs)
        self.assertIn("queued", evs[1]["detail"] or "", "rescued detail: %r" % evs[1])
        self.assertEqual(dict(t.states), {"failed": 1, "succeeded": 1}, str(t))
        self.report("%s; last attempt failed %.1fs after the kill" % (t.figures(), took))

    def states(self, ids):
        rows = self.db.query("SELECT state::text, count(*) FROM taskq.tasks "
                             "WHERE id = ANY(%s::uuid[]) GROUP BY 1", (ids,))
        return {r["state"]: r["count"] for r in rows}
