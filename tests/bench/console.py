"""The console group of ./dev bench (ONLY=console; not in the default set): the console's reads
with CONSOLE_N finished tasks in the table (10,000,000; QUICK=1: 1,000,000), made by one
INSERT … SELECT generate_series over the last 7 days in 8 queues, and what the per-minute
rollup costs the drain.

  console.list     GET /api/tasks: the newest page, a deep keyset page (before = a random id),
                   a state's page and a queue's page, in turn                  ms p99
  console.payload  GET /api/tasks?queue=Q&created_after=T&created_before=T+1h&payload={"user":U}
                   (a random queue, hour and user)                              ms p99
  console.charts   GET /api/queues/{Q}/series?range=1h and 1d, in turn           ms p99
  console.drain    CONSOLE_DRAIN_N (200,000) queued noop tasks drained at the stack's
                   concurrency with the rollup chore on (--rollup-days 7) and off (0),
                   interleaved; overhead_pct = 1 − on/off                       tasks/s

The drains run first (they empty the table); the reads after, on the generated rows, each
CONSOLE_REQUESTS (300) times over one keep-alive connection. The rollup's rows for the charts
are generated too (8 queues × 7 days of minutes), as a week of the chore would leave them.
"""

import json
import os
import random
import time
import urllib.parse

import benchlib as B
from benchlib import R, S
import taskq_paths as T

QUEUES = 8
N = int(os.environ.get("CONSOLE_N", 1000000 if S.quick else 10000000))
DRAIN_N = int(os.environ.get("CONSOLE_DRAIN_N", 50000 if S.quick else 200000))
REQUESTS = int(os.environ.get("CONSOLE_REQUESTS", 100 if S.quick else 300))
LAT = [("p50_ms", ""), ("max_ms", ""), ("requests", "")]


def define():
    R.get("console.list", "console", f"console: a page of GET /api/tasks, {N:,} finished tasks",
          1, "ms p99", main="p99_ms", higher_better=False, details=LAT)
    R.get("console.payload", "console", "console: payload search in a queue and an hour", 1,
          "ms p99", main="p99_ms", higher_better=False, details=LAT)
    R.get("console.charts", "console", "console: GET /api/queues/{q}/series (1h, 1d)", 1,
          "ms p99", main="p99_ms", higher_better=False, details=LAT)
    for mode in ("on", "off"):
        R.get(f"console.drain.{mode}", "console",
              f"console: drain {DRAIN_N:,} noop tasks, rollup chore {mode}", S.concurrency,
              "tasks/s", main="tasks_per_s", details=[("seconds", ""), ("pg_cpu_ms_per_1k", "")])
    R.get("console.rollup_cost", "console", "console: the rollup's cost to the drain", "",
          "% slower", main="overhead_pct", higher_better=False,
          details=[("cpu_share_pct", ""), ("call_ms", ""), ("rolled", "")])


def drain(days):
    os.environ["TASKQ_ROLLUP_DAYS"] = str(days)
    saved = S.drain_n
    S.drain_n = DRAIN_N
    try:
        return T.drain(S.concurrency)
    finally:
        S.drain_n = saved
        os.environ.pop("TASKQ_ROLLUP_DAYS", None)


def rollup_call():
    """One rollup call over the minutes of a drain just finished and DRAIN_N more tasks (all
    in its window), timed: (wall ms, PostgreSQL CPU ms, tasks rolled). Each finished task is
    rolled once, so its CPU per task against the drain's is the rollup's share of the work."""
    B.sql("INSERT INTO taskq.tasks (kind, state, started_at, finished_at) "
          "SELECT 'noop', 'succeeded', now() - interval '30 s', now() - interval '10 s' "
          "FROM generate_series(1, %s)", (DRAIN_N,))
    B.sql("UPDATE taskq.rollup_state SET rolled_to = date_trunc('minute', now()) - interval '2 minutes'")
    conn = B.connect()
    try:
        n = B.scalar("SELECT count(*) FROM taskq.tasks WHERE finished_at >= "
                     "date_trunc('minute', now()) - interval '2 minutes'", conn=conn)
        cpu, t = B.pg_cpu_ms(), time.monotonic()
        B.sql("SELECT taskq.rollup_minutes(7, true)", conn=conn)
        ms, cpu = (time.monotonic() - t) * 1000, B.pg_cpu_ms() - cpu
    finally:
        conn.close()
    return ms, cpu, n


