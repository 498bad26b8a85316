"""The `writes` group: what each verb of the hot path writes per task, the figures a redesign
of it is judged by. Per completed noop task, in three phases on an empty table:

  submit   POST /api/tasks with wrk @16 for WRK_SECONDS, the worker stopped (N tasks)
  drain    the worker (TASKQ_CONCURRENCY) started on those N tasks: claim + complete
  batch    the same N as taskq.submit_many() calls of 1,000 (worker stopped)

each with WAL bytes (LSN delta), WAL records and full-page-image bytes, heap rows inserted /
updated / HOT-updated / deleted in schema taskq (pg_stat_user_tables), index entries written
(pg_waldump: B-tree leaf inserts; also the upper bound (inserts + non-HOT updates) × indexes),
commits, row locks, and PostgreSQL CPU per 1,000 tasks (walstat.py); and the same N jobs
through Graphile Worker on the same cluster: addJob() from 8 callers, then a drain at the same
concurrency (gwpeer.py). A section after the table splits the figures by relation.
"""

import json
import time

import benchlib as B
import gwpeer
import taskq_paths as T
import walstat as W
from benchlib import R, S, BenchError

CHUNK = 1000  # tasks per submit_many() call
GW_CALLERS = 8
WRITES_N = B._int_env("WRITES_N", 5000 if S.quick else 20000)  # tasks per phase (about)
SUMMED = ("wal_bytes_per_task", "records_per_task", "fpi_bytes_per_task", "rec_bytes_per_task",
          "heap_ins_per_task", "heap_upd_per_task", "heap_hot_per_task", "heap_del_per_task",
          "idx_per_task", "idx_bound_per_task", "commits_per_task", "locks_per_task",
          "pg_cpu_ms_per_1k", "worker_cpu_ms_per_1k", "fcgi_cpu_ms_per_1k",
          "nginx_cpu_ms_per_1k", "node_cpu_ms_per_1k")
PHASES = [("writes.submit.http", "submit (HTTP @16)"), ("writes.drain", "claim + complete"),
          ("writes.submit.batch", "submit_many × 1,000"),
          ("writes.gw.enqueue", "GW addJob"), ("writes.gw.drain", "GW drain")]


def define():
    det = [("records_per_task", ""), ("fpi_bytes_per_task", ""), ("heap_ins_per_task", ""),
           ("heap_upd_per_task", ""), ("heap_hot_per_task", ""), ("heap_del_per_task", ""),
           ("idx_per_task", ""), ("idx_bound_per_task", ""), ("commits_per_task", ""),
           ("locks_per_task", ""), ("pg_cpu_ms_per_1k", ""), ("tasks", "")]
    c = S.concurrency
    for key, label, conc in (
            ("writes.submit.http", "writes per task: submit, POST /api/tasks (wrk)", 16),
            ("writes.drain", "writes per task: claim + complete (drain of those tasks)", c),
            ("writes.total", "writes per task: submit + claim + complete", ""),
            ("writes.submit.batch", f"writes per task: taskq.submit_many(), {CHUNK:,} a call", 1),
            ("writes.gw.enqueue", "Graphile Worker: addJob() per job", GW_CALLERS),
            ("writes.gw.drain", "Graphile Worker: drain per job (default config)", c),
            ("writes.gw.total", "Graphile Worker: enqueue + drain per job", "")):
        extra = [("node_cpu_ms_per_1k", "")] if ".gw." in key else []
        R.get(key, "writes", label, conc, "WAL B/task", main="wal_bytes_per_task",
              higher_better=False, details=det + extra)
    R.sections.append(section)


###############################################################################
### taskq's phases


def warm():
    """Connections, prepared statements and the counters' rows as in a running stack; the
    submit rate, to size the measured run. Every backend that wrote has ended by the return,
    so no late counters land in a window (an idle backend reports them up to 10 s later)."""
    B.worker(None)
    B.clear_tasks()
    rps = B.wrk("/api/tasks", 16, S.warmup_s, "submit")["rps"]
    B.worker(S.concurrency)
    T.drain_until_empty(300)
    B.worker(None)
    B.fcgi()
    B.clear_tasks()
    return rps


def submit_http(rps):
    """POST /api/tasks @16 for as long as WRITES_N submits take at the warm-up's rate."""
    secs = min(120, max(S.wrk_s, round(1.1 * WRITES_N / max(rps, 1.0))))
    B.clear_tasks()
    with W.Window(daemons=["fcgi", "nginx"]) as w:
        r = B.wrk("/api/tasks", 16, secs, "submit")
    B.fcgi()  # its backends end: their counters reach pg_stat_user_tables now
    w.close()
    if r.get("non2xx") or r.get("socket_errors"):
        raise BenchError(f"{r['non2xx']} non-202 answers, {r['socket_errors']} socket errors")
    n = B.scalar("SELECT count(*) FROM taskq.tasks")
    out = w.result(n)
    out["rps"] = r["rps"]
    return out


def drain(n):
    conn = B.connect()
    try:
        if B.scalar("SELECT count(*) FROM taskq.tasks WHERE state = 'queued'", conn=conn) != n:
            raise BenchError(f"expected {n} queued tasks")
        with W.Window() as w:
            t0 = time.monotonic()
            pid = B.worker(S.concurrency)
            B.wait_for(lambda: not B.unfinished(conn), 900, 0.05, "an empty queue")
            el = time.monotonic() - t0
            wcpu = B.proc_cpu_ms(pid)
        done = B.scalar("SELECT count(*) FROM taskq.tasks WHERE state = 'succeeded'", conn=conn)
    finally:
        conn.close()
    B.worker(None)
    w.close()
    if done != n:
        raise BenchError(f"{done} of {n} tasks succeeded")
    out = w.result(n)
    out["worker_cpu_ms_per_1k"] = wcpu * 1000 / n
    out["tasks_per_s"] = n / el
    return out


