"""Fault-test helpers for the integration suite: extra worker daemons (start, kill -9, stop),
stopping and starting the stack's own daemons (stop_daemon, start_daemon), counting every
task by id in SQL (Tally, events_of, run-twice checks, overlaps), waiting for
final states and sampling over time. Re-exported by taskq_harness."""

import collections
import datetime
import os
import re
import signal
import subprocess
import threading
import time

import itertools

from taskq_harness import ENV, FINAL_STATES, Db, db, dev, wait_until

_worker_seq = itertools.count(1)


def show(p):
    """A finished command (a CompletedProcess with text output) in one line: its exit status
    and the tails of its output."""
    return "exit %d; stdout %r; stderr %r" % (p.returncode, p.stdout[-500:], p.stderr[-500:])


def stop_daemon(name):
    """`$TASKQ_DEV daemon stop NAME` (postgres, worker, fcgi or nginx) of the stack; raises
    AssertionError when it fails."""
    p = dev("daemon", "stop", name)
    if p.returncode != 0:
        raise AssertionError("dev daemon stop %s: %s" % (name, show(p)))


def start_daemon(name):
    """`$TASKQ_DEV daemon start NAME`; returns None, or what went wrong: it never raises, so
    that a finally block that starts the daemon again does not hide the test's own failure."""
    try:
        p = dev("daemon", "start", name)
    except Exception as e:
        return "dev daemon start %s raised %s: %s" % (name, type(e).__name__, e)
    return None if p.returncode == 0 else "dev daemon start %s: %s" % (name, show(p))

