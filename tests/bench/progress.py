"""The `progress` group: a progress-heavy drain by 1, 2 and 4 taskq-worker daemons on one
queue, and how fast each progress write reaches an SSE client meanwhile.

Tasks: kind sleep {"steps": 10, "step_ms": PROGRESS_STEP_MS}: ten progress writes each (the
last at 100%), then the completion. A worker writes a task's progress at most every 50 ms, so
steps of 50 ms or more keep all ten (the table says how many were written: the task's version
counts every change). Each daemon runs PROGRESS_CONCURRENCY executors; the tasks, queued with
one INSERT and vacuumed, number PROGRESS_SECONDS × daemons × the ideal rate (executors ÷ a
task's sleeping time), so every drain lasts about as long. The stack's worker is the first
daemon; the others (same binary, configuration file and database) are started and stopped
here, by their pids.

Throughput: the tasks between the 10%-th and the 90%-th finish over that time (ramp-up and
tail left out), also as a share of the ideal rate. SSE: PROGRESS_SUBSCRIBERS clients subscribe
through nginx + nchan (GET /api/tasks/{id}/events, Accept: text/event-stream) to tasks spread
through the queue before the drain starts; an event's latency is its arrival time minus the
updated_at it carries (the progress write's transaction time; one clock, one machine).
"""

import datetime
import os
import signal
import subprocess
import threading
import time

import benchlib as B
import taskq_paths as T
from benchlib import R, S, BenchError
from taskq_sse import SseStream  # tests/lib: bench.py puts it on the path

DAEMONS = [int(x) for x in os.environ.get("PROGRESS_DAEMONS", "1 2 4").split()]
CONC = B._int_env("PROGRESS_CONCURRENCY", 32)
STEPS = 10
STEP_MS = B._int_env("PROGRESS_STEP_MS", 50)
SECONDS = B._int_env("PROGRESS_SECONDS", 6 if S.quick else 20)
SUBSCRIBERS = B._int_env("PROGRESS_SUBSCRIBERS", 20)
FINAL = ("succeeded", "failed", "cancelled")


def ideal_rate(daemons):
    return daemons * CONC * 1000.0 / (STEPS * STEP_MS)


def define():
    for d in DAEMONS:
        R.get(f"progress.drain.{d}", "progress",
              f"progress-heavy drain: sleep {STEPS}×{STEP_MS} ms, {STEPS} progress writes a "
              f"task, {d} worker daemon{'s' if d > 1 else ''}", f"{d}×{CONC}", "tasks/s",
              main="tasks_per_s",
              details=[("of_ideal_pct", ""), ("progress_writes_per_task", ""),
                       ("tasks", ""), ("worker_cpu_ms_per_1k", ""), ("pg_cpu_ms_per_1k", ""),
                       ("machine_busy_pct", ""), ("share_min_pct", "")])
        R.get(f"progress.sse.{d}", "progress",
              f"progress write → SSE client (nginx + nchan), during that drain", f"{d}×{CONC}",
              "ms p50", main="p50_ms", higher_better=False,
              details=[("p99_ms", ""), ("max_ms", ""), ("events", "")])


###############################################################################
### worker daemons beside the stack's own


