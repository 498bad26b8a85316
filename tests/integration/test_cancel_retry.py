"""DELETE /api/tasks/{id} (cancel) and POST /api/tasks/{id}/retry in every state."""

import time
import uuid

from taskq_harness import TaskqTestCase, api, parse_time, unique

FINAL = ("succeeded", "failed", "cancelled")


class CancelTests(TaskqTestCase):

    def test_cancel_queued_delayed_task_200(self):
        t = self.submit_ok("sleep", {"steps": 1}, delay_s=3600)  # queue default, not yet due
        r = api.delete(t["id"])
        self.assertEqual(r.status, 200, str(r))
        self.assert_task_json(r.json)
        self.assertEqual(r.json["id"], t["id"])
        self.assertEqual(r.json["state"], "cancelled")
        self.assertIsNotNone(r.json["finished_at"])
        self.assertGreater(r.json["version"], t["version"])
        self.assertEqual(self.get_ok(t["id"])["state"], "cancelled")
        row = self.db.task(t["id"])
        self.assertEqual(row["state"], "cancelled")
        self.assertIsNotNone(row["finished_at"])

    def test_cancel_running_task_202_then_cancelled_within_a_step(self):
        t = self.submit_ok("sleep", {"steps": 100, "step_ms": 100})
        self.api.wait_for(t["id"], lambda x: x["state"] == "running" and x["progress"] >= 2,
                          timeout=15)
        r = api.delete(t["id"])
        self.assertEqual(r.status, 202, str(r))
        self.assert_task_json(r.json)
        self.assertIs(r.json["cancel_requested"], True, str(r))
        t0 = time.monotonic()
        done = self.api.wait_for(t["id"], FINAL, timeout=5)
        took = time.monotonic() - t0
        self.assertEqual(done["state"], "cancelled", repr(done))
        self.assertLess(done["progress"], 100)
        self.assertIsNotNone(done["finished_at"])
        # one step is 100 ms; allow for polling and scheduling
        self.assertLess(took, 1.5, "cancel took %.2fs for 100 ms steps" % took)
        self.report("ended %.0f ms after DELETE" % (took * 1000))

    def test_cancel_finished_task_409(self):
        t = self.submit_ok("noop")
        self.api.wait_for(t["id"], "succeeded", timeout=15)
        r = api.delete(t["id"])
        self.assert_error(r, 409, "wrong_state")
        self.assertEqual(self.get_ok(t["id"])["state"], "succeeded")

    def test_cancel_twice_409(self):
        t = self.submit_ok("noop", queue=unique("q"))
        self.assertEqual(api.delete(t["id"]).status, 200)
        self.assert_error(api.delete(t["id"]), 409, "wrong_state")

    def test_cancel_unknown_404(self):
        self.assert_error(api.delete(str(uuid.uuid4())), 404, "not_found")

    def test_cancelled_task_is_never_started(self):
        q = unique("q")
        t = self.submit_ok("noop", queue=q)
        self.assertEqual(api.delete(t["id"]).status, 200)
        row = self.db.task(t["id"])
        self.assertIsNone(row["started_at"])
        self.assertEqual(row["attempts"], 0)


class RetryTests(TaskqTestCase):

    def test_retry_succeeded_409(self):
        t = self.submit_ok("noop")
        self.api.wait_for(t["id"], "succeeded", timeout=15)
        self.assert_error(api.retry(t["id"]), 409, "wrong_state")
        self.assertEqual(self.get_ok(t["id"])["state"], "succeeded")

    def test_retry_queued_409(self):
        t = self.submit_ok("noop", queue=unique("q"))
        self.assert_error(api.retry(t["id"]), 409, "wrong_state")

    def test_retry_running_409(self):
        t = self.submit_ok("sleep", {"steps": 100, "step_ms": 100})
        self.api.wait_for(t["id"], "running", timeout=15)
        self.assert_error(api.retry(t["id"]), 409, "wrong_state")

    def test_retry_unknown_404(self):
        self.assert_error(api.retry(str(uuid.uuid4())), 404, "not_found")

    def test_retry_failed_200_queued_then_runs(self):
        t = self.submit_ok("sleep", {"steps": 2, "step_ms": 10, "fail_at": 1}, max_attempts=1)
        first = self.api.wait_for(t["id"], FINAL, timeout=15)
        self.assertEqual(first["state"], "failed", repr(first))
        r = api.retry(t["id"])
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["state"], "queued")
        self.assertIsNone(r.json["finished_at"], "a queued task has no finished_at: %s" % r)
        again = self.api.wait_for(t["id"], lambda x: x["state"] in FINAL and
                                  x["finished_at"] != first["finished_at"], timeout=15)
        self.assertEqual(again["state"], "failed")
        self.assertGreater(parse_time(again["started_at"]), parse_time(first["finished_at"]))

    def test_retry_cancelled_200_then_runs_to_success(self):
        t = self.submit_ok("sleep", {"steps": 30, "step_ms": 50})
        self.api.wait_for(t["id"], lambda x: x["state"] == "running" and x["progress"] > 0,
                          timeout=15)
        self.assertEqual(api.delete(t["id"]).status, 202)
        cancelled = self.api.wait_for(t["id"], FINAL, timeout=5)
        self.assertEqual(cancelled["state"], "cancelled", repr(cancelled))
        r = api.retry(t["id"])
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["state"], "queued")
        self.assertIs(r.json["cancel_requested"], False, "retry must clear cancel_requested")
        done = self.api.wait_for(t["id"], lambda x: x["state"] in ("succeeded", "failed"),
                                 timeout=20)
        self.assertEqual(done["state"], "succeeded", repr(done))
        self.assertEqual(done["result"], {"steps": 30})
        self.assertEqual(done["progress"], 100)

    def test_retry_cancelled_queued_task(self):
        t = self.submit_ok("noop", queue=unique("q"))
        self.assertEqual(api.delete(t["id"]).status, 200)
        r = api.retry(t["id"])
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["state"], "queued")
        self.assertEqual(self.db.task(t["id"])["state"], "queued")
