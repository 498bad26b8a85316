"""The throttle per upstream host of the http kind (sql/functions/breakers.sql,
worker/breakers.c, worker/kinds/httpwait.c): an upstream of the test's own on loopback that
answers its first request with 429 or 503 and a Retry-After (seconds or an HTTP date), or
says its rate-limit budget is spent, and then 200. Every worker holds the host's tasks until
then without spending their attempts; the state shows in SQL, /metrics and /api/queues. Each
test runs extra workers on a queue of its own (the test stack's workers reach 127.0.0.1:
TASKQ_HTTP_ALLOW in tools/dev/test.sh)."""

import email.utils
import re
import threading
import time
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from taskq_faults import events_of
from taskq_harness import TaskqTestCase, host_series, unique, wait_final, wait_until
from taskq_httpd import QuietHandler, serve

HELD_RE = r"^upstream 127\.0\.0\.1:\d+ asked to wait until \d\d:\d\d:\d\dZ \(%s\)$"


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # a burst of 32 connections at once: none waits for a SYN retry


class Upstream:
    """A loopback HTTP server: its first request gets `first` (status, headers), every other
    one 200. It keeps the arrival of every request (task index, epoch seconds).

    hold_burst: the first answer waits until no request has come for 0.3 s (0.5 s at least),
    so that the requests sent with the first one, before any answer asked to wait, have all
    arrived; the others that arrive before it wait for it, and 0.5 s more, so that the
    executors are busy across the throttle and must honour it for the tasks they take next.
    """

    def __init__(self, first, hold_burst=False):
        self.lock = threading.Lock()
        self.first, self.hold_burst = first, hold_burst
        self.hits, self.last_arrival, self.answered_at = [], 0.0, None
        self.first_sent = threading.Event()
        up = self

        class Handler(QuietHandler):
            def do_GET(self):
                now = time.time()
                i = int(parse_qs(urlparse(self.path).query).get("i", ["-1"])[0])
                with up.lock:
                    n = len(up.hits)
                    up.hits.append((i, now))
                    up.last_arrival = now
                if n == 0:
                    if up.hold_burst:
                        up.quiet(now)
                    status, headers = up.first
                    with up.lock:
                        up.answered_at = time.time()
                    up.first_sent.set()
                    return self.send(status, b"slow down", headers=headers)
                if up.hold_burst and not up.first_sent.is_set():
                    up.first_sent.wait(15)
                    time.sleep(0.5)
                return self.send(200, b'{"ok":true}', "application/json")

        self.server = serve(Server(("127.0.0.1", 0), Handler))
        self.host = "127.0.0.1:%d" % self.server.server_address[1]

    def quiet(self, start):
        while True:
            time.sleep(0.02)
            with self.lock:
                now = time.time()
                if (now - start >= 0.5 and now - self.last_arrival >= 0.3) or now - start > 5:
                    return

    def url(self, i):
        return "http://%s/call?i=%d" % (self.host, i)

    def arrivals(self):
        with self.lock:
            return [a for _, a in self.hits]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class HttpThrottleTests(TaskqTestCase):

    def upstream(self, status, headers, hold_burst=False):
        up = Upstream((status, headers), hold_burst)
        self.addCleanup(up.close)
        self.addCleanup(self.db.query, "DELETE FROM taskq.breakers WHERE host = %s", (up.host,))
        return up

    def workers(self, prefix, n=1, concurrency=2, args=()):
        q = self.own_queue(prefix)
        ws = [self.start_worker(q, name="%s-%d" % (prefix, k), concurrency=concurrency,
                                args=args) for k in range(n)]
        for w in ws:
            w.worker_id()
        return q, ws

    def submit_calls(self, up, q, n, first=0):
        return self.submit_many(n, "http", lambda i: {"url": up.url(first + i), "timeout_s": 10},
                                queue=q, max_attempts=3)

    def throttle_row(self, host):
        rows = self.db.query("SELECT *, extract(epoch FROM until)::float8 AS until_s "
                             "FROM taskq.upstream_throttles WHERE host = %s", (host,))
        return rows[0] if rows else None

    def breaker(self, host):
        rows = self.db.query("SELECT * FROM taskq.breakers WHERE host = %s", (host,))
        return rows[0] if rows else None

    def metrics(self, host):
        """{family: value} of the host's throttle series in /metrics."""
        return {f: v for (f, _), v in host_series("taskq_upstream_", host).items()}

    def held_messages(self, ids):
        return [r["message"] for r in self.db.query(
            "SELECT message FROM taskq.tasks WHERE id = ANY(%s::uuid[]) AND state = 'queued' "
            "AND message LIKE 'upstream %%'", (ids,))]

    def assert_no_attempt_spent(self, ids, held_re):
        """Every task succeeded at its first attempt: attempts 1, no retry in its history, and
        a `claimed` for each `deferred` (whose detail says why) and one more."""
        rows = self.db.query("SELECT attempts FROM taskq.tasks WHERE id = ANY(%s::uuid[])",
                             (ids,))
        self.assertEqual(sorted(r["attempts"] for r in rows), [1] * len(ids))
        deferred = 0
        for tid, evs in events_of(ids).items():
            kinds = [e["event"] for e in evs]
            self.assertNotIn("retry", kinds, (tid, kinds))
            self.assertEqual(kinds.count("succeeded"), 1, (tid, kinds))
            self.assertEqual(kinds.count("claimed"), kinds.count("deferred") + 1, (tid, kinds))
            for e in evs:
                if e["event"] == "deferred":
                    deferred += 1
                    self.assertRegex(e["detail"], held_re)
        return deferred

    def test_429_holds_the_host_for_every_worker_without_spending_attempts(self):
        n_workers, conc, tasks = 4, 8, 40
        up = self.upstream(429, [("Retry-After", "3")], hold_burst=True)
        q, _ = self.workers("thr", n_workers, conc)
        held_re = HELD_RE % r"429 Retry-After: 3"
        ids = self.submit_calls(up, q, tasks)

        self.assertTrue(up.first_sent.wait(30), "the upstream got no request")
        t429 = up.answered_at
        # while held: the view, /metrics, /api/queues and the tasks' messages say so
        row = wait_until(lambda: self.throttle_row(up.host), timeout=2,
                         what="the throttle in taskq.upstream_throttles")
        self.assertEqual(row["reason"], "429 Retry-After: 3", row)
        self.assertGreater(row["seconds_left"], 0, row)
        self.assertLessEqual(row["seconds_left"], 3, row)
        self.assertGreaterEqual(row["until_s"], t429 + 3, row)
        self.assertRegex(row["message"], held_re)
        m = wait_until(lambda: (lambda m: m if m.get("taskq_upstream_throttle_seconds") else
                                None)(self.metrics(up.host)), timeout=2,
                       what="/metrics showing the throttle")
        self.assertLessEqual(m["taskq_upstream_throttle_seconds"], 3, m)
        self.assertEqual(m["taskq_upstream_throttles_total"], 1, m)
        self.assertEqual(m["taskq_upstream_throttles_capped_total"], 0, m)
        listed = wait_until(lambda: [t for t in self.api.request("GET", "/api/queues").json[
            "throttled"] if t["host"] == up.host and t["waiting"] > 0], timeout=2,
            what="/api/queues listing the host with its waiting tasks")[0]
        self.assertEqual(listed["reason"], "429 Retry-After: 3", listed)
        self.assertRegex(listed["message"], held_re)
        messages = wait_until(lambda: self.held_messages(ids), timeout=2,
                              what="a held task's message")
        for msg in messages:
            self.assertRegex(msg, held_re)
        waiting = self.throttle_row(up.host)["waiting"]

        tally = wait_final(ids, timeout=60)
        self.assertEqual(tally.states.get("succeeded"), tasks, str(tally))
        self.assertEqual(tally.run_twice, 0, str(tally))
        arrivals = up.arrivals()
        early = [round(a - t429, 3) for a in arrivals if t429 < a < t429 + 3.0]
        self.assertEqual(early, [], "requests within 3 s of the 429 (seconds after it)")
        burst = sum(1 for a in arrivals if a <= t429)
        deferred = self.assert_no_attempt_spent(ids, held_re)
        self.assertGreaterEqual(deferred, 1 + tasks - burst, "the tasks the burst left")
        b = self.breaker(up.host)
        self.assertEqual((b["throttles"], b["state"], b["failures"]), (1, "closed", 0), b)
        self.assertEqual(b["deferred"], deferred, "deferrals counted = deferred events")
        self.assertIsNone(self.throttle_row(up.host))
        wait_until(lambda: self.metrics(up.host).get("taskq_upstream_throttle_seconds") == 0,
                   timeout=5, what="/metrics showing the throttle over")
        after = sorted(a - t429 for a in arrivals if a > t429)
        self.report("%d workers x %d executors, %d tasks: %d requests before the 429, none "
                    "in the 3 s after it, the next %.2f s after it; %d deferrals (%d waiting "
                    "at once), all succeeded at attempt 1" % (
                        n_workers, conc, tasks, burst, after[0], deferred, waiting))

    def test_retry_after_as_an_http_date(self):
        at = int(time.time()) + 4
        date = email.utils.formatdate(at, usegmt=True)
        up = self.upstream(429, [("Retry-After", date)])
        q, _ = self.workers("thrdate", concurrency=1)  # none on its way with the first
        ids = self.submit_calls(up, q, 2)
        held_re = HELD_RE % re.escape("429 Retry-After: " + date)
        wait_until(lambda: self.held_messages(ids), timeout=15, what="a held task")
        tally = wait_final(ids, timeout=30)
        self.assertEqual(tally.states.get("succeeded"), 2, str(tally))
        arrivals = up.arrivals()
        self.assertEqual(len(arrivals), 3, arrivals)
        self.assertGreaterEqual(min(arrivals[1:]), at, "a request before the date")
        self.assert_no_attempt_spent(ids, held_re)

    def one_call(self, status, headers, name):
        """One task against an upstream that first answers status with headers, then 200;
        waits until it succeeded. (upstream, ids)."""
        up = self.upstream(status, headers)
        q, _ = self.workers(name)
        ids = self.submit_calls(up, q, 1)
        tally = wait_final(ids, timeout=30)
        self.assertEqual(tally.states.get("succeeded"), 1, str(tally))
        return up, ids

    def test_503_with_retry_after_is_a_throttle_not_a_breaker_failure(self):
        up, ids = self.one_call(503, [("Retry-After", "2")], "thr503")
        a = up.arrivals()
        self.assertEqual(len(a), 2, a)
        self.assertGreaterEqual(a[1] - a[0], 2.0)
        self.assert_no_attempt_spent(ids, HELD_RE % "503 Retry-After: 2")
        b = self.breaker(up.host)
        self.assertEqual((b["throttles"], b["failures"], b["trips"]), (1, 0, 0), b)

    def test_malformed_retry_after_is_ignored(self):
        up, ids = self.one_call(429, [("Retry-After", "soon")], "thrbad")
        # normal failure handling: the attempt is spent and retried after the back-off
        t = self.db.task(ids[0])
        self.assertEqual(t["attempts"], 2)
        kinds = [e["event"] for e in events_of(ids)[ids[0]]]
        self.assertEqual(kinds, ["claimed", "retry", "claimed", "succeeded"])
        b = self.breaker(up.host)
        self.assertTrue(b is None or b["throttles"] == 0, b)

    def test_a_long_wait_is_capped(self):
        up = self.upstream(429, [("Retry-After", "86400")])
        q, (w,) = self.workers("thrcap", args=["--http-retry-after-max", "2"])
        ids = self.submit_calls(up, q, 1)
        msg = wait_until(lambda: self.held_messages(ids), timeout=15, what="the held task")[0]
        self.assertRegex(msg, r"^upstream 127\.0\.0\.1:\d+ asked to wait until "
                              r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(429 Retry-After: 86400\); "
                              r"held until \d\d:\d\d:\d\dZ \(the workers' "
                              r"--http-retry-after-max\)$")
        row = self.throttle_row(up.host)
        self.assertLessEqual(row["seconds_left"], 2, row)
        self.assertGreater(row["asked_until"], row["until"], row)
        tally = wait_final(ids, timeout=30)
        self.assertEqual(tally.states.get("succeeded"), 1, str(tally))
        a = up.arrivals()
        self.assertTrue(2.0 <= a[1] - a[0] < 10, a)
        self.assertEqual(self.db.task(ids[0])["attempts"], 1)
        self.assertEqual(self.breaker(up.host)["throttles_capped"], 1)
        self.assertEqual(self.metrics(up.host).get("taskq_upstream_throttles_capped_total"), 1)
        with open(w.log_path, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        self.assertRegex(log, r"level=warn.*event=upstream_throttled host=\"%s\" "
                              r"asked_s=86400\.0 held_s=\d\.\d capped=1" % re.escape(up.host))

    def test_a_spent_rate_limit_holds_the_next_tasks(self):
        reset = int(time.time()) + 4
        up = self.upstream(200, [("X-RateLimit-Remaining", "0"),
                                 ("X-RateLimit-Reset", str(reset))])
        q, _ = self.workers("thrrl")
        first = self.submit_calls(up, q, 1)
        tally = wait_final(first, timeout=15)
        self.assertEqual(tally.states.get("succeeded"), 1, str(tally))  # its answer stands
        row = wait_until(lambda: self.throttle_row(up.host), timeout=5, what="the throttle")
        self.assertEqual(row["reason"],
                         "200 X-RateLimit-Remaining: 0, X-RateLimit-Reset: %d" % reset)
        ids = self.submit_calls(up, q, 3, first=1)
        tally = wait_final(ids, timeout=30)
        self.assertEqual(tally.states.get("succeeded"), 3, str(tally))
        a = up.arrivals()
        self.assertEqual(len(a), 4, a)
        self.assertGreaterEqual(min(a[1:]), reset, "a request before the reset")
        self.assert_no_attempt_spent(
            ids, HELD_RE % ("200 X-RateLimit-Remaining: 0, X-RateLimit-Reset: %d" % reset))

    def test_throttles_in_sql_only_grow_and_a_reset_lifts_them(self):
        host = unique("thr") + ".example"
        self.addCleanup(self.db.query, "DELETE FROM taskq.breakers WHERE host = %s", (host,))
        call = ("SELECT verdict, throttled_s, capped, message "
                "FROM taskq.breaker_throttle(%s, %s, %s, %s)")
        r = self.db.query(call, (host, 30, 600, "429 Retry-After: 30"))[0]
        self.assertEqual((r["verdict"], r["capped"]), ("held", False), r)
        self.assertTrue(29 < r["throttled_s"] <= 30, r)
        # a shorter wait changes nothing but the counters; a longer one past the cap is capped
        self.db.query(call, (host, 5, 600, "429 Retry-After: 5"))
        row = self.throttle_row(host)
        self.assertEqual((row["reason"], row["throttles"]), ("429 Retry-After: 30", 2), row)
        r = self.db.query(call, (host, 7200, 60, "503 Retry-After: 7200"))[0]
        self.assertEqual(r["capped"], True, r)
        row = self.throttle_row(host)
        self.assertTrue(59 < row["seconds_left"] <= 60, row)
        self.assertEqual((row["reason"], row["throttles_capped"]), ("503 Retry-After: 7200", 1))
        # a task held by it, and one by an open breaker: a reset lets both run now
        q = self.own_queue("thrsql")
        ids = [r["id"] for r in self.db.query(
            "INSERT INTO taskq.tasks (kind, queue, state, attempts, worker_id, lease_until, "
            "started_at) SELECT 'http', %s, 'running', 1, 'thr-worker', "
            "now() + interval '1 minute', now() FROM generate_series(1, 2) "
            "RETURNING id::text AS id", (q,))]
        v = self.db.scalar("SELECT verdict FROM taskq.breaker_admit(%s, %s::uuid, 'thr-worker', "
                           "1, 10)", (host, ids[0]))
        self.assertEqual(v, "deferred")
        v = self.db.query(call[:-1] + ", %s::uuid, 'thr-worker', 1)",
                          (host, 1, 60, "429 Retry-After: 1", ids[1]))[0]["verdict"]
        self.assertEqual(v, "deferred")
        rows = self.db.query("SELECT state::text AS state, attempts, breaker_host, message, "
                             "run_at > now() + interval '50 seconds' AS later "
                             "FROM taskq.tasks WHERE id = ANY(%s::uuid[])", (ids,))
        for t in rows:
            self.assertEqual((t["state"], t["attempts"], t["breaker_host"], t["later"]),
                             ("queued", 0, host, True), t)
            self.assertTrue(t["message"].startswith("upstream %s asked to wait until " % host))
        self.assertEqual(self.throttle_row(host)["waiting"], 2)
        self.assertTrue(self.db.scalar("SELECT taskq.breaker_reset(%s)", (host,)))
        self.assertFalse(self.db.scalar("SELECT taskq.breaker_reset(%s)", (host,)))
        self.assertIsNone(self.throttle_row(host))
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM taskq.tasks WHERE id = ANY(%s::uuid[]) AND state = 'queued' "
            "AND run_at <= now() AND message IS NULL", (ids,)), 2)
