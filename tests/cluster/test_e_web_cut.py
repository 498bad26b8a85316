"""Fault 2: a web host is cut off from PostgreSQL (its back link down; the client still
reaches it on the front network). It answers 503 with Retry-After, the other web host keeps
serving, and it recovers by itself when the link returns."""

import threading
import time
import unittest

from clusterlib import dev, figure, request, submit, wait_final, wait_until


class TestWebCut(unittest.TestCase):
    def test_cut_web_host_from_postgres(self):
        accepted = []          # ids that got a 202, from either host
        log = {"web1": [], "web2": []}   # (time of the answer, status, retry-after, seconds)
        stop = threading.Event()

        def load(web):
            while not stop.is_set():
                t0 = time.monotonic()
                try:
                    r = submit(web, "sleep", {"steps": 2, "step_ms": 50}, timeout=30)
                except OSError as e:
                    log[web].append((time.monotonic(), "error: %s" % e, None, 0))
                    continue
                log[web].append((time.monotonic(), r.status, r.header("retry-after"),
                                 time.monotonic() - t0))
                if r.status == 202:
                    accepted.append(r.json()["id"])
                else:
                    time.sleep(0.2)
                time.sleep(0.02)

        threads = [threading.Thread(target=load, args=(w,)) for w in ("web1", "web1", "web2")]
        for t in threads:
            t.start()
        try:
            time.sleep(1.5)
            n_before = len(accepted)
            dev("cut", "web1", "back")
            t_cut = time.monotonic()
            # web1 answers 503 with Retry-After (after its connections give up on the dead link)
            first_503 = wait_until(
                lambda: next((t for t, s, ra, _ in log["web1"] if t > t_cut and s == 503 and ra),
                             None), 40, "web1 to answer 503 with Retry-After")
            r = request("web1", "GET", "/healthz", timeout=20)
            self.assertEqual(r.status, 503, r.body)
            self.assertTrue(r.header("retry-after"))
            time.sleep(6)
            t_heal = time.monotonic()
            dev("heal", "web1", "back")
        except BaseException:
            dev("heal", "web1", "back", check=False)
            stop.set()
            raise
        # web1 comes back by itself
        wait_until(lambda: next((t for t, s, _, _ in log["web1"] if t > t_heal and s == 202),
                                None), 40, "web1 to accept submits again")
        recovered = next(t for t, s, _, _ in log["web1"] if t > t_heal and s == 202)
        time.sleep(1)
        stop.set()
        for t in threads:
            t.join(30)
        # web2 kept serving throughout the cut
        during = [s for t, s, _, _ in log["web2"] if t_cut < t < t_heal]
        self.assertTrue(during, "web2 answered nothing during the cut")
        self.assertEqual(set(during), {202}, during)
        odd = {s for t, s, _, _ in log["web1"] if s not in (202, 503)}
        self.assertEqual(odd, set(), "web1 answered something else than 202 or 503")
        self.assertGreater(len(accepted), n_before)
        t = wait_final(accepted, 60)
        self.assertEqual(len(t.lost), 0, str(t))
        self.assertEqual(len(t.doubled), 0, str(t))
        slow = sorted(d for t, s, _, d in log["web1"] if s == 503)
        figure("fault 2 (web host cut from PostgreSQL): web1's first 503 + Retry-After %.1f s "
               "after the cut; %d answered 503 (median %.3f s, slowest %.1f s, %d within 0.1 s); "
               "web2 served %d submits meanwhile; web1 accepted again %.1f s after the link came "
               "back; %d accepted: %d lost, %d doubled" % (
                   first_503 - t_cut, len(slow), slow[len(slow) // 2], slow[-1],
                   sum(1 for d in slow if d < 0.1), len(during), recovered - t_heal,
                   len(accepted), len(t.lost), len(t.doubled)))


if __name__ == "__main__":
    unittest.main()
