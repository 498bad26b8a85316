"""Submit latency through nginx: 200 sequential POSTs of noop tasks on one kept connection.

Timing is reported in the test's output line, not asserted (machines differ); the statuses are.
"""

import time

from taskq_harness import TaskqTestCase, Client, latency_summary

N = 200


class LatencyTests(TaskqTestCase):

    def test_200_sequential_submits(self):
        c = Client(timeout=10, keepalive=True)
        lat, bad = [], []
        t0 = time.monotonic()
        try:
            for i in range(N):
                r = c.submit("noop", {"i": i})
                lat.append(r.elapsed)
                if r.status != 202:
                    bad.append(str(r))
        finally:
            c.close()
        wall = time.monotonic() - t0
        if bad:
            self.fail("%d of %d submits not 202, e.g. %s" % (len(bad), N, bad[:2]))
        self.assertEqual(len(lat), N)
        self.report("%d submits in %.2fs (%.0f/s): %s" % (N, wall, N / wall,
                                                           latency_summary(lat)))
