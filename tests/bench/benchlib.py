"""benchlib: what every measurement of `./dev bench` shares.

The settings of the run (from the environment tools/dev/bench.sh sets), the results registry
(one Measurement per table row, one dict per repetition), CPU and memory accounting from
/proc, and the runners: SQL (psycopg2), pgbench, wrk, `./dev daemon`, HTTP.
"""

import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import time

import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


class BenchError(Exception):
    """A measurement failed for a reason worth one line in the table."""


###############################################################################
### settings


def _int_env(name, default):
    v = os.environ.get(name, "")
    try:
        return int(v) if v.strip() else default
    except ValueError:
        raise SystemExit(f"bench: {name}={v!r} is not a number")


class Settings:
    """Everything the run is told by tools/dev/bench.sh (and the user's knobs)."""

    ALL_GROUPS = ["raw", "submit", "batch", "drain", "pickup", "poll", "footprint", "scale",
                  "writes", "progress", "endurance", "drain1m", "peers", "console"]
    DEFAULT_GROUPS = ["raw", "submit", "batch", "drain", "pickup", "poll", "footprint", "scale",
                      "writes", "progress"]

    def __init__(self):
        e = os.environ
        if "TASKQ_TOP" not in e:
            raise SystemExit("bench: run me with ./dev bench (tools/dev/bench.sh sets the stack up)")
        self.top = e["TASKQ_TOP"]
        self.var = e["TASKQ_VAR"]
        self.run_dir = e["TASKQ_RUN"]
        self.log_dir = e["TASKQ_LOG"]
        self.pgdata = e["TASKQ_PGDATA"]
        self.conninfo = e["TASKQ_DB"]
        self.url = e["TASKQ_URL"]
        self.port = int(e["TASKQ_PORT"])
        self.dev = e["TASKQ_DEV"]
        self.build = e["TASKQ_BUILD"]
        self.pgbin = e.get("PGBIN") or "/usr/lib/postgresql/15/bin"
        self.stack_user = e.get("STACK_USER", "taskq")
        self.peers_dir = e.get("BENCH_PEERS_DIR", "")
        self.quick = e.get("QUICK", "") not in ("", "0")
        self.reps = 1 if self.quick else max(1, _int_env("REPS", 3))
        only = e.get("ONLY", "").split()
        bad = [g for g in only if g not in self.ALL_GROUPS]
        if bad:
            raise SystemExit(f"bench: unknown ONLY group(s) {bad}; choose from {self.ALL_GROUPS}")
        self.groups = only or list(self.DEFAULT_GROUPS)
        q = self.quick
        self.pgbench_s = _int_env("PGBENCH_SECONDS", 3 if q else 10)
        self.wrk_s = _int_env("WRK_SECONDS", 3 if q else 8)
        self.warmup_s = _int_env("WARMUP_SECONDS", 1 if q else 2)
        self.drain_n = _int_env("DRAIN_N", 10000 if q else 50000)
        self.drain_conc = [int(x) for x in e.get("DRAIN_CONCURRENCY", "8 32").split()]
        self.pickup_n = _int_env("PICKUP_N", 150 if q else 500)
        self.pickup_gap_ms = _int_env("PICKUP_GAP_MS", 20)
        self.batch_k = _int_env("BATCH_K", 100)
        self.batch_clients = _int_env("BATCH_CLIENTS", 2)
        self.concurrency = _int_env("TASKQ_CONCURRENCY", 8)
        self.out_json = os.path.join(self.var, "results.json")
        self.out_md = os.path.join(self.var, "results.md")
        self.sql_dir = os.path.join(self.var, "sql")  # scripts readable by the stack's user

    def want(self, group):
        return group in self.groups


S = Settings()  # the settings of this run


def say(msg):
    print(f"bench: {msg}", flush=True)


###############################################################################
### results


def median(v):
    return statistics.median(v) if v else None


class Measurement:
    """One row of the table: a figure measured REPS times (each rep one dict)."""

    def __init__(self, key, group, label, conc, unit, main="value", higher_better=True,
                 details=(), note=""):
        self.key, self.group, self.label, self.conc, self.unit = key, group, label, conc, unit
        self.main = main
        self.higher_better = higher_better
        self.details = list(details)  # (field, format) shown in the detail column
        self.note = note
        self.runs = []
        self.errors = []

    def add(self, rec):
        self.runs.append(rec)

    def fail(self, msg):
        self.errors.append(msg)

    def values(self, field=None):
        f = field or self.main
        return [r[f] for r in self.runs if isinstance(r.get(f), (int, float))]

    def stat(self, field=None):
        v = self.values(field)
        if not v:
            return None
        return {"median": median(v), "min": min(v), "max": max(v), "n": len(v)}

    @property
    def ok(self):
        return bool(self.values())

    def to_json(self):
        out = {"key": self.key, "group": self.group, "label": self.label, "conc": self.conc,
               "unit": self.unit, "higher_is_better": self.higher_better,
               "status": "ok" if self.ok and not self.errors else
                         ("partial" if self.ok else "failed"),
               "errors": self.errors, "runs": self.runs}
        st = self.stat()
        if st:
            out.update(st)
        med = {}
        for r in self.runs:
            for k, v in r.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    med.setdefault(k, []).append(v)
        out["medians"] = {k: median(v) for k, v in med.items()}
        if self.note:
            out["note"] = self.note
        return out


