"""GET /metrics: Prometheus text format 0.0.4, parsed whole by prometheus_client's parser (Debian's
python3-prometheus-client) and by a strict line checker of our own, and by `promtool check
metrics` when promtool is on the PATH (or TASKQ_PROMTOOL names it). Counters move when tasks
run (a worker's counters arrive through its heartbeat), histograms are consistent, labels carry
route patterns and never raw paths or ids, workers that leave disappear, and the route is
loopback-only through nginx, admin-only elsewhere."""

import math
import os
import re
import shutil
import subprocess
import threading
import time
import unittest
import uuid

import fcgi_client
from taskq_harness import (ENV, TOP, Client, TaskqTestCase, api, new_token, wait_until)

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # apt-get install python3-prometheus-client
    text_string_to_metric_families = None

CONTENT_TYPE = "text/plain; version=0.0.4"
UUID_IN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$")

# every family /metrics must carry (worker families with at least one worker alive)
FAMILIES = {
    "taskq_http_requests_total": "counter",
    "taskq_http_request_duration_seconds": "histogram",
    "taskq_http_requests_in_flight": "gauge",
    "taskq_http_long_polls_parked": "gauge",
    "taskq_db_errors_total": "counter",
    "taskq_db_reconnects_total": "counter",
    "taskq_fcgi_start_time_seconds": "gauge",
    "taskq_build_info": "gauge",
    "taskq_database_up": "gauge",
    "taskq_tasks": "gauge",
    "taskq_queue_oldest_queued_seconds": "gauge",
    "taskq_queue_delayed_tasks": "gauge",
    "taskq_queue_blocked_tasks": "gauge",
    "taskq_queue_workers": "gauge",
    "taskq_tasks_finished_last_minute": "gauge",
    "taskq_tasks_finished_total": "counter",
    "taskq_workers": "gauge",
    "taskq_worker_heartbeat_age_seconds": "gauge",
    "taskq_worker_executors": "gauge",
    "taskq_worker_busy_executors": "gauge",
    "taskq_worker_claimed_total": "counter",
    "taskq_worker_attempts_total": "counter",
    "taskq_worker_rescued_total": "counter",
    "taskq_worker_claim_batch_size": "histogram",
    "taskq_worker_run_seconds": "summary",
    "taskq_worker_db_errors_total": "counter",
    "taskq_worker_db_reconnects_total": "counter",
    "taskq_breaker_state": "gauge",
    "taskq_breaker_consecutive_failures": "gauge",
    "taskq_breaker_trips_total": "counter",
    "taskq_breaker_probes_total": "counter",
    "taskq_breaker_deferred_total": "counter",
}
SUFFIXES = {"counter": ("",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count"),
            "summary": ("_sum", "_count", "")}


def route_patterns():
    """The patterns of fcgi/routes.h, the only route label values allowed (and "unmatched")."""
    with open(os.path.join(TOP, "fcgi", "routes.h")) as f:
        return set(re.findall(r'R\("[A-Z]+", "([^"]+)"', f.read())) | {"unmatched"}


class Scrape:
    """One /metrics answer, parsed by prometheus_client; samples as (name, labels, value)."""

    def __init__(self, client=None):
        c = client or Client(token=None)
        self.response = r = c.request("GET", "/metrics")
        if r.status != 200:
            raise AssertionError("GET /metrics: %s" % r)
        self.text = r.body.decode("utf-8")
        self.families = list(text_string_to_metric_families(self.text))
        self.samples = [(s.name, dict(s.labels), s.value)
                        for f in self.families for s in f.samples]

    def get(self, name, **labels):
        """The sum of the samples of name whose labels include these (0 when none)."""
        return sum(v for n, l, v in self.samples
                   if n == name and all(l.get(k) == v2 for k, v2 in labels.items()))

    def has(self, name, **labels):
        return any(n == name and all(l.get(k) == v2 for k, v2 in labels.items())
                   for n, l, _ in self.samples)

    def label_values(self, label):
        return {l[label] for _, l, _ in self.samples if label in l}


def strict_check(text):
    """The format's rules, line by line; returns a list of problems (empty when none)."""
    problems, declared, closed = [], {}, set()
    helps, current = set(), None
    if not text.endswith("\n"):
        problems.append("the text does not end with a newline")
    for i, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            if name in helps:
                problems.append("line %d: second HELP for %s" % (i, name))
            helps.add(name)
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4 or parts[3] not in ("counter", "gauge", "histogram", "summary",
                                                   "untyped"):
                problems.append("line %d: bad TYPE line %r" % (i, line))
                continue
            name = parts[2]
            if name in declared:
                problems.append("line %d: second TYPE for %s" % (i, name))
            if name not in helps:
                problems.append("line %d: TYPE of %s without HELP before it" % (i, name))
            if current:
                closed.add(current)
            declared[name], current = parts[3], name
            if not name.startswith("taskq_"):
                problems.append("line %d: %s lacks the taskq_ prefix" % (i, name))
            if parts[3] == "counter" and not name.endswith("_total"):
                problems.append("line %d: counter %s does not end in _total" % (i, name))
            continue
        if line.startswith("#") or not line:
            problems.append("line %d: unexpected %r" % (i, line))
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            problems.append("line %d: not a sample: %r" % (i, line))
            continue
        name, labels, value = m.groups()
        family = next((f for f in ([current] if current else [])
                       if any(name == f + s for s in SUFFIXES[declared[f]])), None)
        if family is None:
            problems.append("line %d: sample %s outside its family (current %s)" % (
                i, name, current))
        if labels:
            inner = labels[1:-1]
            pos = 0
            for lm in LABEL_RE.finditer(inner):
                if lm.start() != pos:
                    break
                pos = lm.end() + (1 if lm.end() < len(inner) and inner[lm.end()] == "," else 0)
            if pos != len(inner):
                problems.append("line %d: bad label set %r" % (i, labels))
        try:
            float(value.replace("Inf", "inf"))
        except ValueError:
            problems.append("line %d: bad value %r" % (i, value))
    return problems


def fcgi_get(path, headers=None, timeout=5.0):
    """GET path straight from taskq-fcgi's socket, as a FastCGI client (without nginx, so without
    the parameter nginx's /metrics location adds). Returns (status, headers dict, body)."""
    return fcgi_client.get(os.path.join(ENV.var, "run", "fcgi.sock"), path, headers, timeout)


class MetricsTests(TaskqTestCase):

    def setUp(self):
        super().setUp()
        if text_string_to_metric_families is None:
            self.skipTest("prometheus_client missing: apt-get install python3-prometheus-client")

    # -- the format ----------------------------------------------------------------------

    def test_format_parses_whole(self):
        w = self.start_worker(self.own_queue("mfmt"), lease=3)
        wid = w.worker_id()
        wait_until(lambda: Scrape().has("taskq_worker_claimed_total", worker=wid), timeout=10,
                   what="the new worker in /metrics")
        sc = Scrape()
        self.assertTrue(sc.response.header("Content-Type", "").startswith(CONTENT_TYPE),
                        sc.response.header("Content-Type"))
        self.assertEqual(strict_check(sc.text), [])
        got = {f.name: f for f in sc.families}
        for name, mtype in FAMILIES.items():
            fam = name[:-len("_total")] if mtype == "counter" else name  # the parser's name
            self.assertIn(fam, got, "family %s missing" % name)
            self.assertEqual(got[fam].type, mtype, name)
            self.assertTrue(got[fam].documentation.strip(), "%s has no HELP" % name)
        for f in sc.families:
            self.assertTrue(f.name.startswith("taskq_"), f.name)
            for s in f.samples:
                self.assertFalse(math.isnan(s.value), s)
                if f.type == "counter":
                    self.assertGreaterEqual(s.value, 0, s)
        self.assertEqual(sc.get("taskq_database_up"), 1)
        self.assertGreaterEqual(sc.get("taskq_workers"), 1)
        promtool = os.environ.get("TASKQ_PROMTOOL") or shutil.which("promtool")
        extra = "promtool: not installed"
        if promtool:
            p = subprocess.run([promtool, "check", "metrics"], input=sc.text, text=True,
                               capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 0, "promtool: %s %s" % (p.stdout, p.stderr))
            self.assertEqual((p.stdout + p.stderr).strip(), "", "promtool lint findings")
            extra = "promtool check metrics: clean"
        self.report("%d families, %d samples, %d bytes; %s" % (
            len(sc.families), len(sc.samples), len(sc.text), extra))

    # -- counters move -------------------------------------------------------------------

    def test_counters_move_when_tasks_run(self):
        n = 25
        q = self.own_queue("mrun")
        w = self.start_worker(q, lease=3)  # heartbeat (and counters) every second
        wid = w.worker_id()
        before = wait_until(lambda: (lambda s: s if s.has("taskq_worker_claimed_total", worker=wid)
                                     else None)(Scrape()), timeout=10, what="worker in /metrics")
        submits0 = before.get("taskq_http_requests_total", route="/api/tasks", method="POST",
                              status="202")
        hist0 = before.get("taskq_http_request_duration_seconds_count", route="/api/tasks",
                           method="POST")
        self.assertEqual(before.get("taskq_worker_claimed_total", worker=wid), 0)
        self.assertEqual(before.get("taskq_tasks_finished_total", queue=q), 0)

        ids = self.submit_many(n, "noop", queue=q)
        wait_until(lambda: self.db.count_state(ids, "succeeded") == n, timeout=15,
                   what="%d noops succeeded" % n)
        t0 = time.monotonic()

        def moved():
            s = Scrape()
            ok = (s.get("taskq_worker_claimed_total", worker=wid) >= n
                  and s.get("taskq_worker_attempts_total", worker=wid, outcome="succeeded") >= n)
            return s if ok else None
        after = wait_until(moved, timeout=8, interval=0.2,
                           what="the worker's counters >= %d" % n)
        took = time.monotonic() - t0
        self.assertEqual(after.get("taskq_http_requests_total", route="/api/tasks", method="POST",
                                   status="202") - submits0, n)
        self.assertEqual(after.get("taskq_http_request_duration_seconds_count",
                                   route="/api/tasks", method="POST") - hist0, n)
        # the queue's figures from PostgreSQL: true counters and the gauges
        self.assertEqual(after.get("taskq_tasks_finished_total", queue=q, state="succeeded"), n)
        self.assertEqual(after.get("taskq_tasks", queue=q, state="succeeded"), n)
        self.assertEqual(after.get("taskq_tasks", queue=q, state="queued"), 0)
        self.assertEqual(after.get("taskq_tasks_finished_last_minute", queue=q,
                                   state="succeeded"), n)
        self.assertEqual(after.get("taskq_queue_oldest_queued_seconds", queue=q), 0)
        # the worker's own: claims in batches, run time per kind
        self.assertEqual(after.get("taskq_worker_attempts_total", worker=wid, outcome="failed"), 0)
        self.assertEqual(after.get("taskq_worker_claim_batch_size_sum", worker=wid),
                         after.get("taskq_worker_claimed_total", worker=wid))
        self.assertGreaterEqual(after.get("taskq_worker_claim_batch_size_count", worker=wid), 1)
        self.assertGreaterEqual(after.get("taskq_worker_run_seconds_count", worker=wid,
                                          kind="noop"), n)
        self.assertEqual(after.get("taskq_worker_executors", worker=wid), w.concurrency)
        self.report("%d noops: worker counters seen %.1fs after the last finished" % (n, took))

    def test_failures_and_cancels_count_per_queue(self):
        q = self.own_queue("mfail")
        w = self.start_worker(q, lease=3)
        wid = w.worker_id()
        failing = self.submit_many(2, "sleep", {"steps": 1, "step_ms": 1, "fail_at": 1},
                                   queue=q, max_attempts=1)
        delayed = self.submit_many(1, "noop", queue=q, delay_s=3600)
        self.assertEqual(api.delete(delayed[0]).status, 200)
        wait_until(lambda: self.db.count_state(failing, "failed") == 2, timeout=10,
                   what="2 failed")
        s = wait_until(lambda: (lambda s: s if s.get("taskq_worker_attempts_total", worker=wid,
                                                      outcome="failed") >= 2 else None)(Scrape()),
                       timeout=8, interval=0.2, what="worker failed counter")
        self.assertEqual(s.get("taskq_tasks_finished_total", queue=q, state="failed"), 2)
        self.assertEqual(s.get("taskq_tasks_finished_total", queue=q, state="cancelled"), 1)
        self.assertEqual(s.get("taskq_tasks_finished_total", queue=q, state="succeeded"), 0)
        self.assertGreaterEqual(s.get("taskq_worker_run_seconds_count", worker=wid,
                                      kind="sleep"), 2)
        # a retry that finishes again counts again: the counter never goes down
        self.assertEqual(api.retry(failing[0]).status, 200)
        wait_until(lambda: self.db.count_state(failing, "failed") == 2
                   and self.db.task(failing[0])["attempts"] == 1
                   and self.db.scalar("SELECT count(*) FROM taskq.task_events WHERE task_id = %s "
                                      "AND event = 'failed'", (failing[0],)) == 2,
                   timeout=10, what="the retried task failed again")
        time.sleep(1.1)  # the database figures are cached for a second
        self.assertEqual(Scrape().get("taskq_tasks_finished_total", queue=q, state="failed"), 3)

    def test_oldest_queued_age(self):
        q = self.own_queue("mold")  # no worker serves it
        self.submit_many(2, "noop", queue=q)
        self.submit_many(1, "noop", queue=q, delay_s=3600)  # not due: does not count
        time.sleep(1.5)
        s = Scrape()
        age = s.get("taskq_queue_oldest_queued_seconds", queue=q)
        self.assertGreaterEqual(age, 1.0)
        self.assertLess(age, 30)
        self.assertEqual(s.get("taskq_tasks", queue=q, state="queued"), 3)

    def test_series_of_a_queue_that_is_gone_are_pruned(self):
        """A queue with no task left whose finished totals stood still for `idle` loses its
        counter rows, so its series leave /metrics; one with tasks left, or that finished
        something recently, keeps them. (The workers' maintenance runs the rule every minute
        with a day of idleness; here it runs by hand with none.)"""
        gone, kept = self.own_queue("mgone"), self.own_queue("mkept")
        for q in (gone, kept):
            for t in self.submit_many(2, "noop", queue=q, delay_s=3600):
                self.assertEqual(api.delete(t).status, 200)  # cancelled: counted
        # a worker's maintenance notes the totals at its start
        self.start_worker(self.own_queue("mnote"), name="series", concurrency=1).worker_id()
        wait_until(lambda: self.db.scalar("SELECT finished FROM taskq.queue_series"
                                          " WHERE queue = %s", (gone,)) == 2, timeout=10,
                   what="the maintenance noting the totals of %s" % gone)
        time.sleep(1.1)
        s = Scrape()
        self.assertEqual(s.get("taskq_tasks_finished_total", queue=gone, state="cancelled"), 2)

        def prune(idle):
            return self.db.scalar("SELECT taskq.prune_queue_series(%s::interval)", (idle,))

        # the retention prune took the tasks of `gone`; its recent activity still keeps it
        self.db.query("DELETE FROM taskq.tasks WHERE queue = %s RETURNING id", (gone,))
        prune("1 hour")
        self.assertGreater(self.db.scalar("SELECT count(*) FROM taskq.counters WHERE queue = %s",
                                          (gone,)), 0)
        # idle long enough: gone has no task left and goes; kept has its tasks and stays (a
        # worker's maintenance may hold the lock a moment: then the call does nothing)
        wait_until(lambda: prune("0 seconds") >= 1, timeout=10, what="gone pruned")
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.counters WHERE queue = %s",
                                        (gone,)), 0)
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.queue_series"
                                        " WHERE queue = %s", (gone,)), 0)
        self.assertGreater(self.db.scalar("SELECT count(*) FROM taskq.counters WHERE queue = %s",
                                          (kept,)), 0)
        time.sleep(1.1)
        s = Scrape()
        self.assertNotIn(gone, s.label_values("queue"))
        self.assertEqual(s.get("taskq_tasks_finished_total", queue=kept, state="cancelled"), 2)
        self.assertEqual(s.get("taskq_tasks", queue=kept, state="cancelled"), 2)

    # -- histograms and labels -------------------------------------------------------------

    def test_histograms_are_consistent(self):
        for _ in range(5):
            api.healthz()
            api.request("GET", "/api/tasks?limit=1")
        sc = Scrape()
        checked = 0
        for f in sc.families:
            if f.type != "histogram":
                continue
            series = {}
            for s in f.samples:
                key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
                series.setdefault(key, {"buckets": [], "sum": None, "count": None})
                if s.name.endswith("_bucket"):
                    series[key]["buckets"].append((float(s.labels["le"]), s.value))
                elif s.name.endswith("_sum"):
                    series[key]["sum"] = s.value
                elif s.name.endswith("_count"):
                    series[key]["count"] = s.value
            for key, h in series.items():
                b = h["buckets"]
                self.assertTrue(b, "%s %s: no buckets" % (f.name, key))
                les = [le for le, _ in b]
                self.assertEqual(les, sorted(les), "%s %s: le out of order" % (f.name, key))
                self.assertEqual(les[-1], math.inf, "%s %s: no +Inf bucket" % (f.name, key))
                counts = [c for _, c in b]
                self.assertEqual(counts, sorted(counts), "%s %s: buckets not cumulative: %s" % (
                    f.name, key, counts))
                self.assertEqual(counts[-1], h["count"], "%s %s: +Inf != _count" % (f.name, key))
                self.assertIsNotNone(h["sum"], "%s %s: no _sum" % (f.name, key))
                self.assertGreaterEqual(h["sum"], 0)
                checked += 1
        self.assertGreaterEqual(checked, 2)
        les = {float(l["le"]) for n, l, _ in sc.samples
               if n == "taskq_http_request_duration_seconds_bucket"}
        self.assertEqual(min(les), 0.0005)
        self.assertEqual(max(les - {math.inf}), 10)
        self.report("%d histogram series" % checked)

    def test_labels_carry_patterns_never_paths_or_ids(self):
        marker = "zzmarker%s" % uuid.uuid4().hex[:8]
        tid = str(uuid.uuid4())
        api.get(tid)                                                  # 404, a task route
        api.request("GET", "/api/tasks/%s/history" % tid)             # a capture inside
        api.request("DELETE", "/api/tasks/%s" % tid)
        api.request("GET", "/api/%s/%s" % (marker, tid))              # no route at all
        api.request("PATCH", "/api/tasks/%s" % tid)                   # 405
        api.request("BREW", "/api/%s" % marker)                       # an unknown method
        sc = Scrape()
        routes = route_patterns()
        self.assertLessEqual(sc.label_values("route"), routes)
        self.assertIn("/api/tasks/*", sc.label_values("route"))
        self.assertIn("unmatched", sc.label_values("route"))
        self.assertLessEqual(sc.label_values("method"),
                             {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
                              "other"})
        for st in sc.label_values("status"):
            self.assertTrue(st == "other" or re.match(r"^[1-5]\d\d$", st), st)
        self.assertNotIn(marker, sc.text)
        self.assertNotIn(tid, sc.text)
        for _, labels, _ in sc.samples:
            for k, v in labels.items():
                if k != "worker":
                    self.assertIsNone(UUID_IN.search(v), "%s=%r" % (k, v))
        self.assertGreaterEqual(sc.get("taskq_http_requests_total", route="unmatched",
                                       method="other", status="404"), 1)
        self.assertGreaterEqual(sc.get("taskq_http_requests_total", route="/api/tasks/*",
                                       method="GET", status="404"), 1)

    def test_long_poll_parked_and_counted(self):
        t = self.submit_ok("noop", queue=self.own_queue("mlp"), delay_s=3600)
        before = Scrape()
        got = {}

        def poll():
            got["r"] = api.request("GET", "/api/tasks/%s?wait=2" % t["id"],
                                   headers={"If-None-Match": '"%d"' % t["version"]}, timeout=10)
        th = threading.Thread(target=poll)
        th.start()
        try:
            wait_until(lambda: Scrape().get("taskq_http_long_polls_parked") >= 1, timeout=2,
                       interval=0.1, what="a parked long-poll")
        finally:
            th.join()
        self.assertEqual(got["r"].status, 304, str(got["r"]))
        after = Scrape()
        self.assertEqual(after.get("taskq_http_requests_total", route="/api/tasks/*",
                                   method="GET", status="304")
                         - before.get("taskq_http_requests_total", route="/api/tasks/*",
                                      method="GET", status="304"), 1)
        # its 2 s wait is the client's choice, not latency: not in the histogram
        self.assertEqual(after.get("taskq_http_request_duration_seconds_count",
                                   route="/api/tasks/*", method="GET"),
                         before.get("taskq_http_request_duration_seconds_count",
                                    route="/api/tasks/*", method="GET"))

    def test_db_reconnects_counted(self):
        before = Scrape()
        killed = self.db.scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'taskq-fcgi' AND pid <> pg_backend_pid()")
        self.assertGreaterEqual(killed, 1)

        def reconnected():
            for _ in range(8):
                api.request("GET", "/api/tasks?limit=1")
            s = Scrape()
            return s if s.get("taskq_db_reconnects_total") > before.get(
                "taskq_db_reconnects_total") else None
        after = wait_until(reconnected, timeout=10, interval=0.1, what="a counted reconnect")
        self.assertGreater(after.get("taskq_db_errors_total", type="connection_lost"),
                           before.get("taskq_db_errors_total", type="connection_lost"))
        self.assertEqual(after.get("taskq_database_up"), 1)

    # -- workers come and go -------------------------------------------------------------

    def test_workers_that_leave_disappear(self):
        q = self.own_queue("mgone")
        a = self.start_worker(q, name="metrics_a", lease=3)
        b = self.start_worker(q, name="metrics_b", lease=3)
        ida, idb = a.worker_id(), b.worker_id()
        wait_until(lambda: (lambda s: s.has("taskq_worker_claimed_total", worker=ida)
                            and s.has("taskq_worker_claimed_total", worker=idb))(Scrape()),
                   timeout=10, what="both workers in /metrics")
        # a clean exit removes the worker's row at once
        rc, _ = a.terminate()
        self.assertEqual(rc, 0)
        t0 = time.monotonic()
        wait_until(lambda: not Scrape().label_values("worker") & {ida}, timeout=5,
                   interval=0.2, what="the stopped worker gone")
        gone_after = time.monotonic() - t0
        # a killed one leaves its row behind: shown until it is a minute old, then left out
        b.kill()
        time.sleep(1.2)
        s = Scrape()
        self.assertTrue(s.has("taskq_worker_heartbeat_age_seconds", worker=idb))
        self.db.query("UPDATE taskq.workers SET last_seen = now() - interval '61 seconds' "
                      "WHERE id = %s", (idb,))
        try:
            wait_until(lambda: idb not in Scrape().label_values("worker"), timeout=3,
                       interval=0.2, what="the killed worker left out after a minute")
        finally:
            self.db.query("DELETE FROM taskq.workers WHERE id = %s", (idb,))
        self.report("stopped worker gone %.1fs after its exit" % gone_after)

    # -- access ------------------------------------------------------------------------------

    def test_nginx_refuses_other_addresses(self):
        import http.client
        u = Client()
        conn = http.client.HTTPConnection(u.host, u.port, timeout=5,
                                          source_address=("127.0.0.2", 0))
        try:
            conn.request("GET", "/metrics")
            r = conn.getresponse()
            body = r.read()
        finally:
            conn.close()
        self.assertEqual(r.status, 403, body)
        self.assertTrue(r.getheader("Content-Type", "").startswith("application/json"))
        self.assertIn(b'"code":"forbidden"', body)
        self.assertNotIn(b"taskq_", body)
        # from loopback, no token needed
        self.assertEqual(Client(token=None).request("GET", "/metrics").status, 200)

    def test_without_nginx_an_admin_token_is_needed(self):
        sock = os.path.join(ENV.var, "run", "fcgi.sock")
        if not os.access(sock, os.R_OK | os.W_OK):
            self.skipTest("cannot open %s" % sock)
        auth_on = Client(token=None).request("GET", "/api/me").status == 401
        status, hdrs, body = fcgi_get("/metrics")
        if not auth_on:
            self.assertEqual(status, 200)
            self.skipTest("auth is off: everyone is the admin")
        self.assertEqual(status, 401, body)
        owner = new_token("metrics-owner-%s" % uuid.uuid4().hex[:6])
        status, _, body = fcgi_get("/metrics", {"Authorization": "Bearer " + owner})
        self.assertEqual(status, 403, body)
        self.assertIn(b'"code":"forbidden"', body)
        admin = ENV.token or new_token("metrics-admin", "--admin")
        status, hdrs, body = fcgi_get("/metrics", {"Authorization": "Bearer " + admin})
        self.assertEqual(status, 200, body[:300])
        self.assertTrue(hdrs.get("Content-Type", "").startswith(CONTENT_TYPE))
        self.assertIn(b"# TYPE taskq_http_requests_total counter", body)


if __name__ == "__main__":
    unittest.main()
