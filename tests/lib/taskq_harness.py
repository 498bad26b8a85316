"""Integration-test harness for taskq: an HTTP client, a database helper and a TestCase base.

It talks to a stack that is already running (started by `./dev test`) and reads where it is
from the environment: TASKQ_URL, TASKQ_DB, TASKQ_VAR, TASKQ_BUILD, TASKQ_DEV, TASKQ_SQL_DIR.
It never starts or mocks PostgreSQL or nginx itself; fault tests drive the stack through
`$TASKQ_DEV daemon ...`. Stdlib plus Debian's python3-psycopg2 only.

Every exchange made through Client or raw_http is appended as one JSON line to
$TASKQ_VAR/api-seen.jsonl (see record_exchange); tests/integration/test_openapi_audit.py checks
them all against nginx/html/openapi.json.
"""

import datetime
import http.client
import json
import os
import re
import statistics
import subprocess
import threading
import time
import unittest
import urllib.parse
import uuid

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_MISSING = object()

TASK_FIELDS = (
    "id", "kind", "queue", "state", "progress", "message", "payload", "result", "error",
    "attempts", "max_attempts", "priority", "cancel_requested", "created_at", "run_at",
    "started_at", "finished_at", "updated_at", "version", "timeout_s", "dedupe_key",
    "concurrency_key",
)
FINAL_STATES = ("succeeded", "failed", "cancelled")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIME_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z$")


class Env:
    """Where the stack under test lives; every value has a default for a local `./dev run`."""

    def __init__(self):
        e = os.environ
        self.var = e.get("TASKQ_VAR") or os.path.join(TOP, "var")
        self.url = (e.get("TASKQ_URL")
                    or "http://127.0.0.1:%s" % e.get("TASKQ_PORT", "8080")).rstrip("/")
        self.db = e.get("TASKQ_DB") or (
            "host=%s port=5432 dbname=taskq user=taskq" % os.path.join(self.var, "run"))
        self.build = e.get("TASKQ_BUILD") or os.path.join(TOP, "var", "build")
        self.dev = e.get("TASKQ_DEV") or os.path.join(TOP, "dev")
        self.sql_dir = e.get("TASKQ_SQL_DIR") or os.path.join(TOP, "sql")
        self.token = e.get("TASKQ_TOKEN")
        self.max_body = int(e.get("TASKQ_MAX_BODY") or 1048576)
        # executors of the worker under test (./dev test exports TASKQ_CONCURRENCY=24)
        self.concurrency = int(e.get("TASKQ_TEST_CONCURRENCY") or e.get("TASKQ_CONCURRENCY") or 24)


ENV = Env()


class HarnessError(Exception):
    """The stack could not be reached (as opposed to answering wrongly)."""


def parse_time(s):
    """RFC 3339 UTC text (`2026-11-24T22:42:00.123456Z`) -> aware datetime; AssertionError if not."""
    m = TIME_RE.match(s or "")
    if not m:
        raise AssertionError("not an RFC 3339 UTC time: %r" % (s,))
    frac = (m.group(7) or "0")[:6].ljust(6, "0")
    return datetime.datetime(*(int(g) for g in m.groups()[:6]), int(frac),
                             tzinfo=datetime.timezone.utc)


def unique(prefix="t"):
    """A name no other test (or earlier run) uses: for queues and dedupe keys."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


def percentile(values, p):
    """Nearest-rank percentile of a non-empty list (p in 0..100)."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def latency_summary(seconds):
    """'median 1.2 ms, p99 3.4 ms, max 5.6 ms' for a list of durations in seconds."""
    ms = [x * 1000.0 for x in seconds]
    return "median %.1f ms, p99 %.1f ms, max %.1f ms" % (
        statistics.median(ms), percentile(ms, 99), max(ms))


# -- the record of exchanges ------------------------------------------------------------------

SEEN_FILE = os.path.join(ENV.var, "api-seen.jsonl")
# the response headers the OpenAPI document speaks of
SEEN_HEADERS = ("Content-Type", "ETag", "Location", "Retry-After", "WWW-Authenticate", "Allow",
                "X-Request-Id", "Cache-Control")
