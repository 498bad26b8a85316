"""Circuit breakers of the http kind's upstream hosts (sql/functions/breakers.sql, worker/breakers.c),
against an upstream of the test's own on loopback that answers 503 and then recovers. Each test
runs extra workers on a queue of its own and gives its upstream short settings with a row of
taskq.breaker_settings (the test stack's worker reaches 127.0.0.1: TASKQ_HTTP_ALLOW in
tools/dev/test.sh)."""

import collections
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from taskq_harness import (Db, TaskqTestCase, host_series, max_overlap, unique,
                           wait_final, wait_until)

MESSAGE_RE = re.compile(
    r"^circuit (open|half-open) for 127\.0\.0\.1:\d+: \d+ consecutive failures \(HTTP 503\), "
    r"(next probe|a probe is running, next try) at \d\d:\d\d:\d\dZ$")


class Upstream:
    """A loopback HTTP server that answers 503 while down and 200 once up, after `delay`
    seconds; it keeps every request: (task index, arrival, end, status), times in epoch s."""

    def __init__(self, delay=0.0):
        self.lock = threading.Lock()
        self.down, self.delay, self.hits = True, delay, []
        up = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                start = time.time()
                i = int(parse_qs(urlparse(self.path).query).get("i", ["-1"])[0])
                if up.delay:
                    time.sleep(up.delay)
                status = 503 if up.down else 200
                body = b"upstream down" if status == 503 else b'{"ok":true}'
                with up.lock:
                    up.hits.append((i, start, time.time(), status))
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if status == 200
                                 else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.host = "127.0.0.1:%d" % self.server.server_address[1]

    def url(self, i):
        return "http://%s/call?i=%d" % (self.host, i)

    def requests(self):
        with self.lock:
            return list(self.hits)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class BreakerTests(TaskqTestCase):

    def upstream(self, failures, cooldown_s, max_cooldown_s, delay=0.0):
        """An upstream that is down, and its host's breaker settings; both go at cleanup."""
        up = Upstream(delay)
        self.addCleanup(up.close)
        self.db.query("INSERT INTO taskq.breaker_settings VALUES (%s, %s, %s, %s)",
                      (up.host, failures, cooldown_s, max_cooldown_s))
        self.addCleanup(self.db.query, "DELETE FROM taskq.breaker_settings WHERE host = %s",
                        (up.host,))
        self.addCleanup(self.db.query, "DELETE FROM taskq.breakers WHERE host = %s", (up.host,))
        return up

    def breaker(self, host):
        rows = self.db.query("SELECT *, extract(epoch FROM opened_at)::float8 AS opened_s "
                             "FROM taskq.breakers WHERE host = %s", (host,))
        return rows[0] if rows else None

    def state_of(self, host):
        b = self.breaker(host)
        return b["state"] if b else "closed"

    def submit_calls(self, up, q, n, max_attempts):
        return self.submit_many(n, "http", lambda i: {"url": up.url(i), "timeout_s": 5},
                                queue=q, max_attempts=max_attempts)

    def metrics(self, host):
        """{(family, state or ""): value} of the host's breaker series in /metrics."""
        return host_series("taskq_breaker_", host)

    def test_opens_defers_without_spending_attempts_probes_and_closes(self):
        n_fail, tasks, conc = 3, 20, 2
        up = self.upstream(n_fail, 1, 4)
        q = self.own_queue("brk")
        w = self.start_worker(q, name="breakers", concurrency=conc)
        w.worker_id()
        ids = self.submit_calls(up, q, tasks, max_attempts=5)
        index = {tid: i for i, tid in enumerate(ids)}

        wait_until(lambda: self.state_of(up.host) != "closed", timeout=20,
                   what="the breaker opened")
        time.sleep(4.5)  # down for a while: probes after 1 s and 2 s more (cool-down doubles)
        b = wait_until(lambda: (lambda b: b if b["failures"] == len(up.requests()) else None)(
            self.breaker(up.host)), timeout=5, what="every failure counted")
        hits = up.requests()
        self.assertEqual(b["trips"], 1, b)
        self.assertIn(b["state"], ("open", "half_open"), b)
        self.assertGreaterEqual(b["probes"], 1, b)
        # N failures trip it, an attempt already running when it tripped adds one per other
        # executor, then only probes reach the upstream
        self.assertLessEqual(len(hits), n_fail + conc - 1 + b["probes"], (hits, b))
        self.assertEqual(b["last_error"], "HTTP 503", b)

        rows = self.db.query("SELECT id::text AS id, state::text AS state, attempts, message, "
                             "breaker_host FROM taskq.tasks WHERE id = ANY(%s::uuid[])", (ids,))
        per_task = {}
        for i, _, _, _ in hits:
            per_task[i] = per_task.get(i, 0) + 1
        waiting = [r for r in rows if r["state"] == "queued"]
        spent_down = sum(r["attempts"] for r in rows)
        self.assertGreaterEqual(len(waiting), tasks - len(hits) - conc, rows)
        for r in waiting:
            # an attempt is spent only by a request that reached the upstream
            self.assertEqual(r["attempts"], per_task.get(index[r["id"]], 0), r)
            if r["message"] and r["message"].startswith("circuit"):
                self.assertRegex(r["message"], MESSAGE_RE)
                self.assertEqual(r["breaker_host"], up.host, r)
        untouched = [r for r in waiting if index[r["id"]] not in per_task]
        self.assertTrue(untouched, "every task reached the upstream")
        self.assertTrue(all(r["attempts"] == 0 and MESSAGE_RE.match(r["message"] or "")
                            for r in untouched), untouched)
        counted, deferrals = self.db.query(
            "SELECT (SELECT deferred FROM taskq.breakers WHERE host = %s) AS counted, "
            "(SELECT count(*) FROM taskq.task_events WHERE task_id = ANY(%s::uuid[]) "
            "AND event = 'deferred') AS events", (up.host, ids))[0].values()
        self.assertGreaterEqual(deferrals, len(untouched))
        self.assertEqual(counted, deferrals, "deferrals counted = deferred events")

        m = self.metrics(up.host)
        self.assertEqual(m.get(("taskq_breaker_state", "closed")), 0, m)
        self.assertEqual(m.get(("taskq_breaker_state", "open"), 0) +
                         m.get(("taskq_breaker_state", "half_open"), 0), 1, m)
        self.assertEqual(m.get(("taskq_breaker_trips_total", "")), 1, m)
        self.assertGreaterEqual(m.get(("taskq_breaker_deferred_total", ""), 0), 1, m)
        self.assertGreaterEqual(m.get(("taskq_breaker_probes_total", ""), 0), 1, m)

        # recovery: the next probe succeeds, the breaker closes, the waiting tasks run at once
        up.down = False
        t_up = time.monotonic()
        wait_until(lambda: self.state_of(up.host) == "closed", timeout=15, interval=0.02,
                   what="the breaker closed")
        to_close = time.monotonic() - t_up
        self.assertLess(to_close, 4 + 0.4 + 2.0, "the next probe is due within the cool-down")
        tally = wait_final(ids, timeout=30)
        to_done = time.monotonic() - t_up
        self.assertEqual(tally.states.get("succeeded"), tasks, str(tally))
        self.assertEqual(tally.run_twice, 0, str(tally))
        spent = self.db.scalar("SELECT sum(attempts) FROM taskq.tasks WHERE id = ANY(%s::uuid[])",
                               (ids,))
        self.assertEqual(spent, len(up.requests()), "attempts spent = requests made")
        self.assertEqual(self.state_of(up.host), "closed")
        wait_until(lambda: self.metrics(up.host).get(("taskq_breaker_state", "closed")) == 1,
                   timeout=5, what="/metrics showing the breaker closed")

        with open(w.log_path, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        for event in ("breaker_opened", "breaker_half_open", "breaker_reopened",
                      "breaker_closed"):
            self.assertIn("event=%s host=\"%s\"" % (event, up.host), log)
        self.assertIn("event=breaker_opened host=\"%s\" failures=%d " % (up.host, n_fail), log)
        figures = ("%d tasks (max_attempts 5), N=%d, cool-down 1-4 s: while down the upstream "
                   "got %d requests (%d probes) and %d attempts were spent (%d without a "
                   "breaker), %d deferrals; recovery to closed %.2f s, all succeeded %.2f s "
                   "after recovery, %d attempts in all" % (
                       tasks, n_fail, len(hits), b["probes"], spent_down, tasks * 5,
                       deferrals, to_close, to_done, spent))
        print("# breakers: " + figures, flush=True)
        self.report(figures)

    def test_two_workers_trip_once_and_send_one_probe_at_a_time(self):
        n_fail, tasks, conc = 5, 40, 4
        up = self.upstream(n_fail, 0.5, 1, delay=0.3)  # slow answers: reports race
        q = self.own_queue("brkrace")
        for name in ("brk-a", "brk-b"):
            self.start_worker(q, name=name, concurrency=conc).worker_id()
        ids = self.submit_calls(up, q, tasks, max_attempts=20)

        wait_until(lambda: self.state_of(up.host) != "closed", timeout=20,
                   what="the breaker opened")
        time.sleep(4.0)
        b = wait_until(lambda: (lambda b: b if b["failures"] == len(up.requests()) else None)(
            self.breaker(up.host)), timeout=5,
            what="every failure counted (none lost by concurrent reports)")
        hits = up.requests()
        self.assertEqual(b["trips"], 1, b)
        self.assertGreaterEqual(b["probes"], 2, b)
        # after the trip (and the time NOTIFY takes to reach both workers) only probes go
        # out, one at a time
        later = [(s, e) for _, s, e, _ in hits if s > b["opened_s"] + 0.5]
        self.assertLessEqual(len(later), b["probes"], (later, b))
        self.assertEqual(max_overlap(later), 1 if later else 0, later)
        concurrent = max_overlap([(s, e) for _, s, e, _ in hits])

        up.down = False
        tally = wait_final(ids, timeout=40)
        self.assertEqual(tally.states.get("succeeded"), tasks, str(tally))
        self.assertEqual(tally.run_twice, 0, str(tally))
        self.assertEqual(self.breaker(up.host)["trips"], 1)
        self.report("2 workers x %d executors, %d tasks: %d failures counted for %d requests, "
                    "1 trip, %d probes, %d requests after the trip, at most %d at once "
                    "before it and 1 after" % (conc, tasks, b["failures"], len(hits),
                                               b["probes"], len(later), concurrent))

    def test_reset_by_hand_and_settings_turn_it_off(self):
        up = self.upstream(2, 60, 60)
        q = self.own_queue("brkreset")
        self.start_worker(q, name="brk-reset", concurrency=1).worker_id()
        ids = self.submit_calls(up, q, 4, max_attempts=3)
        wait_until(lambda: self.state_of(up.host) == "open", timeout=20,
                   what="the breaker opened")
        wait_until(lambda: self.db.scalar(
            "SELECT count(*) FROM taskq.tasks WHERE id = ANY(%s::uuid[]) AND state = 'queued' "
            "AND message LIKE 'circuit open%%'", (ids,)) >= 2, timeout=10,
            what="tasks deferred for a minute")
        up.down = False
        # an admin closes it: the waiting tasks run now, not in a minute
        self.assertTrue(self.db.scalar("SELECT taskq.breaker_reset(%s)", (up.host,)))
        self.assertFalse(self.db.scalar("SELECT taskq.breaker_reset(%s)", (up.host,)))
        tally = wait_final(ids, timeout=15)
        self.assertEqual(tally.states.get("succeeded"), 4, str(tally))

        # failures = 0 in its settings row: no breaker for this host
        self.db.query("UPDATE taskq.breaker_settings SET failures = 0 WHERE host = %s",
                      (up.host,))
        up.down = True
        ids = self.submit_calls(up, q, 3, max_attempts=1)
        tally = wait_final(ids, timeout=15)
        self.assertEqual(tally.states.get("failed"), 3, str(tally))
        self.assertEqual(self.state_of(up.host), "closed")

    def test_concurrent_reports_and_admissions_in_sql(self):
        """The SQL functions alone, many connections at once: no count lost, one trip, one
        probe among tasks asking together."""
        host = unique("race") + ".example"
        self.addCleanup(self.db.query, "DELETE FROM taskq.breakers WHERE host = %s", (host,))
        n_threads, per_thread = 16, 25

        def together(fn):
            barrier = threading.Barrier(n_threads)
            out, errors = [], []

            def run(k):
                d = Db()
                try:
                    barrier.wait()
                    out.extend(fn(d, k))
                except Exception as e:  # reported below
                    errors.append(repr(e))
                finally:
                    d.close()
            ts = [threading.Thread(target=run, args=(k,)) for k in range(n_threads)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(60)
            self.assertEqual(errors, [])
            return collections.Counter(out)

        def report_failures(d, k):
            return [d.scalar("SELECT coalesce(transition, '') FROM taskq.breaker_report("
                             "%s, %s::uuid, 1, false, 'HTTP 503', 5, 10, 60)",
                             (host, str(uuid.uuid4()))) for _ in range(per_thread)]
        transitions = together(report_failures)
        b = self.breaker(host)
        self.assertEqual(b["failures"], n_threads * per_thread, b)
        self.assertEqual((b["trips"], b["state"]), (1, "open"), b)
        self.assertEqual(transitions["opened"], 1, transitions)

        # the cool-down is over and 16 tasks held by one worker ask at once: one probes
        q = self.own_queue("brksql")
        ids = [r["id"] for r in self.db.query(
            "INSERT INTO taskq.tasks (kind, queue, state, attempts, worker_id, lease_until, "
            "started_at) SELECT 'http', %s, 'running', 1, 'race-worker', "
            "now() + interval '1 minute', now() FROM generate_series(1, %s) "
            "RETURNING id::text AS id", (q, n_threads))]
        self.db.query("UPDATE taskq.breakers SET retry_at = now() WHERE host = %s", (host,))
        verdicts = together(lambda d, k: [d.scalar(
            "SELECT verdict FROM taskq.breaker_admit(%s, %s::uuid, 'race-worker', 1, 60)",
            (host, ids[k]))])
        self.assertEqual(verdicts, {"probe": 1, "deferred": n_threads - 1}, verdicts)
        b = self.breaker(host)
        self.assertEqual((b["state"], b["probes"], b["deferred"]),
                         ("half_open", 1, n_threads - 1), b)
        rows = self.db.query("SELECT id::text AS id, state::text AS state, attempts, message, "
                             "breaker_host FROM taskq.tasks WHERE id = ANY(%s::uuid[])", (ids,))
        waiting = [r for r in rows if r["state"] == "queued"]
        self.assertEqual(len(waiting), n_threads - 1, rows)
        self.assertTrue(all(r["attempts"] == 0 and r["breaker_host"] == host and
                            r["message"].startswith("circuit half-open for %s: 400 consecutive "
                                                    "failures (HTTP 503), a probe is running"
                                                    % host) for r in waiting), waiting)

        # the probe fails: open again for twice the cool-down; a reset lets the waiting run
        self.assertEqual(self.db.scalar(
            "SELECT transition FROM taskq.breaker_report(%s, %s::uuid, 1, false, 'timed out', "
            "5, 10, 60)", (host, b["probe_task"])), "reopened")
        b = self.breaker(host)
        self.assertEqual((b["state"], b["cooldown_s"], b["trips"]), ("open", 20, 1), b)
        self.assertTrue(self.db.scalar("SELECT taskq.breaker_reset(%s)", (host,)))
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM taskq.tasks WHERE id = ANY(%s::uuid[]) AND state = 'queued' "
            "AND run_at <= now() AND message IS NULL", (ids,)), n_threads - 1)
        self.db.query("SELECT taskq.fail(%s::uuid, 'race-worker', 1, 'probe of a test', false)",
                      (b["probe_task"],))
        self.report("%d connections x %d failure reports: %d counted, 1 trip; %d admissions at "
                    "once: %s" % (n_threads, per_thread, n_threads * per_thread, n_threads,
                                  dict(verdicts)))