class Registry:
    def __init__(self):
        self.rows = {}
        self.sections = []  # functions -> markdown lines printed after the table (or None)

    def get(self, key, *a, **kw):
        if key not in self.rows:
            self.rows[key] = Measurement(key, *a, **kw)
        return self.rows[key]

    def median(self, key, field=None):
        m = self.rows.get(key)
        st = m.stat(field) if m else None
        return st["median"] if st else None


R = Registry()


def fmt_num(x, unit=""):
    if x is None:
        return "–"
    if isinstance(x, float) and x != x:
        return "–"
    ax = abs(x)
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and ax < 100):
        s = f"{int(x):,}"
    elif ax >= 100:
        s = f"{round(x):,}"
    elif ax >= 10:
        s = f"{x:.1f}"
    else:
        s = f"{x:.2f}"
    return s + unit


def measure(m, rep, fn, *args):
    """Run fn(*args) -> dict for measurement m; record it or its failure; one progress line."""
    t0 = time.monotonic()
    tag = f"[rep {rep}/{S.reps}] {m.label}" + (f" @{m.conc}" if m.conc not in ("", None) else "")
    try:
        rec = fn(*args)
    except Exception as e:  # one failure never stops the run
        msg = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        m.fail(f"rep {rep}: {msg}")
        say(f"{tag}: FAILED: {msg} ({time.monotonic() - t0:.0f} s)")
        if os.environ.get("BENCH_DEBUG"):
            import traceback
            traceback.print_exc()
        return None
    rec["rep"] = rep
    m.add(rec)
    extra = "; ".join(f"{k} {fmt_num(rec.get(k))}" for k, _ in m.details[:3]
                      if rec.get(k) is not None)
    say(f"{tag}: {fmt_num(rec.get(m.main))} {m.unit}" + (f" ({extra})" if extra else "") +
        f" [{time.monotonic() - t0:.0f} s]")
    return rec


###############################################################################
### processes: CPU and memory from /proc


def _stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()
    return {"ppid": int(rest[1]), "utime": int(rest[11]), "stime": int(rest[12]),
            "cutime": int(rest[13]), "cstime": int(rest[14])}


def proc_cpu_ms(pid):
    """CPU ms (user + system) a live process used so far."""
    f = _stat(pid)
    return (f["utime"] + f["stime"]) * 1000.0 / CLK_TCK


def tree_cpu_ms(root):
    """CPU ms of root, its live children and its reaped children (cutime/cstime)."""
    f = _stat(root)
    ticks = f["utime"] + f["stime"] + f["cutime"] + f["cstime"]
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            c = _stat(int(d))
        except (OSError, ValueError, IndexError):
            continue
        if c["ppid"] == root:
            ticks += c["utime"] + c["stime"]
    return ticks * 1000.0 / CLK_TCK


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def read_pid(name):
    """The pid of one of the stack's daemons (worker, fcgi, nginx) from its pid file."""
    try:
        with open(os.path.join(S.run_dir, f"{name}.pid")) as f:
            pid = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        raise BenchError(f"{name} is not running (no pid file)")
    if not os.path.exists(f"/proc/{pid}"):
        raise BenchError(f"{name} (pid {pid}) is not running")
    return pid


def postmaster_pid():
    with open(os.path.join(S.pgdata, "postmaster.pid")) as f:
        return int(f.readline())


def pg_cpu_ms():
    return tree_cpu_ms(postmaster_pid())


def children(root):
    n = 0
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                n += _stat(int(d))["ppid"] == root
            except (OSError, ValueError, IndexError):
                pass
    return n


def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