SEEN_MAX_BODY = 4 << 20   # a JSON body larger than this is recorded without the body
current_test = None       # set by tests/integration/run.py: the id of the test that runs
_seen = {"lock": threading.Lock(), "file": None, "pid": None, "broken": False}


def record_exchange(resp):
    """Appends one JSON line for resp to SEEN_FILE: method, path (as sent, query included),
    status, headers, and the body parsed when it is JSON (json_invalid when it says JSON and
    is not). Never raises: when the file cannot be written, nothing is recorded."""
    ct = resp.headers.get("Content-Type") or ""
    line = {"test": current_test, "method": resp.method, "path": resp.path,
            "status": resp.status, "content_type": ct, "body_bytes": len(resp.body),
            "headers": {h: resp.headers.get(h) for h in SEEN_HEADERS
                        if resp.headers.get(h) is not None}}
    if resp.body and ct.split(";")[0].strip().lower() == "application/json":
        if len(resp.body) > SEEN_MAX_BODY:
            line["body_skipped"] = True
        elif resp.json is None:
            line["json_invalid"] = resp.body[:200].decode("utf-8", "replace")
        else:
            line["json"] = resp.json
    text = json.dumps(line, ensure_ascii=False) + "\n"
    with _seen["lock"]:
        if _seen["broken"]:
            return
        try:
            if _seen["file"] is None or _seen["pid"] != os.getpid():
                _seen["file"] = open(SEEN_FILE, "a", encoding="utf-8")
                _seen["pid"] = os.getpid()
            _seen["file"].write(text)
            _seen["file"].flush()
        except OSError:
            _seen["broken"] = True


def reset_exchanges():
    """Empties SEEN_FILE (tests/integration/run.py does, before a run)."""
    with _seen["lock"]:
        if _seen["file"] is not None:
            _seen["file"].close()
            _seen["file"] = None
        try:
            open(SEEN_FILE, "w").close()
        except OSError:
            pass


class Response:
    def __init__(self, method, path, status, reason, headers, body, elapsed):
        self.method, self.path = method, path
        self.status, self.reason = status, reason
        self.headers = headers          # http.client.HTTPMessage: case-insensitive get()
        self.body = body                # bytes
        self.elapsed = elapsed          # seconds
        self._json = _MISSING

    def header(self, name, default=None):
        return self.headers.get(name, default)

    @property
    def json(self):
        """The body parsed as JSON, or None when it is empty or not JSON."""
        if self._json is _MISSING:
            try:
                self._json = json.loads(self.body.decode("utf-8")) if self.body else None
            except ValueError:
                self._json = None
        return self._json

    def __str__(self):
        body = self.body[:600].decode("utf-8", "replace")
        if len(self.body) > 600:
            body += "...(%d bytes)" % len(self.body)
        return "%s %s -> %d %s" % (self.method, self.path[:200], self.status, body)


