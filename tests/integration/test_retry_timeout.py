"""Retries with back-off, timeouts, cancellation (and its race with finishing), per-queue
limits: each on its own queue, served by an extra worker (--lease 3), checked in the events
history (taskq.task_history)."""

import time

from taskq_harness import (TaskqTestCase, FINAL_EVENTS, FINAL_STATES, Sampler, api,
                           claim_intervals, events_of, max_overlap, wait_final)


def kinds(evs):
    return [e["event"] for e in evs]


class RetryTimeoutTests(TaskqTestCase):

    def test_backoff_1s_then_2s_then_failed_event(self):
        q = self.own_queue("bo")
        self.start_worker(q, name="backoff", concurrency=2).worker_id()
        t = self.submit_ok("sleep", {"steps": 1, "step_ms": 10, "fail_at": 1}, queue=q,
                           max_attempts=3)
        done = api.wait_for(t["id"], FINAL_STATES, timeout=20)
        self.assertEqual((done["state"], done["attempts"]), ("failed", 3), repr(done))
        self.assertIn("failed at step 1", done["error"] or "")
        evs = events_of([t["id"]])[t["id"]]
        self.assertEqual(kinds(evs), ["claimed", "retry", "claimed", "retry", "claimed",
                                      "failed"], evs)
        claims = [e for e in evs if e["event"] == "claimed"]
        self.assertEqual([e["attempt"] for e in claims], [1, 2, 3])
        for e in evs[1::2]:
            self.assertIn("failed at step 1", e["detail"] or "", "detail of %s" % e)
        g1, g2 = [(b["at"] - a["at"]).total_seconds() for a, b in zip(claims, claims[1:])]
        # back-off 1 s and 2 s, ±25 % jitter, plus the attempt and scheduling slack
        self.assertTrue(0.7 <= g1 <= 1.85, "gap between attempts 1 and 2: %.2fs" % g1)
        self.assertTrue(1.45 <= g2 <= 3.1, "gap between attempts 2 and 3: %.2fs" % g2)
        self.report("claim gaps %.2fs, %.2fs (back-off 1 s, 2 s, +-25 %%); failed after 3"
                    % (g1, g2))

    def test_timeout_fails_the_attempt_timed_out(self):
        q = self.own_queue("to")
        self.start_worker(q, name="timeout", concurrency=2).worker_id()
        t = self.submit_ok("sleep", {"steps": 100, "step_ms": 100}, queue=q, timeout_s=1,
                           max_attempts=1)
        done = api.wait_for(t["id"], FINAL_STATES, timeout=15)
        self.assertEqual(done["state"], "failed", repr(done))
        self.assertIn("timed out", done["error"] or "", repr(done))
        self.assertLess(done["progress"], 100)
        row = self.db.task(t["id"])
        ran = (row["finished_at"] - row["started_at"]).total_seconds()
        self.assertTrue(0.9 <= ran <= 2.5, "timeout_s 1 stopped the attempt after %.2fs" % ran)
        evs = events_of([t["id"]])[t["id"]]
        self.assertEqual(kinds(evs), ["claimed", "failed"], evs)
        self.assertIn("timed out", evs[-1]["detail"] or "")
        self.report("failed %.2fs after start: %r" % (ran, done["error"]))

    def test_cancel_running_events(self):
        q = self.own_queue("cr")
        self.start_worker(q, name="cancel", concurrency=2).worker_id()
        t = self.submit_ok("sleep", {"steps": 50, "step_ms": 100}, queue=q)
        api.wait_for(t["id"], lambda x: x["state"] == "running" and x["progress"] > 0,
                     timeout=15)
        r = api.delete(t["id"])
        self.assertEqual(r.status, 202, str(r))
        done = api.wait_for(t["id"], FINAL_STATES, timeout=5)
        self.assertEqual(done["state"], "cancelled", repr(done))
        evs = events_of([t["id"]])[t["id"]]
        self.assertEqual(kinds(evs), ["claimed", "cancel_requested", "cancelled"], evs)
        took = (evs[2]["at"] - evs[1]["at"]).total_seconds()
        self.report("cancelled %.0f ms after cancel_requested" % (took * 1000))

    def test_cancel_finish_race_one_final_state_each(self):
        """Cancels land from 40 ms before to 40 ms after each task's expected end."""
        n = 40
        q = self.own_queue("race")
        self.start_worker(q, name="race", concurrency=8).worker_id()
        plan = {}
        ids = []
        for i in range(n):
            step_ms = 20 + 10 * (i % 12)
            tid = self.submit_ok("sleep", {"steps": 2, "step_ms": step_ms}, queue=q)["id"]
            ids.append(tid)
            plan[tid] = 2 * step_ms / 1000.0 + (((i * 7) % 9) - 4) * 0.01
        outcomes = {}
        deadline = time.monotonic() + 30
        while plan and time.monotonic() < deadline:
            for r in self.db.query(
                    "SELECT id::text, extract(epoch FROM clock_timestamp() - started_at)::float8"
                    " AS age FROM taskq.tasks WHERE id = ANY(%s::uuid[]) "
                    "AND started_at IS NOT NULL", (list(plan),)):
                if r["age"] >= plan[r["id"]]:
                    outcomes[r["id"]] = self.db.scalar(
                        "SELECT (taskq.cancel(%s)).outcome", (r["id"],))
                    del plan[r["id"]]
            time.sleep(0.005)
        self.assertEqual(plan, {}, "tasks never started")
        t = wait_final(ids, timeout=20)
        self.assertEqual((t.lost, t.unfinished), (0, 0), str(t))
        self.assertEqual(t.twice, {}, str(t))
        bad = []
        for tid in ids:
            evs, row = t.events[tid], t.rows[tid]
            finals = [e["event"] for e in evs if e["event"] in FINAL_EVENTS]
            if len(finals) != 1 or evs[-1]["event"] != finals[0] or finals[0] != row["state"]:
                bad.append("%s state %s outcome %s events %s" % (
                    tid, row["state"], outcomes.get(tid), kinds(evs)))
        self.assertEqual(bad, [], "tasks without exactly one final event matching the state")
        res = {r["id"]: r["result"] for r in self.db.query(
            "SELECT id::text, result FROM taskq.tasks WHERE id = ANY(%s::uuid[]) "
            "AND state = 'succeeded'", (ids,))}
        self.assertTrue(all(v == {"steps": 2} for v in res.values()), res)
        oc = {}
        for o in outcomes.values():
            oc[o] = oc.get(o, 0) + 1
        self.report("%s; ended %s; cancel outcomes %s" % (t.figures(), dict(t.states), oc))

    def test_per_queue_limit_in_one_worker(self):
        """--queues LIMITED=2,FREE on one worker with 8 executors: never more than 2 of
        LIMITED run at once, while FREE uses the other executors."""
        ql, qf = self.own_queue("ql"), self.own_queue("qf")
        self.start_worker("%s=2,%s" % (ql, qf), name="qlimit", concurrency=8).worker_id()
        sql = ("SELECT count(*) FILTER (WHERE queue = %s) * 1000 + count(*) FILTER "
               "(WHERE queue = %s) FROM taskq.tasks WHERE queue IN (%s, %s) "
               "AND state = 'running'")
        with Sampler(sql, (ql, qf, ql, qf), interval=0.02) as s:
            ids = self.db.query(
                "SELECT taskq.submit('sleep', '{\"steps\": 3, \"step_ms\": 100}', q)::text AS id,"
                " q FROM unnest(%s::text[]) AS u(q)", ([ql] * 10 + [qf] * 10,))
            t = wait_final([r["id"] for r in ids], timeout=30)
        self.assertEqual(t.not_once_succeeded(), [], str(t))
        lim = max(v // 1000 for v in s.values if v is not None)
        free = max(v % 1000 for v in s.values if v is not None)
        iv = [(a, b) for r in ids if r["q"] == ql
              for a, b, _, _ in claim_intervals(t.events[r["id"]])]
        over = max_overlap(iv, 0.05)
        self.assertLessEqual(max(lim, over), 2, "sampled %d, events %d at once" % (lim, over))
        self.assertEqual(max(lim, over), 2, "the limited queue never ran 2 at once")
        self.assertGreater(free, 2, "the unlimited queue was held to the limit too")
        self.report("limited queue max %d running (events %d, raw %d), unlimited max %d; %d "
                    "samples" % (lim, over, max_overlap(iv), free, len(s.values)))
