"""Issue 13 items 2-5 and 7: taskq's own hot paths on the bench stack.

Every group leaves the stack as it found it: taskq-fcgi with its default threads, the worker
running at TASKQ_CONCURRENCY (8), and no tasks in the table."""

import json
import os
import threading
import time

import benchlib as B
from benchlib import R, S, BenchError

SUBMIT_CONNS = (1, 16, 64)
BATCH_TOTAL = 20000  # as the peers' bulk enqueue (run.sh N)
BATCH_PER_REQ = 1000  # pg-boss's bulk shape: 1,000 a call
BATCH_CLIENTS = 2
SUBMIT_SQL = r"""\set n random(1, 99999999)
SELECT taskq.submit('noop',
         jsonb_build_object('kind', 'http',
                            'url', 'https://example.test/api/v1/items/' || lpad(:n::text, 8, '0'),
                            'method', 'POST', 'n', :n::bigint));
"""


def define():
    http = [("p50_ms", ""), ("p99_ms", ""), ("max_ms", ""), ("non2xx", ""),
            ("socket_errors", ""), ("fcgi_cpu_ms_per_1k", ""), ("nginx_cpu_ms_per_1k", ""),
            ("pg_cpu_ms_per_1k", "")]
    for c in SUBMIT_CONNS:
        R.get(f"submit.http.{c}", "submit", "submit POST /api/tasks (wrk → nginx → taskq-fcgi)",
              c, "req/s", main="rps", details=http)
    R.get("submit.sql.16", "submit", "SELECT taskq.submit('noop', …) (pgbench)", 16, "tx/s",
          main="tps", details=[("latency_avg_ms", ""), ("pg_cpu_ms_per_1k", "")])
    for c in S.drain_conc:
        R.get(f"drain.{c}", "drain", f"drain {S.drain_n:,} queued noop tasks", c, "tasks/s",
              main="tasks_per_s",
              details=[("seconds", ""), ("worker_cpu_ms_per_1k", ""), ("pg_cpu_ms_per_1k", ""),
                       ("machine_busy_pct", "")])
    R.get("batch.http", "batch", f"batch POST /api/tasks/batch, {BATCH_PER_REQ:,} a request",
          BATCH_CLIENTS, "tasks/s", main="tasks_per_s",
          details=[("requests", ""), ("request_p50_ms", ""), ("pg_cpu_ms_per_1k", "")])
    R.get("batch.sql.1k", "batch", f"SELECT taskq.submit_many(…{BATCH_PER_REQ:,} tasks…)", 1,
          "tasks/s", main="tasks_per_s", details=[("calls", ""), ("pg_cpu_ms_per_1k", "")])
    R.get("batch.sql.all", "batch", f"SELECT taskq.submit_many(…{BATCH_TOTAL:,} tasks…), one call",
          1, "tasks/s", main="tasks_per_s", details=[("seconds", ""), ("pg_cpu_ms_per_1k", "")])
    lat = [("p99_ms", ""), ("max_ms", "")]
    R.get("pickup.start", "pickup", "pickup: started_at − created_at", 8, "ms p50",
          main="p50_ms", higher_better=False, details=lat)
    R.get("pickup.call", "pickup", "pickup: submit call start → started_at (as the peers)", 8,
          "ms p50", main="p50_ms", higher_better=False,
          details=lat + [("submit_call_p50_ms", "")])
    R.get("pickup.done", "pickup", "noop submit → done: finished_at − created_at", 8,
          "ms p50", main="p50_ms", higher_better=False, details=lat)
    poll = [("p50_ms", ""), ("p99_ms", ""), ("max_ms", ""), ("non2xx", ""),
            ("drain_tasks_per_s", ""), ("drain_active", "")]
    R.get("poll.200", "poll", "poll GET /api/tasks/{id} during a drain (wrk)", 16, "req/s",
          main="rps", details=poll)
    R.get("poll.304", "poll", "poll with If-None-Match → 304 during a drain (wrk)", 16, "req/s",
          main="rps", details=poll)
    R.get("poll.queued", "poll",
          "poll GET of queued tasks 100th–800th in line (position, eta_s; vs poll.200)", 16,
          "req/s", main="rps", details=poll)
    mem = [("idle_mib", ""), ("after_mib", ""), ("threads", "")]
    R.get("footprint.fcgi", "footprint", "taskq-fcgi RSS peak under load (--threads 32)", 32,
          "MiB", main="load_mib", higher_better=False, details=mem)
    R.get("footprint.worker", "footprint",
          "taskq-worker RSS peak under load (--concurrency 32)", 32, "MiB", main="load_mib",
          higher_better=False, details=mem)


