"""Status reads from the replica (taskq-fcgi --read-db) with read-your-writes, and what the
replica takes off the primary under polling load."""

import os
import subprocess
import threading
import time
import unittest

from clusterlib import WEB, figure, metrics, request, submit, submit_batch, wait_final

HERE = os.path.dirname(os.path.abspath(__file__))
SERVED = 'taskq_read_replica_total{result="served",reason="fresh"}'
FALLBACKS = ('taskq_read_replica_total{result="fallback",reason="missing"}',
             'taskq_read_replica_total{result="fallback",reason="stale"}',
             'taskq_read_replica_total{result="fallback",reason="unavailable"}')


def replica_counts():
    served = fallback = 0.0
    for web in WEB:
        m = metrics(web)
        served += m.get(SERVED, 0)
        fallback += sum(m.get(k, 0) for k in FALLBACKS)
    return served, fallback


class TestReplicaReads(unittest.TestCase):
    def test_read_your_writes(self):
        """A client that follows its 202's ETag, alternating web1 and web2, never sees an
        older version than it already saw, while the tasks change under it."""
        ids = []
        for n in range(6):
            r = submit("web1" if n % 2 else "web2", "sleep", {"steps": 12, "step_ms": 150})
            self.assertEqual(r.status, 202, r.body)
            self.assertEqual(r.header("etag"), '"%d"' % r.json()["version"])
            ids.append((r.json()["id"], r.json()["version"]))
        older = []
        reads = [0]
        stop = time.monotonic() + 4

        def poll(k):
            seen = {tid: v for tid, v in ids}
            web = list(WEB)[k % 2]
            while time.monotonic() < stop:
                for tid in seen:
                    r = request(web, "GET", "/api/tasks/%s" % tid,
                                headers={"If-None-Match": '"%d"' % seen[tid]})
                    reads[0] += 1
                    if r.status == 200:
                        v = r.json()["version"]
                        if v < seen[tid]:
                            older.append((tid, seen[tid], v))
                        seen[tid] = v
                    elif r.status != 304:
                        older.append((tid, "status", r.status))
                web = "web1" if web == "web2" else "web2"

        threads = [threading.Thread(target=poll, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(older, [], "a client saw an older version than it had seen")
        t = wait_final([i for i, _ in ids], 30)
        self.assertEqual(len(t.lost) + len(t.doubled), 0, str(t))
        figure("read-your-writes: %d polls alternating web1/web2 with the client's ETag, "
               "0 older than seen" % reads[0])

    def test_lagging_replica_falls_back(self):
        """With the replica's replay paused (it receives WAL but shows nothing new), a client
        still sees its task and every later version: the reads go to the primary."""
        from clusterlib import scalar
        scalar("SELECT pg_wal_replay_pause()", host="pg2")
        try:
            s0, f0 = replica_counts()
            r = submit("web1", "sleep", {"steps": 6, "step_ms": 200})
            self.assertEqual(r.status, 202, r.body)
            tid, seen = r.json()["id"], r.json()["version"]
            states = []
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                r = request("web2", "GET", "/api/tasks/%s" % tid,
                            headers={"If-None-Match": '"%d"' % seen})
                self.assertIn(r.status, (200, 304), r.body)
                if r.status == 200:
                    t = r.json()
                    self.assertGreaterEqual(t["version"], seen)
                    seen = t["version"]
                    states.append(t["state"])
                    if t["state"] == "succeeded":
                        break
                time.sleep(0.05)
            self.assertEqual(states[-1:], ["succeeded"], states)
            s1, f1 = replica_counts()
            self.assertGreater(f1 - f0, 0, "no read fell back to the primary")
        finally:
            scalar("SELECT pg_wal_replay_resume()", host="pg2")

    def test_replica_share_under_polling_load(self):
        """wrk on the client host polls running tasks through both web hosts with ETags;
        /metrics says how many reads the replica served."""
        ids = submit_batch("web1", [{"kind": "sleep", "payload": {"steps": 30, "step_ms": 200}}
                                    for _ in range(24)])
        s0, f0 = replica_counts()
        procs = [subprocess.Popen(["wrk", "-t2", "-c2", "-d5s", "-s",
                                   os.path.join(HERE, "poll.lua"), "http://%s/" % WEB[web],
                                   "--"] + ids, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True) for web in WEB]
        outs = [p.communicate(timeout=60)[0] for p in procs]
        s1, f1 = replica_counts()
        served, fallback = s1 - s0, f1 - f0
        total = served + fallback
        rps = 0.0
        for out in outs:
            for line in out.splitlines():
                if line.startswith("Requests/sec:"):
                    rps += float(line.split()[1])
        self.assertGreater(total, 100, outs)
        share = served / total
        figure("replica share of status reads under polling load: %.0f%% (%d of %d reads; "
               "%.0f req/s from wrk on the client, 2 web hosts, 24 running tasks)" % (
                   100 * share, served, total, rps))
        self.assertGreater(share, 0.5)
        for tid in ids:
            request("web1", "DELETE", "/api/tasks/%s" % tid)
        t = wait_final(ids, 30)
        self.assertEqual(len(t.lost), 0, str(t))


if __name__ == "__main__":
    unittest.main()
