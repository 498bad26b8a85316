"""Live progress: SSE and WebSocket through nginx + nchan, resume with Last-Event-ID, the live
feed (new tasks on it from every path, one notification per statement), what a task's stream
carries (the whole task once, then changes without the payload) and its end after the final
state, large messages, long-polls on taskq-fcgi, and the load of 2,000 open subscribers."""

import asyncio
import base64
import json
import os
import resource
import select
import socket
import threading
import time
from urllib.parse import urlparse

from taskq_harness import ENV as env, Client, TaskqTestCase, parse_time, percentile
from taskq_sse import SseStream


def auth_lines(token):
    """The Authorization header line for token (default: $TASKQ_TOKEN), or ""."""
    token = env.token if token is None else token
    return "Authorization: Bearer %s\r\n" % token if token else ""

FINAL = ("succeeded", "failed", "cancelled")


def addr():
    u = urlparse(env.url)
    return u.hostname, u.port


class Sse(SseStream):
    """An event stream of the test stack: (id, data) events with arrival times."""

    def __init__(self, path, last_event_id=None, timeout=15, token=None, extra=""):
        headers = auth_lines(token) + extra
        if last_event_id:
            headers += "Last-Event-ID: %s\r\n" % last_event_id
        super().__init__(addr(), path, headers, timeout=timeout)


def ws_frames(path, until, timeout=15, token=None):
    """A minimal WebSocket client (RFC 6455, text frames from the server); yields dicts."""
    s = socket.create_connection(addr(), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n"
               % (path, key, auth_lines(token))).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    head, buf = buf.split(b"\r\n\r\n", 1)
    assert b" 101 " in head.split(b"\r\n")[0], head
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            while len(buf) >= 2:
                op, ln = buf[0] & 0x0F, buf[1] & 0x7F
                off = 2
                if ln == 126:
                    if len(buf) < 4:
                        break
                    ln, off = int.from_bytes(buf[2:4], "big"), 4
                elif ln == 127:
                    if len(buf) < 10:
                        break
                    ln, off = int.from_bytes(buf[2:10], "big"), 10
                if len(buf) < off + ln:
                    break
                payload, buf = buf[off:off + ln], buf[off + ln:]
                if op == 1 and payload:
                    data = json.loads(payload)
                    yield data
                    if until(data):
                        return
            chunk = s.recv(65536)
            if not chunk:
                return
            buf += chunk
    finally:
        s.close()