class WorkerProc:
    """An extra taskq-worker daemon a test starts, kills, stops and restarts.

    It runs $TASKQ_BUILD/taskq-worker (the ASan build under ./dev test) on the stack's database,
    in its own session, output to $TASKQ_VAR/log/worker-NAME-N.log (one file per start, so the
    sanitizer scan of ./dev test covers it). TaskqTestCase.start_worker() makes one that
    tearDown stops; used alone, call stop() in a finally block.
    """

    def __init__(self, queues, name="extra", lease=3, concurrency=8, grace=None, args=(),
                 env=None):
        self.queues, self.name = queues, re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        self.lease, self.concurrency, self.grace = lease, concurrency, grace
        self.args, self.env = list(args), env
        self.proc = None
        self.log_path = None
        self.starts = 0
        self._id = None

    def command(self):
        cmd = [os.path.join(ENV.build, "taskq-worker"), "--db", ENV.db, "--queues", self.queues,
               "--concurrency", str(self.concurrency)]
        if self.lease is not None:
            cmd += ["--lease", str(self.lease)]
        if self.grace is not None:
            cmd += ["--grace", str(self.grace)]
        return cmd + self.args

    def start(self):
        """Start (again); the previous incarnation must have exited."""
        if self.alive:
            raise AssertionError("worker %s already runs (pid %d)" % (self.name, self.pid))
        self.starts += 1
        self._id = None
        self.log_path = os.path.join(ENV.var, "log", "worker-%s-%d.log" % (
            self.name, next(_worker_seq)))
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        # a reused TASKQ_VAR may hold an earlier run's file of the same name: read past it
        self._log_from = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=ENV.var, start_new_session=True, env=dict(os.environ, **(self.env or {})))
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self):
        return self.proc.poll() if self.proc else None

    def log_tail(self, n=15):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except (OSError, TypeError):
            return ""
        return " | ".join(lines[-n:])

    def worker_id(self, timeout=15):
        """This incarnation's id (= taskq.workers.id = tasks.worker_id): its row in
        taskq.workers by pid, else `worker=` of its `event=started` log line. Waits for it."""
        if self._id:
            return self._id
        pid = self.pid

        def find():
            if not self.alive:
                raise AssertionError("worker %s (pid %s) exited with %s at start: %s" % (
                    self.name, pid, self.returncode, self.log_tail()))
            try:
                wid = db().scalar("SELECT id FROM taskq.workers WHERE pid = %s "
                                  "ORDER BY started_at DESC LIMIT 1", (pid,))
                if wid:
                    return wid
            except Exception:
                pass  # no fleet table (yet): the log says it too
            try:
                with open(self.log_path, "rb") as f:
                    f.seek(getattr(self, "_log_from", 0))
                    m = re.search(rb"event=started\b.*?\bworker=(\S+)", f.read())
                return m.group(1).decode() if m else None
            except OSError:
                return None
        self._id = wait_until(find, timeout=timeout, interval=0.05,
                              what="worker %s (pid %s) started" % (self.name, pid))
        return self._id

    def kill(self):
        """SIGKILL; returns the (UTC, aware) time of the kill once the process is gone."""
        at = datetime.datetime.now(datetime.timezone.utc)
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        return at

    def terminate(self, timeout=15.0):
        """SIGTERM and wait; returns (exit status, seconds it took). On timeout SIGKILL and
        AssertionError."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError("worker %s did not exit within %.0fs of SIGTERM: %s" % (
                self.name, timeout, self.log_tail()))
        return rc, time.monotonic() - t0

    def stop(self, timeout=15.0):
        """Quietly: SIGTERM, SIGKILL after timeout. Never raises."""
        if not self.alive:
            return
        try:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        except OSError:
            pass


def cancel_queues(queues):
    """taskq.cancel() every unfinished task of these queues; returns how many."""
    return db().scalar("SELECT count(taskq.cancel(id)) FROM taskq.tasks "
                       "WHERE queue = ANY(%s) AND state IN ('queued', 'running')", (list(queues),))


# -- counting tasks and their events (fault tests) ---------------------------------------------

# events that end a run that a `claimed` event started
ENDS_RUN = ("succeeded", "retry", "failed", "cancelled", "released", "rescued", "deferred")
FINAL_EVENTS = ("succeeded", "failed", "cancelled")


def events_of(ids, dbh=None):
    """{task id: [event rows, in order]} from taskq.task_history (ids without events: [])."""
    out = {str(i): [] for i in ids}
    for e in (dbh or db()).query(
            "SELECT id, task_id::text AS task_id, at, event, attempt, worker_id, detail "
            "FROM taskq.task_history WHERE task_id = ANY(%s::uuid[]) ORDER BY task_id, n",
            (list(ids),)):
        out.setdefault(e["task_id"], []).append(e)
    return out


def _ts(t):
    return t.timestamp() if t is not None else float("inf")


def claim_intervals(evs):
    """[(start, end, worker_id, attempt)] of one task's `claimed` events, times as epoch floats;
    a run lasts until the next event that ends it (ENDS_RUN), end = inf while it runs."""
    out = []
    for i, e in enumerate(evs):
        if e["event"] == "claimed":
            end = next((x["at"] for x in evs[i + 1:] if x["event"] in ENDS_RUN), None)
            out.append((_ts(e["at"]), _ts(end), e["worker_id"], e["attempt"]))
    return out


def run_twice_reason(evs):
    """Why these events (of one task) show it ran twice, or None: more than one `succeeded`,
    a `claimed` with no end of the previous run before it, or overlapping runs."""
    n = sum(1 for e in evs if e["event"] == "succeeded")
    if n > 1:
        return "%d succeeded events" % n
    held = None
    for e in evs:
        if e["event"] == "claimed":
            if held is not None:
                return "claimed by %s (attempt %s) while %s still held it" % (
                    e["worker_id"], e["attempt"], held)
            held = e["worker_id"]
        elif e["event"] in ENDS_RUN:
            held = None
    iv = claim_intervals(evs)
    for i in range(len(iv)):
        for j in range(i + 1, len(iv)):
            if iv[i][0] < iv[j][1] and iv[j][0] < iv[i][1]:
                return "runs %s and %s overlap" % (iv[i][2:], iv[j][2:])
    return None


def max_overlap(intervals, slack=0.0):
    """Most intervals (start, end) open at one instant, each shortened by slack at its start
    (timestamps taken at transaction start can make back-to-back runs touch by a few ms)."""
    pts = []
    for s, e in intervals:
        s += slack
        if s < e:
            pts.append((s, 1))
            pts.append((e, -1))
    pts.sort(key=lambda p: (p[0], p[1]))  # an end before a start at the same instant
    cur = best = 0
    for _, d in pts:
        cur += d
        best = max(best, cur)
    return best


class Tally:
    """What became of a set of task ids, counted in SQL: rows, states and events."""

    def __init__(self, ids, dbh=None):
        dbh = dbh or db()
        self.ids = [str(i) for i in ids]
        rows = dbh.query("SELECT id::text AS id, state::text AS state, attempts, worker_id, "
                         "error FROM taskq.tasks WHERE id = ANY(%s::uuid[])", (self.ids,))
        self.rows = {r["id"]: r for r in rows}
        self.submitted = len(self.ids)
        self.lost_ids = [i for i in self.ids if i not in self.rows]
        self.states = collections.Counter(r["state"] for r in rows)
        self.unfinished = sum(1 for r in rows if r["state"] not in FINAL_STATES)
        try:
            self.events = events_of(self.ids, dbh)
        except Exception as e:  # no events table (yet)
            self.events, self.events_error = None, str(e).strip().splitlines()[0]
        self.twice = {}
        self.succeeded_events = collections.Counter()
        if self.events is not None:
            for tid, evs in self.events.items():
                why = run_twice_reason(evs)
                if why:
                    self.twice[tid] = why
                self.succeeded_events[tid] = sum(1 for e in evs if e["event"] == "succeeded")

    @property
    def lost(self):
        return len(self.lost_ids)

    @property
    def run_twice(self):
        return len(self.twice) if self.events is not None else None

    def not_once_succeeded(self):
        """Ids that did not end succeeded with exactly one `succeeded` event."""
        return [i for i in self.ids if i in self.rows and (
            self.rows[i]["state"] != "succeeded" or
            (self.events is not None and self.succeeded_events[i] != 1))]

    def figures(self):
        return "%d submitted, %d lost, %s run twice" % (
            self.submitted, self.lost,
            "?" if self.run_twice is None else self.run_twice)

    def __str__(self):
        s = "%s; states %s" % (self.figures(), dict(self.states))
        if self.unfinished:
            s += ", %d unfinished" % self.unfinished
        if self.lost_ids:
            s += "; lost e.g. %s" % self.lost_ids[:3]
        if self.twice:
            s += "; twice e.g. %s" % list(self.twice.items())[:2]
        bad = [i for i in self.ids if i in self.rows and self.rows[i]["state"] != "succeeded"]
        if bad:
            r = self.rows[bad[0]]
            s += "; e.g. %s %s attempts %s error %r" % (bad[0], r["state"], r["attempts"],
                                                      r["error"])
        if self.events is None:
            s += "; events: %s" % self.events_error
        return s


def wait_final(ids, timeout, dbh=None):
    """Wait until every id has a final state (or timeout); return a Tally either way."""
    dbh = dbh or db()
    ids = [str(i) for i in ids]
    deadline = time.monotonic() + timeout
    while True:
        n = dbh.scalar("SELECT count(*) FROM taskq.tasks WHERE id = ANY(%s::uuid[]) "
                       "AND state IN ('succeeded', 'failed', 'cancelled')", (ids,))
        if n == len(ids) or time.monotonic() >= deadline:
            return Tally(ids, dbh)
        time.sleep(0.1)


class Sampler(threading.Thread):
    """Runs one scalar query every interval on its own connection until stop(); keeps the
    values (errors are counted, not raised). Use as a context manager."""

    def __init__(self, sql, params=(), interval=0.02):
        super().__init__(daemon=True)
        self.sql, self.params, self.interval = sql, params, interval
        self.values, self.errors = [], 0
        self._stop_ev = threading.Event()

    def run(self):
        d = Db()
        try:
            while not self._stop_ev.is_set():
                try:
                    self.values.append(d.scalar(self.sql, self.params))
                except Exception:
                    self.errors += 1
                self._stop_ev.wait(self.interval)
        finally:
            d.close()

    def stop(self):
        self._stop_ev.set()
        self.join(10)
        return self

    @property
    def max(self):
        return max((v for v in self.values if v is not None), default=None)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
