"""The users' story: many browser tabs poll while long tasks run, and nothing waits for them.

20 long sleep tasks occupy 20 of the worker's executors; 50 concurrent clients each submit a
task, poll it and the list a few times. Every answer must come back with the expected status
well within a few seconds, long before any long task could finish.
"""

import statistics
import threading
import time

from taskq_harness import TaskqTestCase, Client, wait_until, percentile

N_LONG = 20
N_CLIENTS = 50
LONG = {"steps": 40, "step_ms": 250}   # 10 s each
MAX_LATENCY_S = 3.0


class MultiTabTests(TaskqTestCase):

    def client_session(self, i, barrier, out):
        """One tab: submit, then poll the task and the list a few times."""
        c = Client(timeout=15)
        log = []

        def call(what, expect, fn):
            t0 = time.monotonic()
            try:
                r = fn()
            except Exception as e:  # a timeout or reset is a failed request
                log.append((what, "%s: %s" % (type(e).__name__, e), time.monotonic() - t0))
                return None
            log.append((what, r.status if r.status in expect else str(r), r.elapsed))
            return r

        try:
            barrier.wait(timeout=20)
            r = call("submit", (202,), lambda: c.submit("noop", {"tab": i}))
            if r is not None and r.status == 202:
                tid = r.json["id"]
                for k in range(3):
                    call("get", (200,), lambda: c.get(tid))
                    call("list", (200,), lambda: c.list(limit=10))
                etag = '"%s"' % r.json["version"]
                call("get-etag", (200, 304), lambda: c.get(tid, headers={"If-None-Match": etag}))
        finally:
            out[i] = log

    def test_50_clients_while_20_long_tasks_run(self):
        longs = [self.submit_ok("sleep", LONG)["id"] for _ in range(N_LONG)]
        wait_until(lambda: self.db.count_state(longs, "running") >= N_LONG, timeout=20,
                   what="%d long tasks running" % N_LONG)
        self.assertGreaterEqual(self.db.count_state(longs, "running"), N_LONG)

        barrier = threading.Barrier(N_CLIENTS)
        out = [None] * N_CLIENTS
        threads = [threading.Thread(target=self.client_session, args=(i, barrier, out))
                   for i in range(N_CLIENTS)]
        t0 = time.monotonic()
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        wall = time.monotonic() - t0

        hung = [i for i, th in enumerate(threads) if th.is_alive()]
        self.assertEqual(hung, [], "client threads still waiting after 60 s")
        calls = [c for log in out for c in (log or [])]
        bad = [c for c in calls if not isinstance(c[1], int)]
        if bad:
            self.fail("%d of %d requests failed or got the wrong status, e.g. %s" % (
                len(bad), len(calls), bad[:3]))
        self.assertEqual(len(calls), N_CLIENTS * 8, "some clients did not make all requests")
        lat = [c[2] for c in calls]
        slowest = max(calls, key=lambda c: c[2])
        self.assertLess(slowest[2], MAX_LATENCY_S, "slowest request %s took %.2fs" % (
            slowest[0], slowest[2]))
        # nobody waited for a long task: they are all still running after the burst
        still = self.db.count_state(longs, "running")
        self.assertEqual(still, N_LONG, "long tasks finished during the burst (%.1fs)" % wall)
        self.report("%d requests from %d clients in %.2fs: median %.1f ms, p99 %.1f ms, "
                    "max %.1f ms" % (len(calls), N_CLIENTS, wall,
                                     statistics.median(lat) * 1000, percentile(lat, 99) * 1000,
                                     max(lat) * 1000))

    def tearDown(self):
        super().tearDown()  # cancels the long tasks
        # the next test gets free executors: wait until they have ended (one step, 250 ms)
        try:
            wait_until(lambda: self.db.scalar(
                "SELECT count(*) FROM taskq.tasks WHERE id = ANY(%s::uuid[]) AND state = "
                "'running'", (self._cleanup,)) == 0, timeout=5, what="long tasks cancelled")
        except Exception:
            pass