class Client:
    """A small HTTP client over http.client. Thread-safe unless keepalive=True."""

    def __init__(self, base_url=None, timeout=10.0, keepalive=False, token=_MISSING):
        """token: the bearer token to send (default: $TASKQ_TOKEN; None sends none)."""
        u = urllib.parse.urlsplit(base_url or ENV.url)
        self.token = ENV.token if token is _MISSING else token
        self.base_url = base_url or ENV.url
        self.host, self.port = u.hostname, u.port or 80
        self.timeout = timeout
        self.keepalive = keepalive
        self._conn = None

    def _connection(self, timeout):
        if self.keepalive:
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            return self._conn
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method, path, body=None, json_body=_MISSING, headers=None, timeout=None):
        """Send one request; body is bytes/str, or json_body any JSON value (sets Content-Type).

        Returns a Response; raises HarnessError if the server cannot be reached or times out.
        """
        hdrs = {}
        if self.token:
            hdrs["Authorization"] = "Bearer " + self.token
        if json_body is not _MISSING:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        if isinstance(body, str):
            body = body.encode("utf-8")
        hdrs.update(headers or {})
        hdrs = {k: v for k, v in hdrs.items() if v is not None}  # None removes a default
        t = self.timeout if timeout is None else timeout
        for attempt in (1, 2):
            conn = self._connection(t)
            t0 = time.monotonic()
            try:
                conn.request(method, path, body=body, headers=hdrs)
                r = conn.getresponse()
                data = r.read()
                elapsed = time.monotonic() - t0
                if not self.keepalive or r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    self._conn = None
                resp = Response(method, path, r.status, r.reason, r.headers, data, elapsed)
                record_exchange(resp)
                return resp
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                conn.close()
                self._conn = None
                if self.keepalive and attempt == 1:
                    continue  # a kept connection the server closed: retry once on a new one
                raise HarnessError("%s %s on %s: %s: %s" % (
                    method, path, self.base_url, type(e).__name__, e)) from e
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                self._conn = None
                raise HarnessError("cannot reach taskq at %s (%s %s after %.1fs): %s: %s" % (
                    self.base_url, method, path, time.monotonic() - t0,
                    type(e).__name__, e)) from e
        raise AssertionError("unreachable")

    # -- the API -------------------------------------------------------------------------------

    def submit(self, kind, payload=_MISSING, headers=None, **fields):
        """POST /api/tasks; fields are sent as given (pass None to send JSON null)."""
        body = {"kind": kind}
        if payload is not _MISSING:
            body["payload"] = payload
        body.update(fields)
        return self.request("POST", "/api/tasks", json_body=body, headers=headers)

    def get(self, task_id, headers=None, timeout=None):
        return self.request("GET", "/api/tasks/%s" % task_id, headers=headers, timeout=timeout)

    def delete(self, task_id):
        return self.request("DELETE", "/api/tasks/%s" % task_id)

    def retry(self, task_id):
        return self.request("POST", "/api/tasks/%s/retry" % task_id,
                            headers={"Content-Type": "application/json"})

    def list(self, **params):
        q = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        return self.request("GET", "/api/tasks" + ("?" + q if q else ""))

    def healthz(self, timeout=None):
        return self.request("GET", "/healthz", timeout=timeout)

    def wait_for(self, task_id, cond, timeout=10.0, history=None, tolerate_503=None):
        """Poll GET /api/tasks/{id} every 50 ms until cond holds; return the task JSON.

        cond is a state name, a tuple/list/set of state names, or a predicate on the task dict.
        Every task seen is appended to history (if given). Any answer but 200 fails, except
        503s when tolerate_503 is a list (they are appended to it). AssertionError on timeout,
        naming the last answer.
        """
        if isinstance(cond, str):
            pred, what = (lambda t: t.get("state") == cond), "state %s" % cond
        elif isinstance(cond, (tuple, list, set, frozenset)):
            pred, what = (lambda t: t.get("state") in cond), "state in %s" % sorted(cond)
        else:
            pred, what = cond, getattr(cond, "__name__", "condition")
        deadline = time.monotonic() + timeout
        last = None
        while True:
            r = self.get(task_id)
            if r.status == 503 and tolerate_503 is not None:
                tolerate_503.append(r)
                if time.monotonic() >= deadline:
                    raise AssertionError("task %s: still 503 after %.1fs: %s" % (
                        task_id, timeout, r))
                time.sleep(0.05)
                continue
            if r.status != 200 or not isinstance(r.json, dict):
                raise AssertionError("while waiting for %s: %s" % (what, r))
            last = r.json
            if history is not None:
                history.append(last)
            if pred(last):
                return last
            if time.monotonic() >= deadline:
                raise AssertionError("task %s: no %s within %.1fs; last: state=%s progress=%s "
                                     "attempts=%s message=%r error=%r" % (
                                         task_id, what, timeout, last.get("state"),
                                         last.get("progress"), last.get("attempts"),
                                         last.get("message"), last.get("error")))
            time.sleep(0.05)


api = Client()


