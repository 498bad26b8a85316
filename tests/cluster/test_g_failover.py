"""Fault 3: the primary is killed (SIGKILL of PostgreSQL on pg1: postmaster and backends)
under submit + drain load, and the replica is promoted. Both daemons find the new primary by
themselves (libpq's host=pg1,pg2 target_session_attrs=read-write); every submit that got its
202 exists on pg2 and finishes (synchronous replication: a commit was on pg2 before the 202).
Runs last: pg2 stays the primary, without a standby."""

import threading
import time
import unittest

import clusterlib
from clusterlib import dev, figure, request, scalar, submit, wait_final, wait_until

PROMOTE_AFTER_S = 1.0   # how long a failover manager takes to decide


class TestFailover(unittest.TestCase):
    def test_kill_primary_promote_replica(self):
        accepted = []       # (time of the answer, id)
        answers = []        # (time, web, status)
        stop = threading.Event()

        def load(web):
            while not stop.is_set():
                try:
                    r = submit(web, "sleep", {"steps": 2, "step_ms": 100}, timeout=30)
                except OSError:
                    answers.append((time.monotonic(), web, "error"))
                    time.sleep(0.1)
                    continue
                now = time.monotonic()
                answers.append((now, web, r.status))
                if r.status == 202:
                    accepted.append((now, r.json()["id"]))
                else:
                    time.sleep(0.1)

        threads = [threading.Thread(target=load, args=(w,))
                   for w in ("web1", "web2", "web1", "web2")]
        for t in threads:
            t.start()
        promoted = False
        try:
            time.sleep(3)
            t_kill = time.monotonic()
            dev("kill", "pg1")
            time.sleep(PROMOTE_AFTER_S)
            dev("promote")
            t_promoted = time.monotonic()
            promoted = True
            clusterlib.state["primary"] = "pg2"
            promoted_at = scalar("SELECT now()")
            # both web hosts accept submits again, on their own
            for web in ("web1", "web2"):
                wait_until(lambda: any(t > t_promoted and w == web and s == 202
                                       for t, w, s in answers), 60,
                           "%s to accept submits after the promotion" % web)
            time.sleep(2)
        finally:
            stop.set()
            for t in threads:
                t.join(40)
            if not promoted:
                clusterlib.state["primary"] = "pg2"
        before = [t for t, _ in accepted if t < t_kill]
        after = [t for t, _ in accepted if t > t_kill]
        self.assertTrue(before and after)
        # time without service: the longest stretch without a 202 from either web host
        times = sorted(t for t, _ in accepted)
        gap = max(b - a for a, b in zip(times, times[1:]))
        back = min(t for t in after if t > t_promoted) - t_kill
        ids = [i for _, i in accepted]
        t = wait_final(ids, 90)
        self.assertEqual(len(t.missing), 0, "202'd tasks missing on pg2: %s" % t.missing[:5])
        self.assertEqual(len(t.lost), 0, str(t))
        self.assertEqual(len(t.doubled), 0, str(t))
        self.assertEqual(len(t.not_succeeded), 0, str(t))
        # the workers found pg2 too: tasks submitted after the promotion ran there
        self.assertFalse(scalar("SELECT pg_is_in_recovery()"))
        ran = scalar("SELECT count(DISTINCT split_part(worker_id, ':', 1)) FROM taskq.task_history "
                     "WHERE event = 'succeeded' AND at > %s", (promoted_at,))
        self.assertEqual(ran, 3, "not every worker host recorded results on pg2")
        r = request("web2", "GET", "/healthz")
        self.assertEqual(r.status, 200, r.body)
        odd = {s for _, _, s in answers if s not in (202, 503)}
        figure("fault 3 (primary killed, replica promoted %.0f s later): %d submits got 202 "
               "(%d before the kill): %d lost, %d doubled; time without service (longest stretch "
               "without a 202) %.1f s; first 202 after the promotion %.1f s after the kill; "
               "other answers meanwhile: %s" % (
                   PROMOTE_AFTER_S, len(ids), len(before), len(t.lost), len(t.doubled), gap,
                   back,
                   ", ".join("%d x %s" % (sum(1 for _, _, s in answers if s == k), k)
                             for k in sorted({s for _, _, s in answers if s != 202}, key=str))
                   or "none"))
        self.assertEqual(odd, set(), "answers other than 202/503: %s" % odd)


if __name__ == "__main__":
    unittest.main()