class StreamTests(TaskqTestCase):

    def sleeper(self, steps=8, step_ms=150):
        return self.submit_ok("sleep", {"steps": steps, "step_ms": step_ms})["id"]

    def test_sse_in_order_to_the_final_state(self):
        tid = self.sleeper()
        sse = Sse("/api/tasks/%s/events" % tid)
        self.assertEqual(sse.status, 200)
        evs = list(sse.events(lambda d: d["state"] in FINAL))
        sse.close()
        versions = [d["version"] for _, d, _ in evs]
        self.assertEqual(versions, sorted(set(versions)), "out of order or repeated: %s" % versions)
        self.assertEqual(evs[-1][1]["state"], "succeeded")
        self.assertEqual(evs[-1][1]["progress"], 100)
        self.assertGreaterEqual(len(evs), 4, "only %d events" % len(evs))
        self.assertTrue(all(d["id"] == tid for _, d, _ in evs))

    def test_resume_with_last_event_id_loses_and_repeats_nothing(self):
        tid = self.sleeper(steps=10, step_ms=200)
        sse = Sse("/api/tasks/%s/events" % tid)
        first = []
        for ev in sse.events(lambda d: d["progress"] >= 30):
            first.append(ev)
        sse.close()
        time.sleep(0.5)  # changes happen while we are away
        sse = Sse("/api/tasks/%s/events" % tid, last_event_id=first[-1][0])
        rest = list(sse.events(lambda d: d["state"] in FINAL))
        sse.close()
        versions = [d["version"] for _, d, _ in first + rest]
        self.assertEqual(versions, sorted(set(versions)), "lost order or repeated: %s" % versions)
        self.assertEqual(rest[-1][1]["state"], "succeeded")
        # nothing published while away was lost: the resumed stream starts right after
        self.assertTrue(rest and rest[0][1]["version"] > first[-1][1]["version"])
        self.report("%d events before, %d after the reconnect" % (len(first), len(rest)))

    def test_websocket_on_the_same_url(self):
        tid = self.sleeper(steps=5, step_ms=150)
        got = list(ws_frames("/api/tasks/%s/events" % tid, lambda d: d["state"] in FINAL))
        self.assertEqual(got[-1]["state"], "succeeded")
        versions = [d["version"] for d in got]
        self.assertEqual(versions, sorted(set(versions)))

    def test_unknown_task_is_refused(self):
        sse = Sse("/api/tasks/01a20ff7-0000-7000-8000-000000000000/events")
        self.assertEqual(sse.status, 404)
        sse.close()

    def test_live_feed_carries_changed_tasks(self):
        sse = Sse("/api/stream")
        self.assertEqual(sse.status, 200)
        time.sleep(0.3)
        tid = self.sleeper(steps=3, step_ms=100)
        seen = []
        for _, d, _ in sse.events(lambda d: any(t["id"] == tid and t["state"] == "succeeded"
                                                for t in d["tasks"]), timeout=15):
            seen.extend(t["state"] for t in d["tasks"] if t["id"] == tid)
        sse.close()
        self.assertEqual(seen[-1], "succeeded", seen)

    def test_progress_to_browser_latency_sse_and_long_poll(self):
        # SSE: progress write (updated_at) → event arrival
        tid = self.sleeper(steps=120, step_ms=60)
        sse = Sse("/api/tasks/%s/events" % tid, timeout=30)
        lat = []
        for _, d, at in sse.events(lambda d: d["state"] in FINAL, timeout=40):
            if d["state"] == "running" and d["progress"] > 0:
                lat.append(at - parse_time(d["updated_at"]).timestamp())
        sse.close()
        self.assertGreaterEqual(len(lat), 100, "only %d progress events" % len(lat))
        # long-poll: the same, with If-None-Match
        tid = self.sleeper(steps=120, step_ms=60)
        lp, version = [], None
        deadline = time.time() + 40
        while time.time() < deadline:
            hdrs = {"If-None-Match": '"%d"' % version} if version else {}
            r = self.api.request("GET", "/api/tasks/%s?wait=25" % tid, headers=hdrs, timeout=30)
            at = time.time()
            if r.status == 304:
                continue
            d = r.json
            if version and d["state"] == "running" and d["progress"] > 0:
                lp.append(at - parse_time(d["updated_at"]).timestamp())
            version = d["version"]
            if d["state"] in FINAL:
                break
        self.assertGreaterEqual(len(lp), 50)
        ms = lambda xs, p: percentile(xs, p) * 1000
        self.report("SSE p50 %.1f ms p99 %.1f ms over %d; long-poll p50 %.1f ms p99 %.1f ms over %d"
                    % (ms(lat, 50), ms(lat, 99), len(lat), ms(lp, 50), ms(lp, 99), len(lp)))


class Counted:
    """A socket that counts the bytes it receives (what a subscriber downloads)."""

    def __init__(self, sock, already=0):
        self.sock, self.n = sock, already

    def recv(self, size):
        b = self.sock.recv(size)
        self.n += len(b)
        return b

    def settimeout(self, t):
        self.sock.settimeout(t)

    def close(self):
        self.sock.close()


def counted_sse(path, **kw):
    sse = Sse(path, **kw)
    sse.sock = Counted(sse.sock, len(sse.buf))
    return sse


def until_closed(sse, seconds):
    """Reads sse until the server closes it: (seconds it took or None if still open after
    `seconds`, the data events that came meanwhile)."""
    t0 = time.time()
    events = []
    while time.time() - t0 < seconds:
        try:
            events += [d for _, d, _ in sse.events(lambda d: False, timeout=0.3)]
        except socket.timeout:
            continue
        try:
            sse.sock.settimeout(0.05)
            if not sse.sock.recv(1):
                return time.time() - t0, events
        except socket.timeout:
            pass
    return None, events