def raw_http(data, timeout=10.0, auth=True):
    """Send raw bytes (a whole HTTP/1.1 request, best with Connection: close); return a Response.

    For requests http.client will not make: no Content-Length, chunked bodies, odd framing.
    auth: add $TASKQ_TOKEN's Authorization header after the request line (when there is a
    token and the request carries none).
    """
    import socket
    if auth and ENV.token and b"\r\n" in data and b"\nauthorization:" not in data.lower():
        line, rest = data.split(b"\r\n", 1)
        data = line + b"\r\nAuthorization: Bearer " + ENV.token.encode() + b"\r\n" + rest
    first = data.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    method, path = first[0], first[1] if len(first) > 1 else "?"
    t0 = time.monotonic()
    try:
        sock = socket.create_connection((api.host, api.port), timeout=timeout)
    except OSError as e:
        raise HarnessError("cannot reach taskq at %s: %s" % (ENV.url, e)) from e
    try:
        sock.sendall(data)
        r = http.client.HTTPResponse(sock, method=method)
        r.begin()
        body = r.read()
        resp = Response(method, path, r.status, r.reason, r.headers, body,
                        time.monotonic() - t0)
        record_exchange(resp)
        return resp
    except (OSError, http.client.HTTPException) as e:
        raise HarnessError("raw %s %s: %s: %s" % (method, path, type(e).__name__, e)) from e
    finally:
        sock.close()


def submit(kind, payload=_MISSING, **opts):
    return api.submit(kind, payload, **opts)


def get(task_id, **kw):
    return api.get(task_id, **kw)


def wait_for(task_id, cond, timeout=10.0, history=None, tolerate_503=None):
    return api.wait_for(task_id, cond, timeout, history, tolerate_503)


