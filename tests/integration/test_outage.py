"""PostgreSQL outages (run.py's destructive phase: after the safe tests): 503s while it is down,
recovery after.

Stops PostgreSQL for real with `$TASKQ_DEV daemon stop postgres` and always starts it again in
a finally block. taskq-fcgi and taskq-worker must recover on their own, without a restart.
"""

import time

from taskq_harness import (ENV, TaskqTestCase, api, start_daemon, stop_daemon, unique,
                           wait_until)

FINAL = ("succeeded", "failed", "cancelled")


class OutageTests(TaskqTestCase):

    def wait_healthy(self, timeout=30):
        t0 = time.monotonic()

        def ok():
            try:
                return api.healthz(timeout=5).status == 200
            except Exception:
                return False
        wait_until(ok, timeout=timeout, what="/healthz 200 after PostgreSQL restart")
        return time.monotonic() - t0

    def after_recovery(self, fn, stale):
        """fn() once PostgreSQL is back: a thread's first use of a connection that died with
        the old server may still answer 503 (+ Retry-After); retry those for up to 5 s, as a
        client honouring Retry-After would, and count them in stale."""
        deadline = time.monotonic() + 5
        while True:
            r = fn()
            if r.status != 503 or time.monotonic() > deadline:
                return r
            self.assertEqual(r.header("Retry-After"), "1", str(r))
            stale.append(r)
            time.sleep(0.05)

    def test_503_while_postgres_stopped_then_recovers(self):
        r = api.healthz()
        self.assertEqual(r.status, 200, str(r))
        before = self.submit_ok("noop", queue=unique("q"))
        start_err = "not started"
        try:
            stop_daemon("postgres")
            answers = []

            def unhealthy():
                h = api.healthz(timeout=5)
                answers.append(h.status)
                return h if h.status != 200 else None
            h = wait_until(unhealthy, timeout=10, what="/healthz not 200 with PostgreSQL down")
            self.assertEqual(h.status, 503, str(h))
            self.assert_json_response(h)
            self.assertEqual(h.json, {"status": "error", "database": "unavailable", "workers": None})
            self.assertLess(h.elapsed, 3.0, "503 took %.2fs" % h.elapsed)
            self.assertTrue(set(answers) <= {200, 503}, "healthz answers %s" % answers)
            calls = [("POST", "/api/tasks", b'{"kind":"noop"}'),
                     ("GET", "/api/tasks/" + before["id"], None),
                     ("GET", "/api/tasks?queue=" + before["queue"], None),
                     ("DELETE", "/api/tasks/" + before["id"], None),
                     ("POST", "/api/tasks/%s/retry" % before["id"], b"")]
            for method, path, body in calls:
                with self.subTest(method=method, path=path):
                    r = api.request(method, path, body=body, timeout=10,
                                    headers={"Content-Type": "application/json"})
                    self.assert_error(r, 503, "db_unavailable")
                    self.assertEqual(r.header("Retry-After"), "1", str(r.headers))
                    self.assertLess(r.elapsed, 3.0, "503 took %.2fs" % r.elapsed)
        finally:
            start_err = start_daemon("postgres")
        self.assertIsNone(start_err)
        took = self.wait_healthy()
        # taskq-fcgi serves again and taskq-worker runs new tasks, neither restarted
        # more tasks than executors, so every executor (each with its own connection) runs one
        stale, ids = [], []
        for i in range(ENV.concurrency + 8):
            r = self.after_recovery(lambda: api.submit("noop", {"i": i}), stale)
            self.assertEqual(r.status, 202, str(r))
            ids.append(self.track(r.json["id"]))
        def states():
            rows = self.db.query("SELECT state::text, count(*) FROM taskq.tasks WHERE id = "
                                 "ANY(%s::uuid[]) GROUP BY 1", (ids,))
            return {r["state"]: r["count"] for r in rows}
        try:
            wait_until(lambda: states().get("succeeded") == len(ids), timeout=30)
        except AssertionError:
            self.fail("of %d noops submitted after recovery, after 30 s: %s (a worker executor "
                      "that lost its connection in the outage?)" % (len(ids), states()))
        # what was refused during the outage did not happen
        r = self.after_recovery(lambda: api.get(before["id"]), stale)
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["state"], "queued")
        self.report("healthy again %.1fs after start; %d stale-connection 503s after that" % (
            took, len(stale)))

    def test_running_task_survives_an_outage(self):
        t = self.submit_ok("sleep", {"steps": 30, "step_ms": 100})
        self.api.wait_for(t["id"], lambda x: x["state"] == "running" and x["progress"] >= 10,
                          timeout=15)
        start_err = "not started"
        try:
            stop_daemon("postgres")
            time.sleep(1.5)  # hold the outage across several steps of the running task
        finally:
            start_err = start_daemon("postgres")
        self.assertIsNone(start_err)
        self.wait_healthy()
        t0 = time.monotonic()
        stale = []
        done = self.api.wait_for(t["id"], FINAL, timeout=75, tolerate_503=stale)
        self.assertEqual(done["state"], "succeeded", repr(done))
        self.assertEqual(done["result"], {"steps": 30})
        self.assertEqual(done["progress"], 100)
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE id = %s",
                                        (t["id"],)), 1)
        self.report("finished %.1fs after recovery, attempts %d, %d stale-connection 503s" % (
            time.monotonic() - t0, done["attempts"], len(stale)))