class SqlRun:
    """Runs a task of a queue no worker serves from SQL, as a worker would: claim, progress,
    complete (the test decides when each change happens)."""

    def __init__(self, db, queue, worker="t-stream"):
        self.db, self.queue, self.worker = db, queue, worker

    def claim(self, tid):
        rows = self.db.query("SELECT id::text AS id, attempts FROM taskq.claim(%s, %s, 1, 60)",
                             (self.worker, self.queue))
        assert [r["id"] for r in rows] == [tid], rows
        self.att = rows[0]["attempts"]

    def progress(self, tid, pct):
        self.db.query("SELECT taskq.progress(%s, %s, %s, %s, %s, 60)",
                      (tid, self.worker, self.att, pct, "step %d" % pct))

    def complete(self, tid, result):
        assert self.db.scalar("SELECT taskq.complete(%s, %s, %s, %s::jsonb)",
                              (tid, self.worker, self.att, json.dumps(result)))


def nginx_errors_since(offset):
    """nginx's error log past offset bytes."""
    path = os.path.join(env.var, "log", "nginx-error.log")
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


def nginx_error_size():
    path = os.path.join(env.var, "log", "nginx-error.log")
    return os.path.getsize(path) if os.path.exists(path) else 0


class NewTaskFeedTests(TaskqTestCase):
    """A new task is on the live feed before anything changes it, however it was submitted,
    and a statement that inserts many tasks announces them with one notification."""

    def test_submits_over_http_and_sql_reach_the_feed_before_a_claim(self):
        q = self.own_queue("feednew")  # no worker serves it: nothing claims these
        sse = Sse("/api/stream")
        self.assertEqual(sse.status, 200)
        time.sleep(0.3)
        want = {self.submit_ok("noop", {"via": "http"}, queue=q)["id"]: "http",
                self.db.scalar("SELECT taskq.submit('noop', '{\"via\": \"sql\"}', %s)::text",
                               (q,)): "sql"}
        want.update({r["id"]: "sql-many" for r in self.db.query(
            "SELECT id::text AS id FROM taskq.submit_many(%s::jsonb)",
            (json.dumps([{"kind": "noop", "queue": q}] * 3),))})
        seen = {}
        try:
            for _, d, _ in sse.events(lambda d: want.keys() <= seen.keys(), timeout=15):
                seen.update((t["id"], t["state"]) for t in d["tasks"] if t["id"] in want)
        finally:
            sse.close()
        self.assertEqual(set(seen), set(want), "not on the feed: %s" % [
            v for k, v in want.items() if k not in seen])
        self.assertEqual(set(seen.values()), {"queued"}, seen)

    def test_a_statement_inserting_many_tasks_sends_one_notification(self):
        """50 tasks in one statement from SQL, 50 in one HTTP batch, one HTTP submit: one
        notification each. The HTTP ones come from taskq-fcgi's wake-up connection (with its
        wake-up, after the commit): a submit's own transaction NOTIFYs nothing."""
        import psycopg2
        q = self.own_queue("feedburst")
        conn = psycopg2.connect(env.db)
        conn.autocommit = True
        sql_pid = self.db.scalar("SELECT pg_backend_pid()")
        try:
            conn.cursor().execute("LISTEN taskq_task")
            ids = [[r["id"] for r in self.db.query(
                "SELECT id::text AS id FROM taskq.submit_many(%s::jsonb)",
                (json.dumps([{"kind": "noop", "queue": q}] * 50),))]]
            r = self.api.request("POST", "/api/tasks/batch",
                                 json_body=[{"kind": "noop", "queue": q}] * 50)
            self.assertEqual(r.status, 202, str(r))
            ids.append(r.json["ids"])
            ids.append([self.submit_ok("noop", {}, queue=q)["id"]])
            notes = []
            deadline = time.time() + 3
            while time.time() < deadline:
                if select.select([conn], [], [], 0.2)[0]:
                    conn.poll()
                    notes += [(n.pid, n.payload) for n in conn.notifies]
                    conn.notifies.clear()
            senders = {}
            for group, what in zip(ids, ("sql", "batch", "single")):
                mine = [(pid, n) for pid, n in notes if set(n.split(",")) & set(group)]
                self.assertEqual(len(mine), 1, "%s: %d tasks made %d notifications" % (
                    what, len(group), len(mine)))
                self.assertTrue(set(group) <= set(mine[0][1].split(",")),
                                "%s: ids missing from %s" % (what, mine[0][1]))
                senders[what] = mine[0][0]
            apps = {what: self.db.scalar(
                "SELECT application_name FROM pg_stat_activity WHERE pid = %s", (pid,))
                for what, pid in senders.items()}
        finally:
            conn.close()
        self.assertEqual(senders["sql"], sql_pid)
        self.assertEqual((apps["batch"], apps["single"]), ("taskq-fcgi-wake", "taskq-fcgi-wake"),
                         "HTTP submits announced by %s" % apps)
        self.report("a statement of 50 tasks (SQL, HTTP batch) and one alone: one notification "
                    "each; HTTP ones with taskq-fcgi's wake-up")


