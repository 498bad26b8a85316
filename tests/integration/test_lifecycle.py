"""The whole path through the worker: queued -> running (progress) -> succeeded / failed."""

import re
import time

from taskq_harness import TaskqTestCase, parse_time

STEP_RE = re.compile(r"^step (\d+)/(\d+)$")


class LifecycleTests(TaskqTestCase):

    def test_sleep_runs_with_rising_progress_and_succeeds(self):
        t = self.submit_ok("sleep", {"steps": 10, "step_ms": 200})
        seen = []
        done = self.api.wait_for(t["id"], ("succeeded", "failed", "cancelled"), timeout=30,
                                 history=seen)
        self.assertEqual(done["state"], "succeeded", repr(done))
        self.assertEqual(done["progress"], 100)
        self.assertEqual(done["result"], {"steps": 10})
        self.assertEqual(done["attempts"], 1)
        self.assertIsNone(done["error"])
        self.assertIsNotNone(done["started_at"])
        self.assertIsNotNone(done["finished_at"])
        self.assertLessEqual(parse_time(done["created_at"]), parse_time(done["started_at"]))
        self.assertLessEqual(parse_time(done["started_at"]), parse_time(done["finished_at"]))
        elapsed = parse_time(done["finished_at"]) - parse_time(done["started_at"])
        self.assertGreaterEqual(elapsed.total_seconds(), 1.9, "10 x 200 ms took %s" % elapsed)

        states = [x["state"] for x in seen]
        self.assertIn("running", states, "never observed running")
        # the states only move forward: queued* running* succeeded
        order = {"queued": 0, "running": 1, "succeeded": 2}
        ranks = [order[s] for s in states]
        self.assertEqual(ranks, sorted(ranks), "state went backwards: %s" % states)
        progress = [x["progress"] for x in seen]
        self.assertEqual(progress, sorted(progress), "progress went down: %s" % progress)
        mids = sorted({x["progress"] for x in seen if 1 <= x["progress"] <= 99})
        self.assertGreaterEqual(len(mids), 2, "intermediate progress seen: %s" % mids)
        for x in seen:
            if x["state"] == "running" and x["progress"] > 0:
                m = STEP_RE.match(x["message"] or "")
                self.assertTrue(m, "message %r is not 'step i/N'" % x["message"])
                i, n = int(m.group(1)), int(m.group(2))
                self.assertEqual(n, 10)
                self.assertEqual(x["progress"], i * 100 // n, repr(x))
        self.report("progress seen %s" % mids)

        row = self.db.task(t["id"])
        self.assertEqual((row["state"], row["progress"], row["attempts"], row["result"]),
                         ("succeeded", 100, 1, {"steps": 10}))

    def test_noop_succeeds(self):
        t = self.submit_ok("noop")
        done = self.api.wait_for(t["id"], ("succeeded", "failed", "cancelled"), timeout=15)
        self.assertEqual(done["state"], "succeeded", repr(done))
        self.assertEqual(done["result"], {})
        self.assertEqual(done["progress"], 100)
        self.assertEqual(done["attempts"], 1)
        self.assertIsNotNone(done["finished_at"])

    def test_fail_at_with_one_attempt_fails(self):
        t = self.submit_ok("sleep", {"steps": 4, "step_ms": 20, "fail_at": 2}, max_attempts=1)
        done = self.api.wait_for(t["id"], ("succeeded", "failed", "cancelled"), timeout=15)
        self.assertEqual(done["state"], "failed", repr(done))
        self.assertEqual(done["attempts"], 1)
        self.assertIsInstance(done["error"], str, repr(done))
        self.assertIn("step 2", done["error"])
        self.assertIsNone(done["result"])
        self.assertIsNotNone(done["finished_at"])
        self.assertLess(done["progress"], 100)
        row = self.db.task(t["id"])
        self.assertEqual((row["state"], row["attempts"]), ("failed", 1))

    def test_fail_at_with_two_attempts_is_attempted_twice(self):
        t = self.submit_ok("sleep", {"steps": 3, "step_ms": 20, "fail_at": 1}, max_attempts=2)
        t0 = time.monotonic()
        seen = []
        done = self.api.wait_for(t["id"], ("succeeded", "failed", "cancelled"), timeout=60,
                                 history=seen)
        self.assertEqual(done["state"], "failed", repr(done))
        self.assertEqual(done["attempts"], 2)
        self.assertIn("step 1", done["error"] or "")
        # between the attempts it was back in the queue, not failed
        self.assertNotIn("failed", [x["state"] for x in seen[:-1]])
        self.report("2 attempts in %.1fs" % (time.monotonic() - t0))

    def test_retry_of_failed_task_runs_again(self):
        t = self.submit_ok("sleep", {"steps": 2, "step_ms": 20, "fail_at": 2}, max_attempts=1)
        first = self.api.wait_for(t["id"], ("succeeded", "failed", "cancelled"), timeout=15)
        self.assertEqual(first["state"], "failed", repr(first))
        r = self.api.retry(t["id"])
        self.assertEqual(r.status, 200, str(r))
        self.assert_task_json(r.json)
        self.assertEqual(r.json["state"], "queued")
        self.assertGreater(r.json["version"], first["version"])
        again = self.api.wait_for(t["id"], lambda x: x["state"] in ("failed", "succeeded") and
                                  x["finished_at"] != first["finished_at"], timeout=15)
        self.assertEqual(again["state"], "failed", repr(again))
        self.assertGreater(parse_time(again["started_at"]), parse_time(first["finished_at"]))
        self.assertIn("step 2", again["error"] or "")