def restore():
    """The stack as every group expects it: default fcgi, worker at the stack's concurrency."""
    B.worker(None)
    B.clear_tasks()
    B.worker(S.concurrency)


###############################################################################
### 2. submit


def submit_http(c):
    B.clear_tasks()
    B.wrk("/api/tasks", c, S.warmup_s, "submit")
    B.clear_tasks()
    B.sql("CHECKPOINT")
    with B.CpuWindow(["fcgi", "nginx"]) as w:
        r = B.wrk("/api/tasks", c, S.wrk_s, "submit")
    r.update(w.result(r["requests"]))
    r["rows"] = B.scalar("SELECT count(*) FROM taskq.tasks")
    return r


def submit_sql():
    path = os.path.join(S.sql_dir, "submit.sql")
    os.makedirs(S.sql_dir, exist_ok=True)
    with open(path, "w") as f:
        f.write(SUBMIT_SQL)
    B.clear_tasks()
    B.pgbench("taskq", 16, S.warmup_s, path)
    B.clear_tasks()
    B.sql("CHECKPOINT")
    return B.pgbench("taskq", 16, S.pgbench_s, path)


def run_submit(rep):
    try:
        B.worker(None)  # the drain must not compete with the submits
        for c in SUBMIT_CONNS:
            B.measure(R.rows[f"submit.http.{c}"], rep, submit_http, c)
        B.measure(R.rows["submit.sql.16"], rep, submit_sql)
    finally:
        restore()


###############################################################################
### 2b. batch submit (issue 8): against the peers' bulk enqueue


def batch_tasks(n, base=0):
    return [{"kind": "noop", "payload": B.payload(base + i)} for i in range(n)]