class StreamShapeTests(TaskqTestCase):
    """A task's stream: the whole task first, then changes without the payload; it ends after
    the final state; no message is refused for its size."""

    def test_payload_only_in_the_first_event_then_the_stream_ends(self):
        q = self.own_queue("shape")
        blob = "x" * 500000
        tid = self.submit_ok("noop", {"blob": blob}, queue=q)["id"]
        sse = counted_sse("/api/tasks/%s/events" % tid, timeout=30)
        run = SqlRun(self.db, q)
        try:
            self.assertEqual(sse.status, 200)
            first = next(sse.events(lambda d: True, timeout=10))[1]
            self.assertEqual(first["payload"], {"blob": blob})
            self.assert_task_json(first)
            run.claim(tid)
            for pct in (20, 40, 60, 80):
                time.sleep(0.2)  # each its own message
                run.progress(tid, pct)
            time.sleep(0.2)
            run.complete(tid, {"rows": 3})
            rest = [(i, d) for i, d, _ in sse.events(lambda d: d["state"] in FINAL, timeout=15)]
            final_at = time.time()
            closed, after = until_closed(sse, 6)
            total = sse.sock.n
        finally:
            sse.close()
        events = [d for _, d in rest]
        self.assertGreaterEqual(len(events), 5, [d.get("progress") for d in events])
        self.assertEqual(events[-1]["state"], "succeeded")
        self.assertEqual(events[-1]["result"], {"rows": 3})
        self.assertEqual([d for d in events if "payload" in d], [], "a change carried the payload")
        for d in events:  # the small fields are all there in every change
            for f in ("id", "state", "progress", "version", "message", "updated_at"):
                self.assertIn(f, d)
        v = [first["version"]] + [d["version"] for d in events]
        self.assertEqual(v, sorted(set(v)), v)
        self.assertLess(total, len(blob) + 20000, "%d bytes for a %d-byte payload" % (total, len(blob)))
        self.assertIsNotNone(closed, "the stream is still open 6 s after the final state")
        self.assertEqual(after, [], "events after the final state")
        # a browser's EventSource reconnects by itself after the end, with the id of the last
        # event it got: it gets the final state (again, whole) and the end, until its last
        # event is from after the end; then 410 stops it. (A resume on another nginx worker
        # than the channel's, right after the channel was deleted, may get nothing before the
        # end: nchan's memory store; the next reconnect gets it.)
        fin = parse_time(events[-1]["finished_at"]).timestamp()
        time.sleep(max(0, fin + 2.5 - time.time()))
        last_id, resumes, again = rest[-1][0], [], []
        for _ in range(8):
            s = Sse("/api/tasks/%s/events" % tid, last_event_id=last_id)
            try:
                resumes.append(s.status)
                if s.status != 200:
                    break
                got = list(s.events(lambda d: False, timeout=8))  # to the end of the stream
            finally:
                s.close()
            again += [d for _, d, _ in got]
            last_id = got[-1][0] if got else last_id
        self.assertEqual(resumes[-1], 410, "resumes answered %s" % resumes)
        self.assertTrue(again, "no resume got the final state")
        for d in again:
            self.assertEqual((d["state"], d["payload"]), ("succeeded", {"blob": blob}))
        self.report("%d events, %d bytes for a %d-byte payload; closed %.1f s after the final "
                    "state; resumed after the end: %s" % (1 + len(events), total, len(blob),
                                                            closed, resumes))

    def test_a_result_near_the_largest_is_published(self):
        """A payload near taskq-fcgi's --max-body (1 MiB) and a result near the command kind's
        1 MiB: the final change (the result) and a late subscriber's whole message (both)
        reach the subscribers; nginx refuses none of them (413)."""
        q = self.own_queue("big")
        payload = {"blob": "p" * 1000000}
        result = {"blob": "r" * 1040000}
        log_from = nginx_error_size()
        tid = self.submit_ok("noop", payload, queue=q)["id"]
        sse = Sse("/api/tasks/%s/events" % tid, timeout=30)
        run = SqlRun(self.db, q)
        try:
            self.assertEqual(sse.status, 200)
            first = next(sse.events(lambda d: True, timeout=10))[1]
            self.assertEqual(first["payload"], payload)
            run.claim(tid)
            run.complete(tid, result)
            final = [d for _, d, _ in sse.events(lambda d: d["state"] in FINAL, timeout=15)]
        finally:
            sse.close()
        self.assertEqual(final[-1]["state"], "succeeded", [d["state"] for d in final])
        self.assertEqual(final[-1]["result"], result)
        late = Sse("/api/tasks/%s/events" % tid, timeout=30)
        try:
            whole = next(late.events(lambda d: True, timeout=15))[1]
        finally:
            late.close()
        self.assertEqual((whole["payload"], whole["result"]), (payload, result))
        errors = nginx_errors_since(log_from)
        self.assertNotIn("too large body", errors)
        self.report("a %d-byte result and a %d-byte payload published" % (
            len(json.dumps(result)), len(json.dumps(payload))))


