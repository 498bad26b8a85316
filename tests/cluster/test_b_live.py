"""Live progress across hosts: a browser's stream on web2 follows a task submitted through
web1 and run on wk3 (the only worker that serves the queue "wk3"). Each web host's publisher
LISTENs on the primary and feeds its own nginx."""

import json
import socket
import time
import unittest

from clusterlib import WEB, figure, scalar, submit


def sse_events(web, path, deadline):
    """Yields (arrival monotonic time, parsed data) of each SSE message until the deadline."""
    s = socket.create_connection((WEB[web], 80), timeout=5)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n"
                   "Connection: close\r\n\r\n" % (path, WEB[web])).encode())
        buf = b""
        head_done = False
        while time.monotonic() < deadline:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return
            if not chunk:
                return
            buf += chunk
            if not head_done:
                if b"\r\n\r\n" not in buf:
                    continue
                head, buf = buf.split(b"\r\n\r\n", 1)
                status = head.split(b"\r\n", 1)[0]
                if b" 200 " not in status:
                    raise AssertionError("stream on %s: %s" % (web, head[:300]))
                head_done = True
            # chunked transfer encoding or not: messages are separated by a blank line and
            # their data lines start with "data: "
            while b"\n\n" in buf:
                msg, buf = buf.split(b"\n\n", 1)
                for line in msg.split(b"\n"):
                    line = line.strip(b"\r")
                    if line.startswith(b"data: "):
                        try:
                            yield time.monotonic(), json.loads(line[6:])
                        except ValueError:
                            pass
    finally:
        s.close()


class TestLiveAcrossHosts(unittest.TestCase):
    def test_stream_on_web2_follows_task_from_web1_run_on_wk3(self):
        r = submit("web1", "sleep", {"steps": 8, "step_ms": 250}, queue="wk3", delay_s=1)
        self.assertEqual(r.status, 202, r.body)
        tid = r.json()["id"]
        seen = []
        for at, t in sse_events("web2", "/api/tasks/%s/events" % tid, time.monotonic() + 20):
            seen.append((at, t))
            if t.get("state") in ("succeeded", "failed", "cancelled"):
                break
        states = [t["state"] for _, t in seen]
        self.assertTrue(states and states[-1] == "succeeded", states)
        progress = [(at, t["progress"]) for at, t in seen if t["state"] == "running"]
        # live: several progress states arrived before the final one, spread over the run
        self.assertGreaterEqual(len(progress), 3, states)
        self.assertGreater(seen[-1][0] - progress[0][0], 1.0, "the updates came all at once")
        versions = [t["version"] for _, t in seen]
        self.assertEqual(versions, sorted(versions))
        worker = scalar("SELECT worker_id FROM taskq.task_history WHERE task_id = %s "
                        "AND event = 'succeeded'", (tid,))
        self.assertTrue(worker and worker.startswith("wk3:"), worker)
        figure("live across hosts: %d messages on web2 for a task submitted on web1, run on "
               "wk3 (%d running states before succeeded)" % (len(seen), len(progress)))


if __name__ == "__main__":
    unittest.main()
