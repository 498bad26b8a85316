"""Issue 13 item 6: submit, claim and status with 1M and 10M finished rows in the table.

The finished rows are what retention keeps (a week of a busy queue): they sit in a queue of
their own, finished an hour ago (inside --retention-h, so prune leaves them), with every index
taskq has. At each size: submit @16 through nginx (worker stopped), the drain of 10,000 noop
tasks at concurrency 8, and GET /api/tasks/{id} @16 over finished rows; each a median of three
short runs. The table gives each size's figure and its ratio to the empty table's (issue:
flat within 10%). Runs in the first rep only (filling 10M rows takes minutes); QUICK=1 stops
at 1M.
"""

import time

import benchlib as B
from benchlib import R, S, BenchError

SIZES = (0, 1_000_000, 10_000_000)
QUICK_SIZES = (0, 100_000, 1_000_000)
FILL_CHUNK = 1_000_000
DRAIN_N = 10_000
RUNS = 3


def sizes():
    return QUICK_SIZES if S.quick else SIZES


def label(n):
    return "empty" if n == 0 else (f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k")


def define():
    for n in sizes():
        for what, unit, title in (("submit", "req/s", "submit POST /api/tasks (wrk)"),
                                  ("drain", "tasks/s", f"drain {DRAIN_N:,} noop tasks"),
                                  ("status", "req/s", "status GET /api/tasks/{id} (wrk)")):
            R.get(f"scale.{what}.{label(n)}", "scale",
                  f"{title}, {label(n)} finished rows", 16 if what != "drain" else 8, unit,
                  main="value", details=[("runs", ""), ("spread_pct", "")])


def filled():
    return B.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = 'bench-finished'")


def fill(target):
    """Finished rows in queue bench-finished up to target, in chunks, then vacuumed."""
    have = filled()
    while have < target:
        n = min(FILL_CHUNK, target - have)
        t0 = time.monotonic()
        B.sql("INSERT INTO taskq.tasks (kind, payload, queue, state, progress, attempts, result,"
              " run_at, created_at, started_at, finished_at, updated_at, version) "
              f"SELECT 'noop', {B.PAYLOAD_SQL}, 'bench-finished', 'succeeded', 100, 1, '{{}}',"
              " now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour',"
              " now() - interval '1 hour', now() - interval '1 hour', 3"
              " FROM generate_series(%s, %s) AS g", (have + 1, have + n))
        have += n
        B.say(f"  scale: {have:,} finished rows ({time.monotonic() - t0:.0f} s for {n:,})")
    B.sql("VACUUM ANALYZE taskq.tasks")
    B.sql("CHECKPOINT")


def clear_work():
    """Everything but the finished rows (the worker must be stopped)."""
    B.sql("DELETE FROM taskq.task_events e USING taskq.tasks t"
          " WHERE e.task_id = t.id AND t.queue <> 'bench-finished'")
    B.sql("DELETE FROM taskq.tasks WHERE queue <> 'bench-finished'")
    B.sql("VACUUM ANALYZE taskq.tasks")
    B.sql("CHECKPOINT")


def submit_once():
    B.worker(None)
    clear_work()
    r = B.wrk("/api/tasks", 16, S.wrk_s, "submit")
    if r.get("non2xx"):
        raise BenchError(f"{r['non2xx']} submits did not answer 202")
    return r["rps"]


def drain_once():
    B.worker(None)
    clear_work()
    B.queue_noops(DRAIN_N)
    conn = B.connect()
    try:
        B.worker(8)
        B.wait_for(lambda: not B.unfinished(conn), 300, 0.05, "an empty queue")
        window = B.sql("SELECT extract(epoch FROM max(finished_at) - min(started_at))"
                       " FROM taskq.tasks WHERE queue <> 'bench-finished'", conn=conn)[0][0]
    finally:
        conn.close()
        B.worker(None)
    return DRAIN_N / float(window)


def status_once(ids):
    return B.wrk("/", 16, S.wrk_s, "poll", BENCH_IDS=ids)["rps"]


def finished_targets(n=8):
    rows = B.sql("SELECT id::text, version FROM taskq.tasks WHERE queue = 'bench-finished'"
                 " ORDER BY id DESC LIMIT %s", (n,))
    return ",".join(f"{i}={v}" for i, v in rows)


def median_of(fn, *args):
    fn(*args)  # a warm-up run
    v = [fn(*args) for _ in range(RUNS)]
    m = B.median(v)
    return {"value": m, "runs": len(v),
            "spread_pct": 100.0 * (max(v) - min(v)) / m if m else None}


def at_size(n):
    fill(n)
    B.measure(R.rows[f"scale.submit.{label(n)}"], 1, median_of, submit_once)
    B.measure(R.rows[f"scale.drain.{label(n)}"], 1, median_of, drain_once)
    if n > 0:
        ids = finished_targets()
    else:  # nothing finished yet: a few of its own
        B.worker(8)
        h = B.Http()
        ids = [h.submit("noop", B.payload(i)) for i in range(8)]
        B.wait_for(lambda: B.scalar("SELECT count(*) FROM taskq.tasks WHERE id = ANY(%s::uuid[])"
                                    " AND state = 'succeeded'", (ids,)) == 8, 30, 0.05, "8 done")
        ids = ",".join(f"{i}={B.scalar('SELECT version FROM taskq.tasks WHERE id = %s', (i,))}"
                       for i in ids)
        B.worker(None)
    B.measure(R.rows[f"scale.status.{label(n)}"], 1, median_of, status_once, ids)


def run_scale(rep):
    if rep != 1:
        return
    try:
        B.worker(None)
        B.clear_tasks()
        for n in sizes():
            at_size(n)
    finally:
        B.worker(None)
        B.clear_tasks()
        B.worker(S.concurrency)