class LongPollTests(TaskqTestCase):

    def test_long_poll_answers_on_change(self):
        tid = self.submit_ok("sleep", {"steps": 3, "step_ms": 700})["id"]
        t = self.api.wait_for(tid, lambda d: d["state"] == "running")
        start = time.time()
        r = self.api.request("GET", "/api/tasks/%s?wait=20" % tid,
                             headers={"If-None-Match": '"%d"' % t["version"]}, timeout=25)
        took = time.time() - start
        self.assertEqual(r.status, 200, str(r))
        self.assertGreater(r.json["version"], t["version"])
        self.assertLess(took, 5, "answered after %.1f s" % took)

    def test_long_poll_times_out_with_304(self):
        tid = self.submit_ok("sleep", {"steps": 1, "step_ms": 1}, delay_s=60)["id"]
        t = self.get_ok(tid)
        start = time.time()
        r = self.api.request("GET", "/api/tasks/%s?wait=1" % tid,
                             headers={"If-None-Match": '"%d"' % t["version"]}, timeout=10)
        self.assertEqual(r.status, 304)
        self.assertGreaterEqual(time.time() - start, 0.9)

    def test_waiters_are_bounded_429_with_retry_after(self):
        """More long-polls than --max-waiters at once: the extra ones get 429 + Retry-After at
        once, the parked ones still answer, and no request thread is held meanwhile."""
        cap = int(os.environ.get("TASKQ_MAX_WAITERS") or 1024)
        if cap > 200:
            self.skipTest("--max-waiters %d: too many to open in a test" % cap)
        tid = self.submit_ok("sleep", {"steps": 1, "step_ms": 1}, delay_s=60)["id"]
        etag = '"%d"' % self.get_ok(tid)["version"]
        results = []

        def poll():
            c = Client()
            r = c.request("GET", "/api/tasks/%s?wait=4" % tid, headers={"If-None-Match": etag},
                          timeout=15)
            results.append((r.status, r.header("Retry-After"), r.elapsed))

        threads = [threading.Thread(target=poll) for _ in range(cap + 20)]
        for t in threads:
            t.start()
            time.sleep(0.002)
        time.sleep(1)
        # the request threads are free while the waiters are parked
        t0 = time.time()
        self.assertEqual(self.api.request("GET", "/healthz").status, 200)
        free_ms = (time.time() - t0) * 1000
        for t in threads:
            t.join(20)
        refused = [r for r in results if r[0] == 429]
        parked = [r for r in results if r[0] == 304]
        self.assertEqual(len(results), cap + 20)
        self.assertGreaterEqual(len(refused), 20, repr(results[:5]))
        self.assertTrue(all(r[1] == "1" for r in refused), repr(refused[:3]))
        self.assertTrue(all(r[2] < 2 for r in refused), "429 must answer at once")
        self.assertEqual(len(parked) + len(refused), len(results), repr(set(r[0] for r in results)))
        self.report("--max-waiters %d: %d parked (304 after 4 s), %d refused with 429 at once; "
                    "/healthz answered in %.1f ms meanwhile" % (cap, len(parked), len(refused),
                                                                free_ms))

    def test_bad_wait_is_400(self):
        tid = self.submit_ok("noop", {})["id"]
        for q in ("wait=abc", "wait=-1", "other=1"):
            r = self.api.request("GET", "/api/tasks/%s?%s" % (tid, q))
            self.assertEqual(r.status, 400, q)
            self.assertEqual(r.json["error"]["code"], "invalid_field")


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def threads(pid):
    return len(os.listdir("/proc/%d/task" % pid))