class CpuWindow:
    """CPU of PostgreSQL (and optional named daemons) and the machine's busy share over a
    window: with CpuWindow(["fcgi"]) as w: ...; w.per_1k(n)."""

    def __init__(self, daemons=()):
        self.daemons = list(daemons)

    def _snap(self):
        d = {"pg": pg_cpu_ms()}
        for name in self.daemons:
            pid = read_pid(name)
            d[name] = tree_cpu_ms(pid) if name == "nginx" else proc_cpu_ms(pid)
        return d, machine_busy(), time.monotonic()

    def __enter__(self):
        self.pm = postmaster_pid()
        self.backends = children(self.pm)
        self.a = self._snap()
        return self

    def __exit__(self, *exc):
        # the client's backends exit after it does: their CPU counts once the postmaster
        # has reaped them (cutime), so wait for them to be gone (at most 3 s)
        end = time.monotonic() + 3
        while children(self.pm) > self.backends and time.monotonic() < end:
            time.sleep(0.02)
        self.b = self._snap()
        return False

    def result(self, n):
        (da, ma, ta), (db, mb, tb) = self.a, self.b
        out = {}
        for k in da:
            out[f"{k}_cpu_ms_per_1k"] = (db[k] - da[k]) * 1000.0 / n if n else None
        busy, total = mb[0] - ma[0], mb[1] - ma[1]
        out["machine_busy_pct"] = 100.0 * busy / total if total else None
        return out


###############################################################################
### commands


def as_stack_user(argv):
    """argv run as the stack's user when we are root (the daemons' and the cluster's owner)."""
    if os.geteuid() == 0:
        return ["setpriv", f"--reuid={S.stack_user}", f"--regid={S.stack_user}",
                "--init-groups", "--"] + argv
    return argv


def run(argv, timeout, env=None, check=True, cwd=None):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                           cwd=cwd or S.var, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{os.path.basename(argv[0])} timed out after {timeout} s")
    if check and p.returncode != 0:
        tail = (p.stderr.strip() or p.stdout.strip()).splitlines()[-3:]
        raise BenchError(f"{' '.join(os.path.basename(a) for a in argv[:3])} exited "
                         f"{p.returncode}: {' | '.join(tail)}")
    return p


def dev_env(**extra):
    env = dict(os.environ)
    env.pop("TASKQ_DATABASE_URL", None)
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def daemon(action, name, **env):
    """`./dev daemon ACTION NAME` on the bench stack, with extra TASKQ_* settings."""
    run([S.dev, "daemon", action, name], timeout=60, env=dev_env(**env), cwd=S.top)


def worker(concurrency):
    """(Re)start the worker with this concurrency; None stops it."""
    daemon("stop", "worker")
    if concurrency:
        daemon("start", "worker", TASKQ_CONCURRENCY=concurrency)
        return read_pid("worker")
    return None


def fcgi(threads=None):
    daemon("restart", "fcgi", TASKQ_FCGI_THREADS=threads)
    return read_pid("fcgi")


###############################################################################
### SQL


def connect(dbname=None):
    c = psycopg2.connect(S.conninfo, **({"dbname": dbname} if dbname else {}))
    c.autocommit = True
    return c


def sql(q, args=None, dbname=None, conn=None):
    """Run q (autocommit); the rows when it returns any."""
    c = conn or connect(dbname)
    try:
        with c.cursor() as cur:
            cur.execute(q, args)
            return cur.fetchall() if cur.description else None
    finally:
        if conn is None:
            c.close()


def scalar(q, args=None, dbname=None, conn=None):
    rows = sql(q, args, dbname, conn)
    return rows[0][0] if rows else None


def ensure_db(name):
    if not scalar("SELECT 1 FROM pg_database WHERE datname = %s", (name,)):
        sql(f'CREATE DATABASE "{name}"')


def clear_tasks():
    """Empty taskq's tables of tasks (the worker must be stopped)."""
    sql("TRUNCATE taskq.tasks, taskq.task_events")
    sql("VACUUM ANALYZE taskq.tasks")


PAYLOAD_SQL = ("jsonb_build_object('kind', 'http', 'url', 'https://example.test/api/v1/items/'"
               " || lpad(g::text, 8, '0'), 'method', 'POST', 'n', g)")


def queue_noops(n):
    """n queued noop tasks in one INSERT … SELECT (no wake-up: workers stopped), vacuumed."""
    sql("INSERT INTO taskq.tasks (kind, payload) "
        f"SELECT 'noop', {PAYLOAD_SQL} FROM generate_series(1, %s) AS g", (n,))
    sql("VACUUM ANALYZE taskq.tasks")
    sql("CHECKPOINT")


def unfinished(conn):
    return scalar("SELECT EXISTS (SELECT 1 FROM taskq.tasks WHERE state = 'queued') "
                  "OR EXISTS (SELECT 1 FROM taskq.tasks WHERE state = 'running')", conn=conn)


###############################################################################
### pgbench


