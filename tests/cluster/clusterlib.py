"""Helpers of the cluster tests: HTTP to the web hosts, SQL on the primary, the cluster's
commands (`./dev cluster ...`), task tallies and the figures.

The tests run on the `client` host (inside its network namespace, started by
`ip netns exec tq-client`), so every HTTP request crosses the front network's veths to
web1 (10.88.1.21) or web2 (10.88.1.22). Faults are `./dev cluster cut|heal|kill|stop|start`.
The bookkeeping SQL (counting tasks by id) is out of band: it connects to the local socket of
the current primary's host (its run directory), as an admin logged in on that host would;
no daemon under test ever does that.
"""

import http.client
import json
import os
import subprocess
import threading
import time

import psycopg2

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEV = os.environ.get("TASKQ_DEV") or os.path.join(TOP, "dev")
CLUSTER = os.environ.get("TASKQ_CLUSTER") or os.path.join(TOP, "var", "cluster")
LEASE_S = float(os.environ.get("TASKQ_CLUSTER_LEASE_S") or 6)
WEB = {"web1": "10.88.1.21", "web2": "10.88.1.22"}
WORKERS = ("wk1", "wk2", "wk3")
FINAL = ("succeeded", "failed", "cancelled")

# the host whose PostgreSQL accepts writes (the failover test moves it to pg2)
state = {"primary": "pg1"}


def figure(text):
    """One figure for the report: a line starting with `figure:`."""
    print("figure: %s" % text, flush=True)


def dev(*args, timeout=120, check=True):
    """./dev cluster ARGS...; returns its output."""
    out = subprocess.run([DEV, "cluster"] + list(args), capture_output=True, text=True,
                         timeout=timeout, stdin=subprocess.DEVNULL)
    if check and out.returncode != 0:
        raise AssertionError("./dev cluster %s: status %d: %s" % (
            " ".join(args), out.returncode, (out.stderr or out.stdout)[-600:]))
    return out.stdout


class Resp:
    def __init__(self, status, headers, body, elapsed):
        self.status, self.headers, self.body, self.elapsed = status, headers, body, elapsed

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body) if self.body else None


def request(web, method, path, body=None, headers=None, timeout=15.0):
    """One HTTP exchange with WEB host `web` (a fresh connection); raises OSError on a
    connection failure or timeout."""
    h = {"Connection": "close"}
    if body is not None:
        body = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    t0 = time.monotonic()
    c = http.client.HTTPConnection(WEB[web], 80, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data,
                    time.monotonic() - t0)
    finally:
        c.close()


def submit(web, kind, payload=None, timeout=15.0, **fields):
    """POST /api/tasks on `web`: the Resp (202 carries the task)."""
    body = {"kind": kind}
    if payload is not None:
        body["payload"] = payload
    body.update(fields)
    return request(web, "POST", "/api/tasks", body, timeout=timeout)


def submit_batch(web, tasks, timeout=30.0):
    r = request(web, "POST", "/api/tasks/batch", {"tasks": tasks}, timeout=timeout)
    if r.status != 202:
        raise AssertionError("batch submit on %s: %d %s" % (web, r.status, r.body[:300]))
    return r.json()["ids"]


def metrics(web):
    """web's /metrics (served to the host itself: read on its own loopback)."""
    out = subprocess.run(["ip", "netns", "exec", "tq-" + web, "curl", "-s", "--max-time", "5",
                          "http://127.0.0.1/metrics"], capture_output=True, text=True,
                         timeout=20)
    samples = {}
    for line in out.stdout.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                samples[name] = float(value)
            except ValueError:
                pass
    return samples


_local = threading.local()


def db(host=None):
    host = host or state["primary"]
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    c = conns.get(host)
    if c is None or c.closed:
        c = psycopg2.connect(host=os.path.join(CLUSTER, host, "run"), port=5432,
                             dbname="taskq", user="taskq", connect_timeout=5)
        c.autocommit = True
        conns[host] = c
    return c


def sql(query, params=(), host=None):
    try:
        with db(host).cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description else []
    except psycopg2.OperationalError:
        getattr(_local, "conns", {}).pop(host or state["primary"], None)
        raise


def scalar(query, params=(), host=None):
    rows = sql(query, params, host)
    return rows[0][0] if rows else None


def close_dbs():
    for c in getattr(_local, "conns", {}).values():
        try:
            c.close()
        except psycopg2.Error:
            pass
    _local.conns = {}


def wait_until(cond, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(interval)


class Tally:
    """Every task of `ids` by id, in SQL: lost (202'd but missing, or never finished),
    doubled (more than one recorded success), and the final states."""

    def __init__(self, ids):
        ids = list(ids)
        rows = sql("SELECT id::text, state::text, attempts FROM taskq.tasks "
                   "WHERE id = ANY(%s::uuid[])", (ids,))
        self.state = {r[0]: r[1] for r in rows}
        ev = sql("SELECT task_id::text, count(*) FROM taskq.task_history "
                 "WHERE task_id = ANY(%s::uuid[]) AND event = 'succeeded' GROUP BY 1", (ids,))
        self.successes = {r[0]: r[1] for r in ev}
        self.missing = [i for i in ids if i not in self.state]
        self.unfinished = [i for i in ids if self.state.get(i) not in (None,) + FINAL]
        self.not_succeeded = [i for i in ids if self.state.get(i) not in (None, "succeeded")]
        self.lost = self.missing + self.unfinished
        self.doubled = [i for i, n in self.successes.items() if n > 1]
        self.n = len(ids)

    def __str__(self):
        return "%d tasks: %d lost (%d missing, %d unfinished), %d doubled, %d not succeeded" % (
            self.n, len(self.lost), len(self.missing), len(self.unfinished), len(self.doubled),
            len(self.not_succeeded))


def wait_final(ids, timeout):
    """Waits until every task of ids is final (or the time is up); the Tally."""
    deadline = time.monotonic() + timeout
    while True:
        t = Tally(ids)
        if not t.unfinished or time.monotonic() > deadline:
            return t
        time.sleep(0.5)


def pg_cpu_s(host):
    """CPU seconds used so far by HOST's PostgreSQL (the postmaster and its children)."""
    try:
        with open(os.path.join(CLUSTER, host, "pg", "postmaster.pid")) as f:
            pm = int(f.readline())
    except (OSError, ValueError):
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid = int(fields[1])
        if int(pid) == pm or ppid == pm:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def machine_busy():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)