def wait_until(cond, timeout=10.0, what="condition", interval=0.05):
    """Call cond() every interval seconds until it returns a truthy value; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("%s not reached within %.1fs (last: %r)" % (what, timeout, v))
        time.sleep(interval)


class Db:
    """psycopg2 in autocommit mode, for asserting rows; reconnects once after a lost connection."""

    def __init__(self, dsn=None):
        self.dsn = dsn or ENV.db
        self._conn = None

    def _connect(self):
        try:
            import psycopg2
            import psycopg2.extras
        except ImportError as e:
            raise HarnessError("psycopg2 missing (apt-get install python3-psycopg2): %s" % e)
        try:
            self._conn = psycopg2.connect(self.dsn, connect_timeout=5)
        except psycopg2.OperationalError as e:
            raise HarnessError("cannot connect to TASKQ_DB %r: %s" % (
                self.dsn, str(e).strip().replace("\n", " | "))) from e
        self._conn.autocommit = True
        self._dict_cursor = psycopg2.extras.RealDictCursor
        return self._conn

    def query(self, sql, params=()):
        """Rows as a list of dicts."""
        import psycopg2
        for attempt in (1, 2):
            conn = self._conn if self._conn is not None and not self._conn.closed \
                else self._connect()
            try:
                with conn.cursor(cursor_factory=self._dict_cursor) as cur:
                    cur.execute(sql, params)
                    return [dict(r) for r in cur.fetchall()] if cur.description else []
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                self.close()
                if attempt == 2:
                    raise
        return []

    def scalar(self, sql, params=()):
        rows = self.query(sql, params)
        return next(iter(rows[0].values())) if rows else None

    def columns(self, relation):
        """Column names of a table or view, in order."""
        return [r["attname"] for r in self.query(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum", (relation,))]

    def task(self, task_id):
        rows = self.query("SELECT * FROM taskq.tasks WHERE id = %s", (task_id,))
        return rows[0] if rows else None

    def count_state(self, ids, state):
        return self.scalar("SELECT count(*) FROM taskq.tasks WHERE id = ANY(%s::uuid[]) "
                           "AND state = %s", (list(ids), state))

    def close(self):
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None


_db = None


def db():
    global _db
    if _db is None:
        _db = Db()
    return _db


def dev(*args, timeout=90):
    """Run `$TASKQ_DEV args...` with TASKQ_VAR set; return CompletedProcess (text)."""
    if not os.access(ENV.dev, os.X_OK):
        raise HarnessError("TASKQ_DEV %s is not an executable" % ENV.dev)
    env = dict(os.environ, TASKQ_VAR=ENV.var)
    return subprocess.run([ENV.dev] + list(args), env=env, cwd=os.path.dirname(ENV.dev),
                          capture_output=True, text=True, timeout=timeout)


def new_token(owner, *flags):
    """Creates a bearer token for owner with the CLI (flags: "--admin", "--expires", "5" ...);
    returns the token."""
    exe = os.path.join(ENV.build, "taskq")
    r = subprocess.run([exe, "--db", ENV.db, "token", "create", owner] + list(flags),
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise HarnessError("taskq token create %s: %s" % (owner, r.stderr.strip()))
    return r.stdout.strip()


def host_series(prefix, host):
    """{(family, state or ""): value} of the /metrics series of an upstream host whose family
    starts with prefix (taskq_breaker_, taskq_upstream_)."""
    r = Client(token=None).request("GET", "/metrics")
    if r.status != 200:
        raise HarnessError("GET /metrics: %s" % r)
    out = {}
    for line in r.body.decode().splitlines():
        m = re.match(r'^(%s\w+)\{host="([^"]*)"(?:,state="(\w+)")?\} (\S+)$' % re.escape(prefix),
                     line)
        if m and m.group(2) == host:
            out[(m.group(1), m.group(3) or "")] = float(m.group(4))
    return out


def auth_header():
    """{"Authorization": ...} for requests made without Client (raw sockets), or {}."""
    return {"Authorization": "Bearer " + ENV.token} if ENV.token else {}


# -- extra worker daemons (fault tests) ---------------------------------------------------------



class TaskqTestCase(unittest.TestCase):
    """Base class: tracks tasks to cancel in tearDown, error/JSON assertions, a report line;
    extra worker daemons and per-test queues (own_queue) that tearDown cleans up."""

    maxDiff = 2000

    def setUp(self):
        self.api = api
        self._cleanup = []
        self._queues = []
        self._workers = []
        self._first = []
        self.report_text = None

    def cleanup_first(self, fn, *args):
        """fn(*args) at the start of tearDown, before the queues, workers and tasks are cleaned
        up (a connection holding locks those would wait for, a row the test made), in the
        order they were asked for."""
        self._first.append((fn, args))

    def tearDown(self):
        for fn, args in self._first:
            fn(*args)
        # Leftovers of this test's own queues: queued ones cancelled at once, running ones
        # asked to stop (before the extra workers stop, so they stop them rather than hand
        # them back); then the extra workers (SIGTERM, SIGKILL after a timeout).
        if self._queues:
            try:
                cancel_queues(self._queues)
            except Exception:
                pass
        for w in self._workers:
            w.stop()
        # Cancel what this test left unfinished so it frees executors for the next test.
        for tid in self._cleanup:
            try:
                api.request("DELETE", "/api/tasks/%s" % tid, timeout=5)
            except HarnessError:
                break

    @property
    def db(self):
        return db()

    def report(self, text):
        """Text the runner appends to this test's output line."""
        self.report_text = text

    def skip_unless_auth(self):
        """Skips this test when the stack runs with auth off (an anonymous call is not 401)."""
        if Client(token=None).request("GET", "/api/me").status != 401:
            self.skipTest("auth is off on this stack")

    def own_queue(self, prefix="q"):
        """A queue only this test uses; tearDown cancels what is left in it."""
        q = unique(prefix)
        self._queues.append(q)
        return q

    def start_worker(self, queues, name=None, **kw):
        """Start an extra taskq-worker (see WorkerProc); tearDown stops it."""
        w = WorkerProc(queues, name=name or self._testMethodName, **kw)
        self._workers.append(w)
        w.start()
        return w

    def submit_many(self, n, kind, payload=_MISSING, **fields):
        """n submits over HTTP, each must answer 202; returns the ids. payload may be a
        function of the index. Not tracked: use an own_queue(), whose leftovers tearDown
        cancels in one statement."""
        ids = []
        for i in range(n):
            r = api.submit(kind, payload(i) if callable(payload) else payload, **fields)
            self.assertEqual(r.status, 202, str(r))
            ids.append(r.json["id"])
        return ids


    def track(self, task_id):
        self._cleanup.append(task_id)
        return task_id

    def submit_ok(self, kind, payload=_MISSING, **fields):
        """Submit, assert 202 with a queued task JSON, track it for cleanup; return the task."""
        r = api.submit(kind, payload, **fields)
        self.assertEqual(r.status, 202, str(r))
        self.assertIsInstance(r.json, dict, str(r))
        self.track(r.json["id"])
        self.assertEqual(r.json["state"], "queued", str(r))
        return r.json

    def submit_new_kind(self, kind, payload, **fields):
        """submit_ok for a kind a worker has just registered: rides out the second in which
        taskq-fcgi may not know it yet (400 unknown_kind). Any state; tracked."""
        deadline = time.monotonic() + 5
        while True:
            r = api.submit(kind, payload, **fields)
            if r.status != 400 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(r.status, 202, str(r))
        self.track(r.json["id"])
        return r.json

    def get_ok(self, task_id):
        r = api.get(task_id)
        self.assertEqual(r.status, 200, str(r))
        return r.json

    def assert_json_response(self, r):
        ct = r.header("Content-Type", "")
        self.assertTrue(ct.startswith("application/json"), "Content-Type %r: %s" % (ct, r))
        self.assertIsNotNone(r.json, "body is not JSON: %s" % r)

    def assert_error(self, r, status, code):
        """Exact status, JSON body {"error":{"code":code,"message":non-empty text}}."""
        self.assertEqual(r.status, status, str(r))
        self.assert_json_response(r)
        err = r.json.get("error") if isinstance(r.json, dict) else None
        self.assertIsInstance(err, dict, "no error object: %s" % r)
        self.assertEqual(err.get("code"), code, str(r))
        self.assertIsInstance(err.get("message"), str, str(r))
        self.assertTrue(err["message"].strip(), "empty error message: %s" % r)

    def assert_task_json(self, t):
        """Every field of the spec's task JSON is present, with the right types."""
        self.assertIsInstance(t, dict)
        missing = [f for f in TASK_FIELDS if f not in t]
        self.assertEqual(missing, [], "task JSON lacks fields: %r" % t)
        self.assertRegex(t["id"], UUID_RE)
        self.assertIn(t["state"], ("queued", "running", "waiting") + FINAL_STATES)
        for f in ("progress", "attempts", "max_attempts", "priority", "version"):
            self.assertIs(type(t[f]), int, "%s is not an integer: %r" % (f, t))
        self.assertIs(type(t["cancel_requested"]), bool, repr(t))
        self.assertIsInstance(t["payload"], dict, repr(t))
        for f in ("created_at", "run_at", "updated_at"):
            if f != "run_at" or not t.get("blocked"):  # blocked by its parents: no time yet
                parse_time(t[f])
        for f in ("started_at", "finished_at"):
            if t[f] is not None:
                parse_time(t[f])


