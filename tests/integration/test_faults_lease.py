"""Fault: a run loses its lease while its worker is still alive (a network partition, an
outage longer than the lease, a stalled heartbeat), the task is rescued, and the SAME worker,
which has free executors, claims it again.

The README promises "a worker that lost its lease records nothing": the stale run must stop
at its next write and the new attempt must be the one that records the outcome. A fence on
worker_id alone cannot tell the two runs of one worker apart.
"""

import psycopg2

from taskq_harness import ENV, TaskqTestCase, wait_final, wait_until

STEPS, STEP_MS = 10, 400            # 4 s a run


class LeaseFenceTests(TaskqTestCase):

    def test_run_that_lost_its_lease_records_nothing_when_its_worker_reclaims(self):
        q = self.own_queue("fence")
        w = self.start_worker(q, name="fence", lease=3, concurrency=4)
        wid = w.worker_id()
        t = self.submit_ok("sleep", {"steps": STEPS, "step_ms": STEP_MS}, queue=q,
                           max_attempts=3)
        tid = t["id"]
        wait_until(lambda: (self.db.task(tid)["progress"] or 0) >= 40, timeout=15,
                   what="attempt 1 at 40 %")
        # the lease is lost: expire it and rescue in one transaction (so no progress write
        # renews it in between); the rescue's wake-up makes the worker claim it again
        conn = psycopg2.connect(ENV.db)
        try:
            cur = conn.cursor()
            cur.execute("UPDATE taskq.tasks SET lease_until = now() - interval '1 second' "
                        "WHERE id = %s AND state = 'running'", (tid,))
            cur.execute("SELECT taskq.rescue()")
            n = cur.fetchone()[0]
            conn.commit()
        finally:
            conn.close()
        self.assertGreaterEqual(n, 1, "the expired lease was not rescued (a progress write "
                                "renewed it first?)")
        tally = wait_final([tid], timeout=20)
        self.assertEqual(tally.states.get("succeeded"), 1, str(tally))
        evs = tally.events[tid]
        seq = [(e["event"], e["attempt"], e["worker_id"]) for e in evs]
        claims = [e for e in evs if e["event"] == "claimed"]
        self.assertEqual(len(claims), 2, seq)
        self.assertEqual(claims[1]["worker_id"], wid, "another worker re-claimed it: %s" % seq)
        done = evs[-1]
        self.assertEqual(done["event"], "succeeded", seq)
        ran = (done["at"] - claims[1]["at"]).total_seconds()
        # attempt 2 needs STEPS x STEP_MS of sleeping: a success recorded sooner after its
        # claim was recorded by the stale attempt 1, which had lost its lease
        self.assertGreaterEqual(
            ran, STEPS * STEP_MS / 1000.0 - 0.2,
            "success recorded %.1fs after attempt 2 was claimed, sooner than a run takes "
            "(%.1fs): the stale attempt 1 (lease lost, rescued) recorded it; events %s" % (
                ran, STEPS * STEP_MS / 1000.0, seq))
        self.report("%s; attempt 2 recorded success %.1fs after its claim" % (
            tally.figures(), ran))