def parent_of(pid):
    """The parent pid of pid, None if it has gone (any process may end while /proc is read)."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[1]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def nginx_pids():
    master = int(open(os.path.join(env.var, "run", "nginx.pid")).read())
    kids = [int(p) for p in os.listdir("/proc") if p.isdigit() and parent_of(p) == str(master)]
    return [master] + kids


class LoadTests(TaskqTestCase):

    N = 2000

    def test_2000_sse_subscribers_while_tasks_run(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, self.N + 1024)), hard))
        fcgi = int(open(os.path.join(env.var, "run", "fcgi.pid")).read())
        before = (rss_kb(fcgi), threads(fcgi))
        ids = [self.submit_ok("sleep", {"steps": 60, "step_ms": 250})["id"] for _ in range(20)]
        host, port = addr()
        counts = {"open": 0, "events": 0, "failed": 0}

        async def subscriber(i):
            try:
                r, w = await asyncio.open_connection(host, port)
                w.write(("GET /api/tasks/%s/events HTTP/1.0\r\nHost: x\r\nAccept: text/event-stream"
                         "\r\n%s\r\n" % (ids[i % len(ids)], auth_lines(None))).encode())
                await w.drain()
                head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 30)
                if b" 200 " not in head.split(b"\r\n")[0]:
                    counts["failed"] += 1
                    return None
                counts["open"] += 1
                return r, w
            except Exception:
                counts["failed"] += 1
                return None

        async def drain(conn, until):
            r, _ = conn
            while time.time() < until:
                try:
                    data = await asyncio.wait_for(r.read(65536), max(0.1, until - time.time()))
                except asyncio.TimeoutError:
                    return
                if not data:
                    return
                counts["events"] += data.count(b"\ndata: ") + data.startswith(b"data: ")

        async def main():
            conns = []
            for start in range(0, self.N, 200):
                conns += await asyncio.gather(*(subscriber(i) for i in range(start, min(self.N, start + 200))))
            conns = [c for c in conns if c]
            # while all are open: submits and status polls still answer at their usual latency
            lat = []
            loop = asyncio.get_running_loop()
            until = time.time() + 6
            drains = asyncio.gather(*(drain(c, until) for c in conns))

            def probe():
                for _ in range(60):
                    t0 = time.time()
                    r = self.api.submit("noop", {})
                    assert r.status == 202, r
                    g = self.api.get(r.json["id"])
                    assert g.status == 200, g
                    lat.append(time.time() - t0)
            await loop.run_in_executor(None, probe)
            await drains
            mem = sum(rss_kb(p) for p in nginx_pids())
            for c in conns:
                c[1].close()
            return lat, mem

        lat, nginx_kb = asyncio.run(main())
        after = (rss_kb(fcgi), threads(fcgi))
        self.assertEqual(counts["failed"], 0, counts)
        self.assertEqual(counts["open"], self.N)
        self.assertGreater(counts["events"], self.N, "subscribers received too little: %s" % counts)
        self.assertEqual(after[1], before[1], "taskq-fcgi's thread count changed")
        if "asan" not in env.build:  # ASan's quarantine holds freed memory: RSS says nothing there
            self.assertLess(after[0] - before[0], 16 * 1024, "taskq-fcgi grew %d KiB" % (after[0] - before[0]))
        self.assertLess(percentile(lat, 99), 0.5, "submit+status p99 %.0f ms" % (percentile(lat, 99) * 1000))
        self.report("%d subscribers open, %d events; submit+status p50 %.1f ms p99 %.1f ms; nginx RSS %.1f MiB, "
                    "taskq-fcgi RSS %.1f -> %.1f MiB, threads %d"
                    % (counts["open"], counts["events"], percentile(lat, 50) * 1000, percentile(lat, 99) * 1000,
                       nginx_kb / 1024, before[0] / 1024, after[0] / 1024, after[1]))


class PublisherElectionTests(TaskqTestCase):
    """Two taskq-fcgi processes feed one nginx: only the elected one publishes changes, so each
    change reaches the stream once; when it dies the other takes over."""

    def test_two_processes_one_publisher(self):
        import subprocess
        run = os.path.join(env.var, "run")
        sock = os.path.join(run, "fcgi-extra-%d.sock" % os.getpid())
        log = open(os.path.join(env.var, "log", "fcgi-extra.log"), "ab")
        extra = subprocess.Popen([os.path.join(env.build, "taskq-fcgi"), "--db", env.db, "--listen", sock,
                                  "--threads", "2", "--publish", os.path.join(run, "nchan-pub.sock")],
                                 stdout=log, stderr=log)
        try:
            time.sleep(1.0)
            tid = self.submit_ok("sleep", {"steps": 24, "step_ms": 250})["id"]
            sse = Sse("/api/tasks/%s/events" % tid, timeout=30)
            first = list(sse.events(lambda d: d["progress"] >= 25, timeout=20))
            v = [d["version"] for _, d, _ in first]
            self.assertEqual(v, sorted(set(v)), "a change reached the stream twice: %s" % v)
            # the elected publisher (the stack's own process, started first) dies
            from taskq_harness import dev
            dev("daemon", "kill", "fcgi")
            rest = list(sse.events(lambda d: d["state"] in FINAL, timeout=30))
            sse.close()
            self.assertTrue(rest, "nothing arrived after the publisher died")
            self.assertEqual(rest[-1][1]["state"], "succeeded")
            allv = v + [d["version"] for _, d, _ in rest]
            self.assertEqual(allv, sorted(allv), "versions went backwards: %s" % allv)
            dups = len(allv) - len(set(allv))
            self.assertLessEqual(dups, 1, "more than the one take-over repeat: %s" % allv)
            self.report("%d events before the kill, %d after, %d repeated at take-over"
                        % (len(v), len(rest), dups))
        finally:
            extra.terminate()
            extra.wait(10)
            log.close()
            from taskq_harness import dev
            dev("daemon", "start", "fcgi")  # the tests after this one need the stack's own
            wait = time.time() + 15
            while time.time() < wait and self.api.healthz(timeout=2).status != 200:
                time.sleep(0.2)


class RestartTests(TaskqTestCase):

    def test_open_stream_goes_on_after_taskq_fcgi_restarts(self):
        from taskq_harness import dev
        tid = self.submit_ok("sleep", {"steps": 30, "step_ms": 200})["id"]
        sse = Sse("/api/tasks/%s/events" % tid, timeout=30)
        before = list(sse.events(lambda d: d["progress"] >= 20, timeout=20))
        dev("daemon", "restart", "fcgi")
        restarted = time.time()
        rest = list(sse.events(lambda d: d["state"] in FINAL, timeout=30))
        sse.close()
        self.assertTrue(rest, "the stream went silent after the restart")
        self.assertEqual(rest[-1][1]["state"], "succeeded")
        gap = rest[0][2] - restarted
        self.assertLess(gap, 5, "first event %.1f s after the restart" % gap)
        self.report("%d events before, %d after; first %.2f s after the restart"
                    % (len(before), len(rest), gap))