def start_extra(i):
    """One more taskq-worker as the stack's user, like `./dev daemon start worker`."""
    logf = open(os.path.join(S.log_dir, f"worker-bench{i}.log"), "ab")
    argv = B.as_stack_user([os.path.join(S.build, "taskq-worker"), "--config",
                            os.path.join(S.var, "etc", "taskq-worker.conf"), "--db",
                            S.conninfo, "--concurrency", str(CONC)])
    try:
        return subprocess.Popen(argv, cwd=S.var, env=B.dev_env(HOME=S.var),
                                stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        logf.close()


def stop_extra(procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)


###############################################################################
### SSE subscribers


def parse_time(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


class Subscriber(threading.Thread):
    """One SSE stream of one task (HTTP/1.0: the stream ends with the connection); the
    latency of each progress event, until the task's final state or the deadline."""

    def __init__(self, tid, deadline):
        super().__init__(daemon=True)
        self.deadline, self.lat, self.error = deadline, [], None
        path = f"/api/tasks/{tid}/events"
        auth = ""
        if os.environ.get("TASKQ_TOKEN"):
            auth = f"Authorization: Bearer {os.environ['TASKQ_TOKEN']}\r\n"
        try:
            self.stream = SseStream(("127.0.0.1", S.port), path, auth, timeout=10, host="bench")
        except ConnectionError:
            raise BenchError("an SSE stream closed before its headers") from None
        if self.stream.status != 200:
            self.stream.close()
            raise BenchError(f"GET {path} answered {self.stream.status}")

    def run(self):
        try:
            for _, d, at in self.stream.events(lambda d: d.get("state") in FINAL,
                                               self.deadline - time.time()):
                if d.get("state") == "running" and d.get("progress", 0) > 0:
                    self.lat.append((at - parse_time(d["updated_at"])) * 1000)
        except (OSError, ValueError) as e:
            self.error = str(e)
        finally:
            self.stream.close()


###############################################################################
### one drain


def queue_sleepers(n):
    B.sql("INSERT INTO taskq.tasks (kind, payload) SELECT 'sleep', "
          "jsonb_build_object('steps', %s, 'step_ms', %s, 'n', g) "
          "FROM generate_series(1, %s) AS g", (STEPS, STEP_MS, n))
    B.sql("VACUUM ANALYZE taskq.tasks")
    B.sql("CHECKPOINT")


def targets(n):
    step = max(1, n // (SUBSCRIBERS + 1))
    rows = B.sql("SELECT id::text FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn "
                 "FROM taskq.tasks) x WHERE rn %% %s = 0 ORDER BY rn LIMIT %s",
                 (step, SUBSCRIBERS))
    return [r[0] for r in rows]


def drain(d, box):
    """d daemons drain the progress-heavy tasks; SSE latencies go to box['sse']."""
    B.worker(None)
    B.clear_tasks()
    n = max(100, int(SECONDS * ideal_rate(d)))
    queue_sleepers(n)
    limit = n / (0.1 * ideal_rate(d)) + 120
    deadline = time.time() + limit
    subs = [Subscriber(tid, deadline) for tid in targets(n)]
    for s in subs:
        s.start()
    procs, conn = [], B.connect()
    try:
        pg0, busy0 = B.pg_cpu_ms(), B.machine_busy()
        pid = B.worker(CONC)
        procs = [start_extra(i) for i in range(1, d)]
        B.wait_for(lambda: not B.unfinished(conn), limit, 0.1, "an empty queue")
        pg1, busy1 = B.pg_cpu_ms(), B.machine_busy()
        wcpu = B.proc_cpu_ms(pid) + sum(B.proc_cpu_ms(p.pid) for p in procs
                                        if p.poll() is None)
        done, window, avg_version = B.sql(
            "SELECT count(*) FILTER (WHERE state = 'succeeded'), "
            "extract(epoch FROM max(finished_at) - min(started_at)), avg(version) "
            "FROM taskq.tasks", conn=conn)[0]
        lo, hi = max(1, n // 10), max(2, n * 9 // 10)
        t = dict(B.sql("SELECT rn, extract(epoch FROM f) FROM (SELECT finished_at AS f, "
                       "row_number() OVER (ORDER BY finished_at) AS rn FROM taskq.tasks) x "
                       "WHERE rn IN (%s, %s)", (lo, hi), conn=conn))
        shares = [r[0] for r in B.sql("SELECT count(*) FROM taskq.tasks GROUP BY worker_id",
                                      conn=conn)]
    finally:
        conn.close()
        stop_extra(procs)
        B.worker(None)
    for s in subs:
        s.join(max(0.1, deadline - time.time()))
    if done != n:
        raise BenchError(f"{done} of {n} tasks succeeded")
    mid = (hi - lo) / (float(t[hi]) - float(t[lo]))
    lat = [x for s in subs for x in s.lat]
    box["sse"] = ({"p50_ms": B.percentile(lat, 50), "p99_ms": B.percentile(lat, 99),
                   "max_ms": max(lat), "events": len(lat), "subscribers": len(subs)}
                  if lat else {"error": next((s.error for s in subs if s.error),
                                             "no progress events arrived")})
    busy = busy1[0] - busy0[0], busy1[1] - busy0[1]
    return {"tasks_per_s": mid, "first_to_last_tasks_per_s": n / float(window),
            "of_ideal_pct": 100.0 * mid / ideal_rate(d), "tasks": n, "seconds": float(window),
            "progress_writes_per_task": float(avg_version) - 3,  # insert, claim, complete
            "worker_cpu_ms_per_1k": wcpu * 1000 / n, "pg_cpu_ms_per_1k": (pg1 - pg0) * 1000 / n,
            "machine_busy_pct": 100.0 * busy[0] / busy[1] if busy[1] else None,
            "daemons_seen": len(shares),
            "share_min_pct": 100.0 * min(shares) * len(shares) / n if shares else None}


def run_progress(rep):
    try:
        for d in DAEMONS:
            box = {}
            if B.measure(R.rows[f"progress.drain.{d}"], rep, drain, d, box) and "p50_ms" in \
                    box.get("sse", {}):
                rec = dict(box["sse"], rep=rep)
                R.rows[f"progress.sse.{d}"].add(rec)
                B.say(f"[rep {rep}/{S.reps}] {R.rows[f'progress.sse.{d}'].label} @{d}: "
                      f"p50 {B.fmt_num(rec['p50_ms'])} ms, p99 {B.fmt_num(rec['p99_ms'])} ms "
                      f"({rec['events']} events)")
            else:
                why = box.get("sse", {}).get("error", "the drain failed")
                R.rows[f"progress.sse.{d}"].fail(f"rep {rep}: {why}")
    finally:
        T.restore()