def pgbench(db, clients, seconds, script=None, select=False, defines=None):
    """One pgbench run on the stack's cluster (unix socket, -M prepared, as the stack's user).
    Returns tps, average latency, transactions, failed and PostgreSQL CPU per 1k tx."""
    argv = [os.path.join(S.pgbin, "pgbench"), "-n", "-M", "prepared", "-c", str(clients),
            "-j", str(min(clients, 2)), "-T", str(seconds), "-h", S.run_dir, "-p", "5432",
            "-U", "taskq"]
    for k, v in (defines or {}).items():
        argv += ["-D", f"{k}={v}"]
    argv += ["-S"] if select else ["-f", script]
    argv.append(db)
    with CpuWindow() as w:
        p = run(as_stack_user(argv), timeout=seconds + 120, check=False)
    out = p.stdout + "\n" + p.stderr
    if p.returncode != 0:
        tail = [l for l in out.strip().splitlines() if l.strip()][-2:]
        raise BenchError(f"pgbench exited {p.returncode}: {' | '.join(tail)}")

    def num(pat):
        m = re.search(pat, out)
        return float(m.group(1)) if m else None

    res = {"tps": num(r"tps = ([\d.]+) \(without initial connection time\)"),
           "latency_avg_ms": num(r"latency average = ([\d.]+) ms"),
           "transactions": num(r"number of transactions actually processed: (\d+)"),
           "failed": num(r"number of failed transactions: (\d+)") or 0}
    if res["tps"] is None:
        raise BenchError("no tps in pgbench's output")
    res.update(w.result(res["transactions"]))
    return res


###############################################################################
### wrk and HTTP

LUA = os.path.join(HERE, "taskq.lua")


def wrk(path, conns, seconds, mode, **lua_env):
    """wrk against the stack's nginx with tests/bench/taskq.lua (mode submit or poll).
    Returns req/s, p50/p90/p99/max/mean latency (ms), non-2xx/3xx and socket errors."""
    argv = ["wrk", "-t", str(min(conns, 2)), "-c", str(conns), "-d", f"{seconds}s",
            "--timeout", "10s", "-s", LUA, f"{S.url}{path}"]
    env = dict(os.environ, BENCH_MODE=mode, **{k: str(v) for k, v in lua_env.items()})
    if os.environ.get("TASKQ_TOKEN"):
        env["BENCH_TOKEN"] = os.environ["TASKQ_TOKEN"]  # the stack runs with auth on
    p = run(argv, timeout=seconds + 60, env=env, check=False)
    m = re.search(r"^BENCH (\{.*\})$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        tail = (p.stderr.strip() or p.stdout.strip()).splitlines()[-2:]
        raise BenchError(f"wrk exited {p.returncode}: {' | '.join(tail)}")
    d = json.loads(m.group(1))
    secs = d["duration_us"] / 1e6
    return {"rps": d["requests"] / secs if secs else 0, "requests": d["requests"],
            "p50_ms": d["p50_us"] / 1000, "p90_ms": d["p90_us"] / 1000,
            "p99_ms": d["p99_us"] / 1000, "max_ms": d["max_us"] / 1000,
            "mean_ms": d["mean_us"] / 1000, "non2xx": d["status"],
            "socket_errors": d["connect"] + d["read"] + d["write"] + d["timeout"]}


class Http:
    """A keep-alive HTTP/1.1 connection to the stack's nginx."""

    def __init__(self):
        self.c = http.client.HTTPConnection("127.0.0.1", S.port, timeout=10)

    def req(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if os.environ.get("TASKQ_TOKEN"):
            h["Authorization"] = "Bearer " + os.environ["TASKQ_TOKEN"]
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                self.c.request(method, path, body=data, headers=h)
                r = self.c.getresponse()
                raw = r.read()
                return r.status, dict(r.getheaders()), raw
            except (http.client.HTTPException, ConnectionError):
                self.c.close()
                if attempt == 2:
                    raise

    def submit(self, kind="noop", payload=None):
        st, h, raw = self.req("POST", "/api/tasks", {"kind": kind, "payload": payload or {}})
        if st != 202:
            raise BenchError(f"submit answered {st}: {raw[:200]!r}")
        return json.loads(raw)["id"]

    def close(self):
        self.c.close()


def payload(i):
    return {"kind": "http", "url": f"https://example.test/api/v1/items/{i:08d}",
            "method": "POST", "n": i}


def wait_for(check, timeout, every=0.05, what="condition"):
    end = time.monotonic() + timeout
    while True:
        if check():
            return
        if time.monotonic() > end:
            raise BenchError(f"{what} not reached within {timeout} s")
        time.sleep(every)


def percentile(values, p):
    """Nearest-rank percentile, as the peers' harness computes it."""
    s = sorted(values)
    if not s:
        return None
    rank = max(1, min(len(s), -(-p * len(s) // 100)))
    return s[int(rank) - 1]


def log(*a):
    print(*a, file=sys.stderr, flush=True)