def submit_batch(n):
    B.clear_tasks()
    bodies = [json.dumps(T.batch_tasks(min(CHUNK, n - i), i)) for i in range(0, n, CHUNK)]
    conn = B.connect()
    try:
        with W.Window() as w:
            t0 = time.monotonic()
            for body in bodies:
                B.sql("SELECT count(*) FROM taskq.submit_many(%s::jsonb, 'bench')", (body,),
                      conn=conn)
            el = time.monotonic() - t0
    finally:
        conn.close()
    w.close()
    out = w.result(B.scalar("SELECT count(*) FROM taskq.tasks"))
    out["tasks_per_s"] = n / el
    return out


def add_total(key, parts, rep):
    """A derived row: the per-task sums of two phases of this rep."""
    recs = [next((r for r in R.rows[k].runs if r.get("rep") == rep), None) for k in parts]
    if None in recs:
        R.rows[key].fail(f"rep {rep}: a phase failed")
        return
    tot = {"rep": rep, "tasks": recs[0].get("tasks")}
    for f in SUMMED:
        v = [r.get(f) for r in recs]
        if all(isinstance(x, (int, float)) for x in v):
            tot[f] = sum(v)
    R.rows[key].add(tot)
    B.say(f"[rep {rep}/{S.reps}] {R.rows[key].label}: "
          f"{B.fmt_num(tot.get('wal_bytes_per_task'))} WAL B/task, "
          f"PG {B.fmt_num(tot.get('pg_cpu_ms_per_1k'))} ms/1k")


_gw_dir = {}


def run_gw(rep, n):
    try:
        if "d" not in _gw_dir:
            _gw_dir["d"] = gwpeer.npm_dir()
    except Exception as e:
        for k in ("writes.gw.enqueue", "writes.gw.drain", "writes.gw.total"):
            R.rows[k].fail(f"rep {rep}: {e}")
        B.say(f"[rep {rep}/{S.reps}] writes: Graphile Worker: FAILED: {e}")
        return
    d = _gw_dir["d"]
    try:
        B.measure(R.rows["writes.gw.enqueue"], rep, gwpeer.phase, d, "enqueue", n, GW_CALLERS)
        B.measure(R.rows["writes.gw.drain"], rep, gwpeer.phase, d, "drain", n, S.concurrency)
        add_total("writes.gw.total", ("writes.gw.enqueue", "writes.gw.drain"), rep)
    finally:
        gwpeer.drop_db()


def run_writes(rep):
    try:
        rps = warm()
        rec = B.measure(R.rows["writes.submit.http"], rep, submit_http, rps)
        n = rec["tasks"] if rec else None
        if n:
            B.measure(R.rows["writes.drain"], rep, drain, n)
            add_total("writes.total", ("writes.submit.http", "writes.drain"), rep)
        else:
            for k in ("writes.drain", "writes.total"):
                R.rows[k].fail(f"rep {rep}: see writes.submit.http")
        n = n or WRITES_N
        B.measure(R.rows["writes.submit.batch"], rep, submit_batch, n)
        B.worker(None)
        B.clear_tasks()
        run_gw(rep, n)
    finally:
        T.restore()


###############################################################################
### the section after the table: per relation


def cell(v):
    return B.fmt_num(v) if isinstance(v, (int, float)) and v else ("0" if v == 0 else "–")


def section():
    lines = []
    for key, phase in PHASES:
        m = R.rows.get(key)
        run = next((r for r in reversed(m.runs) if r.get("relations")), None) if m else None
        if not run:
            continue
        for rel, v in sorted(run["relations"].items(), key=lambda kv: -(kv[1].get("wal_bytes")
                                                                          or 0)):
            if not v.get("wal_bytes") and not any(v.get(k) for k in ("ins", "upd", "del")):
                continue
            heap = [v.get(k, v.get(f"wal_{k}")) for k in ("ins", "upd", "hot", "del")]
            idx = f"{v['indexes']}" + (f" ({v['partial']} partial)" if v.get("partial") else "") \
                if "indexes" in v else "–"
            lines.append(f"| {phase} | {rel} | " + " | ".join(cell(x) for x in heap) +
                         f" | {cell(v.get('wal_lock'))} | {cell(v.get('wal_idx'))} | {idx} | "
                         f"{cell(v.get('wal_records'))} | {cell(v.get('wal_bytes'))} | "
                         f"{cell(v.get('wal_fpi_bytes'))} |")
    if not lines:
        return None
    return ["## Write counts by relation, per task (last rep)", "",
            "Heap rows from pg_stat_user_tables for taskq (from the WAL for Graphile Worker); "
            "row locks, index entries, records and bytes from pg_waldump over the same window "
            "(tests/bench/README.md, docs/performance.md). FPI: full-page images after the "
            "checkpoint that starts each phase.", "",
            "| phase | relation | heap ins | upd | HOT | del | row locks | index entries | "
            "indexes | WAL records | WAL bytes | of which FPI |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"] + lines