class ClassWorkerTestCase(TaskqTestCase):
    """Base class for a module whose tests share one worker daemon on a queue of their own:
    queue_prefix names the queue, worker_options() the WorkerProc's keywords. The worker is up
    (its kinds registered in taskq.kinds) before the first test; after the last, the queue's
    leftovers are cancelled and the worker stopped."""

    worker = None
    queue = None
    queue_prefix = "q"

    @classmethod
    def worker_options(cls):
        return {}

    @classmethod
    def setUpClass(cls):
        cls.queue = unique(cls.queue_prefix)
        cls.worker = WorkerProc(cls.queue, **cls.worker_options())
        cls.worker.start()
        try:
            cls.worker.worker_id()
        except Exception:
            cls.worker.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cancel_queues([cls.queue])
        except Exception:
            pass
        cls.worker.stop()

    def submit_registered(self, kind, payload, **fields):
        """submit_ok on the class's queue; rides out the seconds in which taskq-fcgi may not
        know the kinds the worker just registered (400 unknown kind)."""
        return self.submit_new_kind(kind, payload, queue=self.queue, **fields)


# The fault-test helpers live in their own module; importing them here keeps one import line
# for the tests. (At the end: taskq_faults imports from this module.)
from taskq_faults import *  # noqa: E402,F401,F403
from taskq_faults import WorkerProc, cancel_queues  # noqa: E402