def batch_http():
    per_client = BATCH_TOTAL // BATCH_CLIENTS
    bodies = [batch_tasks(BATCH_PER_REQ, i * BATCH_PER_REQ)
              for i in range(per_client // BATCH_PER_REQ)]
    lat, errors = [], []

    def client():
        h = B.Http()
        for body in bodies:
            t0 = time.monotonic()
            st, _, raw = h.req("POST", "/api/tasks/batch", body)
            lat.append(time.monotonic() - t0)
            if st != 202:
                errors.append(f"{st}: {raw[:120]!r}")

    B.clear_tasks()
    B.sql("CHECKPOINT")
    threads = [threading.Thread(target=client) for _ in range(BATCH_CLIENTS)]
    with B.CpuWindow(["fcgi", "nginx"]) as w:
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        el = time.monotonic() - t0
    if errors:
        raise BenchError(f"{len(errors)} batches failed, first: {errors[0]}")
    n = B.scalar("SELECT count(*) FROM taskq.tasks")
    r = {"tasks_per_s": n / el, "requests": len(lat),
         "request_p50_ms": B.percentile(lat, 50) * 1e3}
    r.update(w.result(n))
    return r


def batch_sql(per_call):
    conn = B.connect()
    calls = BATCH_TOTAL // per_call
    bodies = [json.dumps(batch_tasks(per_call, i * per_call)) for i in range(calls)]
    try:
        B.clear_tasks()
        B.sql("CHECKPOINT")
        with B.CpuWindow([]) as w:
            t0 = time.monotonic()
            for body in bodies:
                B.sql("SELECT count(*) FROM taskq.submit_many(%s::jsonb, 'bench')", (body,),
                      conn=conn)
            el = time.monotonic() - t0
        n = B.scalar("SELECT count(*) FROM taskq.tasks")
    finally:
        conn.close()
    r = {"tasks_per_s": n / el, "calls": calls, "seconds": el}
    r.update(w.result(n))
    return r


def run_batch(rep):
    try:
        B.worker(None)  # nothing drains meanwhile: the insert alone, as the peers measure it
        B.measure(R.rows["batch.http"], rep, batch_http)
        B.measure(R.rows["batch.sql.1k"], rep, batch_sql, BATCH_PER_REQ)
        B.measure(R.rows["batch.sql.all"], rep, batch_sql, BATCH_TOTAL)
    finally:
        restore()


###############################################################################
### 3. drain


def drain_until_empty(timeout):
    conn = B.connect()
    try:
        B.wait_for(lambda: not B.unfinished(conn), timeout, 0.05, "an empty queue")
    finally:
        conn.close()


def drain(c):
    B.worker(None)
    B.clear_tasks()
    B.queue_noops(max(1000, S.drain_n // 20))  # warm-up: a small drain at this concurrency
    B.worker(c)
    drain_until_empty(300)
    B.worker(None)
    B.clear_tasks()

    n = S.drain_n
    B.queue_noops(n)
    conn = B.connect()
    try:
        pg0, busy0 = B.pg_cpu_ms(), B.machine_busy()
        t0 = time.time()
        pid = B.worker(c)
        B.wait_for(lambda: not B.unfinished(conn), 600, 0.05, "an empty queue")
        t_done = time.time()
        wcpu = B.proc_cpu_ms(pid)  # all of the worker's life: start-up + this drain
        pg1, busy1 = B.pg_cpu_ms(), B.machine_busy()
        done, first, window, wall = B.sql(
            "SELECT count(*) FILTER (WHERE state = 'succeeded'), "
            "extract(epoch FROM min(started_at)), "
            "extract(epoch FROM max(finished_at) - min(started_at)), "
            "extract(epoch FROM max(finished_at)) - %s FROM taskq.tasks", (t0,), conn=conn)[0]
    finally:
        conn.close()
    B.worker(None)
    if done != n:
        raise BenchError(f"{done} of {n} tasks succeeded")
    window = float(window)
    busy = busy1[0] - busy0[0], busy1[1] - busy0[1]
    return {"tasks_per_s": n / window, "seconds": window,
            "polled_tasks_per_s": n / (t_done - float(first)),
            "startup_s": float(first) - t0, "wall_s": t_done - t0,
            "worker_cpu_ms_per_1k": wcpu * 1000 / n, "pg_cpu_ms_per_1k": (pg1 - pg0) * 1000 / n,
            "cpu_ms_per_1k": (wcpu + pg1 - pg0) * 1000 / n,
            "machine_busy_pct": 100.0 * busy[0] / busy[1] if busy[1] else None}


def run_drain(rep):
    try:
        for c in S.drain_conc:
            B.measure(R.rows[f"drain.{c}"], rep, drain, c)
    finally:
        restore()


###############################################################################
### 4. pickup latency


def wait_finished(ids, timeout):
    conn = B.connect()
    try:
        B.wait_for(lambda: not B.scalar(
            "SELECT EXISTS (SELECT 1 FROM taskq.tasks WHERE id = ANY(%s::uuid[]) "
            "AND finished_at IS NULL)", (ids,), conn=conn), timeout, 0.05, "finished tasks")
    finally:
        conn.close()


def lat_stats(v):
    return {"p50_ms": B.percentile(v, 50), "p99_ms": B.percentile(v, 99), "max_ms": max(v),
            "mean_ms": sum(v) / len(v), "samples": len(v)}


def pickup():
    h = B.Http()
    try:
        for i in range(20):  # warm-up: connections, prepared statements, the worker's claim
            h.submit("noop", B.payload(i))
        time.sleep(0.5)
        sent, calls = {}, []
        gap = S.pickup_gap_ms / 1000.0
        nxt = time.monotonic()
        for i in range(S.pickup_n):
            wall, mono = time.time(), time.monotonic()
            tid = h.submit("noop", B.payload(i))
            calls.append((time.monotonic() - mono) * 1000)
            sent[tid] = wall
            nxt += gap
            time.sleep(max(0.0, nxt - time.monotonic()))
    finally:
        h.close()
    ids = list(sent)
    wait_finished(ids, 60)
    rows = B.sql("SELECT id::text, state::text, extract(epoch FROM created_at), "
                 "extract(epoch FROM started_at), extract(epoch FROM finished_at) "
                 "FROM taskq.tasks WHERE id = ANY(%s::uuid[])", (ids,))
    bad = [r for r in rows if r[1] != "succeeded"]
    if len(rows) != len(ids) or bad:
        raise BenchError(f"{len(bad)} of {len(ids)} tasks did not succeed")
    start = [(float(s) - float(c)) * 1000 for _, _, c, s, _ in rows]
    done = [(float(f) - float(c)) * 1000 for _, _, c, _, f in rows]
    call = [(float(s) - sent[i]) * 1000 for i, _, _, s, _ in rows]
    out = {"start": lat_stats(start), "done": lat_stats(done), "call": lat_stats(call)}
    out["call"]["submit_call_p50_ms"] = B.percentile(calls, 50)
    out["call"]["submit_call_p99_ms"] = B.percentile(calls, 99)
    return out


def run_pickup(rep):
    try:
        box = {}

        def one():
            box.update(pickup())
            return dict(box["start"])

        if B.measure(R.rows["pickup.start"], rep, one):
            for key in ("call", "done"):
                rec = dict(box[key], rep=rep)
                R.rows[f"pickup.{key}"].add(rec)
                B.say(f"[rep {rep}/{S.reps}] {R.rows[f'pickup.{key}'].label}: "
                      f"p50 {B.fmt_num(rec['p50_ms'])} ms, p99 {B.fmt_num(rec['p99_ms'])} ms")
        else:
            for key in ("call", "done"):
                R.rows[f"pickup.{key}"].fail(f"rep {rep}: see pickup.start")
    finally:
        restore()


###############################################################################
### 5. status polling during a drain


def poll_targets(n=8):
    """n finished tasks and their versions, as BENCH_IDS for taskq.lua."""
    h = B.Http()
    try:
        ids = [h.submit("noop", B.payload(i)) for i in range(n)]
        wait_finished(ids, 30)
        pairs = []
        for tid in ids:
            st, hd, _ = h.req("GET", f"/api/tasks/{tid}")
            etag = {k.lower(): v for k, v in hd.items()}.get("etag", "").strip('"')
            if st != 200 or not etag:
                raise BenchError(f"GET /api/tasks/{tid} answered {st} without an ETag")
            pairs.append((tid, etag))
        st, _, _ = h.req("GET", f"/api/tasks/{ids[0]}", headers={"If-None-Match": f'"{pairs[0][1]}"'})
        if st != 304:
            raise BenchError(f"If-None-Match with the current ETag answered {st}, not 304")
    finally:
        h.close()
    return ",".join(f"{i}={v}" for i, v in pairs)


def queued_targets(n=8):
    """n queued tasks of a queue no worker serves, 100th to 800th in line (their GET counts
    their position), and their versions, as BENCH_IDS for taskq.lua."""
    B.sql("INSERT INTO taskq.tasks (kind, queue, payload) "
          "SELECT 'noop', 'bench-position', '{}' FROM generate_series(1, 1000)")
    rows = B.sql("SELECT id::text, version FROM (SELECT id, version, row_number() OVER "
                 "(ORDER BY priority DESC, run_at, id) AS rn FROM taskq.tasks "
                 "WHERE queue = 'bench-position' AND state = 'queued') x "
                 "WHERE rn %% 100 = 0 ORDER BY rn LIMIT %s", (n,))
    return ",".join(f"{i}={v}" for i, v in rows)


def succeeded():
    return B.scalar("SELECT count(*) FROM taskq.tasks WHERE state = 'succeeded'")


def poll(ids, inm):
    B.wrk("/", 16, S.warmup_s, "poll", BENCH_IDS=ids, BENCH_INM=int(inm))
    s0, t0 = succeeded(), time.monotonic()
    # nginx's and taskq-fcgi's CPU per request (PostgreSQL's includes the drain's)
    with B.CpuWindow(["fcgi", "nginx"]) as w:
        r = B.wrk("/", 16, S.wrk_s, "poll", BENCH_IDS=ids, BENCH_INM=int(inm))
    s1, t1 = succeeded(), time.monotonic()
    r.update({k: v for k, v in w.result(r["requests"]).items() if k != "pg_cpu_ms_per_1k"})
    r["drain_tasks_per_s"] = (s1 - s0) / (t1 - t0)
    r["drain_active"] = 1 if B.scalar(
        "SELECT EXISTS (SELECT 1 FROM taskq.tasks WHERE state = 'queued')") else 0
    if not r["drain_active"]:
        B.say("  note: the drain ended before this poll run did; raise POLL_DRAIN_N")
    return r


def run_poll(rep):
    try:
        ids = poll_targets()
        B.worker(None)
        queued = queued_targets()
        rate = R.median(f"drain.{S.concurrency}") or R.median("drain.8") or 8000
        window = 2 * (S.warmup_s + S.wrk_s) + 10
        n = B._int_env("POLL_DRAIN_N", 0) or int(min(600000, max(20000, rate * window * 1.5)))
        B.queue_noops(n)
        B.worker(S.concurrency)
        conn = B.connect()
        try:
            B.wait_for(lambda: B.scalar("SELECT EXISTS (SELECT 1 FROM taskq.tasks "
                                        "WHERE state = 'running')", conn=conn), 30, 0.05,
                       "a running drain")
        finally:
            conn.close()
        B.measure(R.rows["poll.200"], rep, poll, ids, False)
        B.measure(R.rows["poll.304"], rep, poll, ids, True)
        B.measure(R.rows["poll.queued"], rep, poll, queued, False)
    except Exception as e:
        for k in ("poll.200", "poll.304", "poll.queued"):
            R.rows[k].fail(f"rep {rep}: {e}")
        B.say(f"[rep {rep}/{S.reps}] poll: FAILED: {e}")
    finally:
        restore()


###############################################################################
### 7. footprint


def mib(kb):
    return kb / 1024.0 if kb is not None else None


def footprint():
    B.worker(None)
    B.clear_tasks()
    fpid = B.fcgi(threads=32)
    wpid = B.worker(32)
    h = B.Http()
    try:
        for _ in range(20):
            h.req("GET", "/healthz")
    finally:
        h.close()
    time.sleep(2)
    out = {"fcgi": {}, "worker": {}}
    for name, pid in (("fcgi", fpid), ("worker", wpid)):
        out[name]["idle_mib"] = mib(B.status_kb(pid, "VmRSS"))
        out[name]["threads"] = B.status_kb(pid, "Threads")
    # load: submits at 64 connections while the worker drains them at once
    B.wrk("/api/tasks", 64, S.wrk_s, "submit")
    drain_until_empty(300)
    time.sleep(1)
    for name, pid in (("fcgi", fpid), ("worker", wpid)):
        out[name]["load_mib"] = mib(B.status_kb(pid, "VmHWM"))  # peak RSS of its life
        out[name]["after_mib"] = mib(B.status_kb(pid, "VmRSS"))
    return out


def run_footprint(rep):
    box = {}

    def one():
        box.update(footprint())
        return dict(box["fcgi"])

    try:
        if B.measure(R.rows["footprint.fcgi"], rep, one):
            rec = dict(box["worker"], rep=rep)
            R.rows["footprint.worker"].add(rec)
            B.say(f"[rep {rep}/{S.reps}] {R.rows['footprint.worker'].label}: "
                  f"{B.fmt_num(rec['load_mib'])} MiB (idle {B.fmt_num(rec['idle_mib'])} MiB)")
        else:
            R.rows["footprint.worker"].fail(f"rep {rep}: see footprint.fcgi")
    finally:
        try:
            B.worker(None)
            B.fcgi(None)
        finally:
            restore()