def generate():
    """N finished tasks over the last 7 days (ids time-ordered like taskq.uuid_v7's), and the
    rollup rows a week of the chore leaves; one statement each."""
    B.worker(None)
    B.clear_tasks()
    t0 = time.monotonic()
    B.sql("SET maintenance_work_mem = '256MB'")
    B.sql(f"""
      INSERT INTO taskq.tasks (id, kind, queue, payload, state, progress, attempts, max_attempts,
                               run_at, created_at, started_at, finished_at, updated_at, owner,
                               error)
      SELECT (left(taskq.uuid_at(c)::text, 13) || substr(gen_random_uuid()::text, 14))::uuid,
             'noop', 'q' || (g %% {QUEUES}), jsonb_build_object('user', g %% 100000, 'n', g),
             s, 100, 1, 3, c, c, c + interval '20 ms', c + interval '70 ms',
             c + interval '70 ms', 'bench', CASE WHEN s = 'failed' THEN 'boom' END
        FROM generate_series(1, %s) AS g,
             LATERAL (SELECT now() - (%s - g) * interval '7 days' / %s AS c) t,
             LATERAL (SELECT (CASE WHEN g %% 50 = 0 THEN 'failed' WHEN g %% 97 = 0 THEN 'cancelled'
                                   ELSE 'succeeded' END)::taskq.state AS s) st""", (N, N, N))
    B.sql("TRUNCATE taskq.queue_minutes")
    B.sql(f"""
      INSERT INTO taskq.queue_minutes (queue, minute, started, succeeded, failed, cancelled,
                                       queued, wait_p50_ms, wait_p95_ms, run_p50_ms, run_p95_ms)
      SELECT 'q' || q, m, 180, 170, 4, 2, 20 + q, 12, 80, 50, 140
        FROM generate_series(0, {QUEUES - 1}) q,
             generate_series(date_trunc('minute', now()) - interval '7 days',
                             date_trunc('minute', now()), interval '1 minute') m""")
    B.sql("VACUUM ANALYZE taskq.tasks")
    B.sql("VACUUM ANALYZE taskq.queue_minutes")
    B.sql("CHECKPOINT")
    B.say(f"console: {N:,} finished tasks generated in {time.monotonic() - t0:.0f} s")
    B.worker(S.concurrency)


def timed(paths):
    """Each path of the iterator in turn over one connection: p50/p99/max in ms."""
    h = B.Http()
    ms = []
    try:
        for i, p in enumerate(paths):
            t = time.monotonic()
            st, _, raw = h.req("GET", p)
            d = (time.monotonic() - t) * 1000
            if st != 200:
                raise B.BenchError(f"GET {p} answered {st}: {raw[:200]!r}")
            if i >= 5:  # the first ones prepare the statements
                ms.append(d)
    finally:
        h.close()
    return {"p50_ms": B.percentile(ms, 50), "p99_ms": B.percentile(ms, 99), "max_ms": max(ms),
            "requests": len(ms)}


def random_ids(k):
    return [r[0] for r in B.sql("SELECT id::text FROM taskq.tasks TABLESAMPLE SYSTEM (0.1) LIMIT %s",
                                (k,))]


def list_paths():
    ids = random_ids(REQUESTS)
    for i in range(REQUESTS + 5):
        kind = i % 4
        if kind == 0:
            yield "/api/tasks?limit=50"
        elif kind == 1:
            yield "/api/tasks?limit=50&before=" + ids[i % len(ids)]
        elif kind == 2:
            yield "/api/tasks?limit=50&state=failed&before=" + ids[i % len(ids)]
        else:
            yield f"/api/tasks?limit=50&queue=q{i % QUEUES}&before=" + ids[i % len(ids)]


def payload_paths():
    now = time.time()
    rnd = random.Random(7)
    for _ in range(REQUESTS + 5):
        start = now - rnd.uniform(3600, 7 * 86400)
        q = {"queue": f"q{rnd.randrange(QUEUES)}",
             "created_after": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start)),
             "created_before": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + 3600)),
             "payload": json.dumps({"user": rnd.randrange(100000)}), "limit": "50"}
        yield "/api/tasks?" + urllib.parse.urlencode(q)


def chart_paths():
    for i in range(REQUESTS + 5):
        yield f"/api/queues/q{i % QUEUES}/series?range=" + ("1h" if i % 2 else "1d")


def run_console(rep):
    """All reps in the first call: the drains empty the table the reads need."""
    if rep != 1:
        return
    try:
        for r in range(1, S.reps + 1):
            # interleaved, each first in turn: the machine's drift falls on both
            order = [("on", 7), ("off", 0)] if r % 2 else [("off", 0), ("on", 7)]
            got = {mode: B.measure(R.rows[f"console.drain.{mode}"], r, drain, days)
                   for mode, days in order}
            if got["on"] and got["off"]:
                B.worker(None)
                ms, cpu, n = rollup_call()
                B.clear_tasks()
                B.measure(R.rows["console.rollup_cost"], r, lambda: {
                    "overhead_pct": 100.0 * (1 - got["on"]["tasks_per_s"] / got["off"]["tasks_per_s"]),
                    "call_ms": ms, "rolled": n,
                    "cpu_share_pct": 100.0 * (cpu * 1000 / n) / got["off"]["cpu_ms_per_1k"]})
        generate()
        for r in range(1, S.reps + 1):
            B.measure(R.rows["console.list"], r, timed, list_paths())
            B.measure(R.rows["console.payload"], r, timed, payload_paths())
            B.measure(R.rows["console.charts"], r, timed, chart_paths())
    finally:
        T.restore()
