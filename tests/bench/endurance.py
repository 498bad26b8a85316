"""The `endurance` and `drain1m` groups: taskq under a steady load for a long time with the
transaction horizon held in the middle, and one drain of a million tasks. First rep only.

endurance: noop tasks offered at a steady rate (ENDURANCE_RATE, default half the clean drain
rate of this run: the drain group's median at the stack's concurrency, else a short clean
drain measured first) for ENDURANCE_MIN minutes (30; QUICK 3), as taskq.submit_many() calls
every 100 ms from one connection (each call's ids appended to a file), drained by the stack's
worker. For the middle ENDURANCE_HOLD_MIN minutes (20; QUICK 2) a session sits idle in
transaction after BEGIN; SELECT txid_current(), so VACUUM may remove no row that died
meanwhile. Every ENDURANCE_SAMPLE_S (5) s: completions (taskq.counters), submissions, the
backlog, the claim latency (started_at − created_at) of the tasks finished since the last
sample, n_dead_tup of each taskq relation and the task table's size. Afterwards: completions as
a share of the offered rate, the lowest over 30 s windows; claim p50/p99 before, during and
after the hold (every task, grouped by when it started); the most dead tuples; and the exact
count by id: the acknowledged ids are copied into a temporary table and joined with the
tasks: lost = acknowledged but absent or not succeeded; run twice = attempts > 1 or more than
one 'claimed' (or 'succeeded') history row.

drain1m: DRAIN1M_N (1,000,000; QUICK 100,000) noop tasks submitted with taskq.submit_many()
× 1,000 while no worker runs, then drained by the stack's worker with autovacuum left to
itself (no VACUUM first, unlike the drain group); its rate against the 50,000-task drain of
the same run (the drain group's median, else one measured here).
"""

import json
import os
import threading
import time

import psycopg2

import benchlib as B
import taskq_paths as T
from benchlib import R, S, BenchError

MINUTES = B._int_env("ENDURANCE_MIN", 3 if S.quick else 30)
HOLD_MIN = B._int_env("ENDURANCE_HOLD_MIN", 2 if S.quick else 20)
SAMPLE_S = B._int_env("ENDURANCE_SAMPLE_S", 5)
RATE = B._int_env("ENDURANCE_RATE", 0)
TICK_S = 0.1
WINDOW_S = 30
OWNER = "bench-endurance"
N1M = B._int_env("DRAIN1M_N", 100_000 if S.quick else 1_000_000)
CHUNK = 1000


def define():
    c = S.concurrency
    R.get("endurance.clean", "endurance", f"endurance: clean drain, {S.drain_n:,} noop tasks "
          "(the offered rate is half of it)", c, "tasks/s", main="tasks_per_s")
    R.get("endurance.completion", "endurance",
          f"endurance: completions ÷ offered, lowest 30 s window ({MINUTES} min, xmin held "
          f"{HOLD_MIN} min)", c, "%", main="min_pct",
          details=[("offered_per_s", ""), ("mean_pct", ""), ("submitted_min_pct", ""),
                   ("backlog_max", "")])
    R.get("endurance.claim", "endurance", "endurance: claim latency p99 while the xmin is held",
          c, "ms", main="hold_p99_ms", higher_better=False,
          details=[("clean_p99_ms", ""), ("after_p99_ms", ""), ("hold_p50_ms", ""),
                   ("clean_p50_ms", ""), ("hold_max_ms", "")])
    R.get("endurance.dead", "endurance", "endurance: most dead tuples in taskq.tasks", c,
          "tuples", main="dead_tasks_max", higher_better=False,
          details=[("dead_events_max", ""), ("dead_all_max", ""), ("tasks_mib_start", ""),
                   ("tasks_mib_end", "")])
    R.get("endurance.exact", "endurance", "endurance: exact count by id: lost", c, "tasks",
          main="lost", higher_better=False,
          details=[("run_twice", ""), ("submitted", ""), ("succeeded", ""),
                   ("unacknowledged", "")])
    R.get("drain1m.submit", "drain1m", f"drain1m: submit {N1M:,} noop tasks, "
          f"taskq.submit_many() × {CHUNK:,}", 1, "tasks/s", main="tasks_per_s",
          details=[("seconds", ""), ("pg_cpu_ms_per_1k", "")])
    R.get("drain1m.base", "drain1m", f"drain1m: the reference drain of {S.drain_n:,} "
          "(VACUUM first)", c, "tasks/s", main="tasks_per_s")
    R.get("drain1m.drain", "drain1m", f"drain1m: drain {N1M:,} queued noop tasks, autovacuum "
          "on (no VACUUM first)", c, "tasks/s", main="tasks_per_s",
          details=[("seconds", ""), ("worker_cpu_ms_per_1k", ""), ("pg_cpu_ms_per_1k", ""),
                   ("autovacuums", ""), ("autoanalyzes", "")])
    R.sections.append(timeline)


def clean_rate(row, rep):
    """The drain group's median at the stack's concurrency, else one measured into row."""
    med = R.median(f"drain.{S.concurrency}")
    if med:
        row.add({"tasks_per_s": med, "source": "drain group", "rep": rep})
        return med
    rec = B.measure(row, rep, T.drain, S.concurrency)
    if not rec:
        raise BenchError("no clean drain rate")
    return rec["tasks_per_s"]


###############################################################################
### endurance: the threads


class Submitter(threading.Thread):
    """rate tasks/s as submit_many() calls every TICK_S until t_end (monotonic); the ids of
    each acknowledged call go to path."""

    def __init__(self, rate, t_end, path):
        super().__init__(daemon=True)
        self.rate, self.t_end, self.path = rate, t_end, path
        self.acked, self.ticks, self.errors = 0, [], []

    def run(self):
        conn = B.connect()
        seq = 0
        t0 = time.monotonic()
        with open(self.path, "w") as f:
            while True:
                now = time.monotonic()
                if now >= self.t_end:
                    break
                due = min(5000, int(self.rate * (now - t0)) - seq)
                if due > 0:
                    body = json.dumps([{"kind": "noop", "payload": B.payload(seq + i)}
                                       for i in range(due)])
                    try:
                        rows = B.sql("SELECT id::text FROM taskq.submit_many(%s::jsonb, %s)",
                                     (body, OWNER), conn=conn)
                        f.write("".join(r[0] + "\n" for r in rows))
                        self.acked += len(rows)
                        seq += due
                    except psycopg2.Error as e:
                        self.errors.append(str(e).strip().splitlines()[0])
                        conn.close()
                        time.sleep(0.5)
                        conn = B.connect()
                    self.ticks.append((time.monotonic(), self.acked))
                time.sleep(max(0.0, TICK_S - (time.monotonic() - now)))
        conn.close()


SAMPLE_SQL = """
SELECT extract(epoch FROM clock_timestamp()),
       (SELECT coalesce(sum(n), 0) FROM taskq.counters WHERE state = 'succeeded'),
       (SELECT count(*) FROM taskq.tasks WHERE state = 'queued'),
       (SELECT count(*) FROM taskq.tasks WHERE state = 'running'),
       pg_total_relation_size('taskq.tasks')"""
LAT_SQL = """
SELECT count(*), percentile_disc(0.5) WITHIN GROUP (ORDER BY ms),
       percentile_disc(0.99) WITHIN GROUP (ORDER BY ms), max(ms)
  FROM (SELECT extract(epoch FROM started_at - created_at) * 1000 AS ms FROM taskq.tasks
         WHERE state = 'succeeded' AND finished_at > to_timestamp(%s)
           AND finished_at <= to_timestamp(%s) AND owner = %s) x"""


class Sampler(threading.Thread):
    def __init__(self, t0):
        super().__init__(daemon=True)
        self.t0, self.samples, self.stop, self.hold = t0, [], threading.Event(), False

    def run(self):
        conn = B.connect()
        prev = None
        try:
            while not self.stop.wait(0 if prev is None else SAMPLE_S):
                at, done, backlog, running, size = B.sql(SAMPLE_SQL, conn=conn)[0]
                dead = dict(B.sql("SELECT relname, n_dead_tup FROM pg_stat_user_tables "
                                  "WHERE schemaname = 'taskq'", conn=conn))
                s = {"t": time.monotonic() - self.t0, "at": float(at), "done": int(done),
                     "backlog": backlog, "running": running, "tasks_mib": size / 2**20,
                     "dead": dead, "hold": self.hold}
                if prev:
                    n, p50, p99, mx = B.sql(LAT_SQL, (prev["at"], s["at"], OWNER), conn=conn)[0]
                    s.update(claimed=n, claim_p50_ms=p50 and float(p50),
                             claim_p99_ms=p99 and float(p99), claim_max_ms=mx and float(mx),
                             completions_per_s=(s["done"] - prev["done"]) / (s["t"] - prev["t"]))
                self.samples.append(s)
                prev = s
        finally:
            conn.close()


###############################################################################
### endurance: the run and its figures


def phases(hold_at):
    """Claim latency of every endurance task by when it started: before, during, after."""
    rows = B.sql("""
        SELECT CASE WHEN started_at < to_timestamp(%s) THEN 'clean'
                    WHEN started_at < to_timestamp(%s) THEN 'hold' ELSE 'after' END,
               count(*), percentile_disc(0.5) WITHIN GROUP (ORDER BY ms),
               percentile_disc(0.99) WITHIN GROUP (ORDER BY ms), max(ms)
          FROM (SELECT started_at, extract(epoch FROM started_at - created_at) * 1000 AS ms
                  FROM taskq.tasks WHERE owner = %s AND started_at IS NOT NULL) x
         GROUP BY 1""", (hold_at[0], hold_at[1], OWNER))
    out = {}
    for ph, n, p50, p99, mx in rows:
        out.update({f"{ph}_n": n, f"{ph}_p50_ms": float(p50), f"{ph}_p99_ms": float(p99),
                    f"{ph}_max_ms": float(mx)})
    return out


def exact(path):
    conn = B.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE bench_acked (id uuid)")
            with open(path) as f:
                cur.copy_expert("COPY bench_acked FROM STDIN", f)
            cur.execute("ANALYZE bench_acked")
            cur.execute("SELECT count(*), count(DISTINCT id) FROM bench_acked")
            acked, distinct = cur.fetchone()
            cur.execute("SELECT count(*) FILTER (WHERE t.id IS NULL OR t.state <> 'succeeded'),"
                        " count(*) FILTER (WHERE t.state = 'succeeded'),"
                        " count(*) FILTER (WHERE t.attempts > 1)"
                        " FROM bench_acked a LEFT JOIN taskq.tasks t ON t.id = a.id")
            lost, ok, retried = cur.fetchone()
            cur.execute("SELECT count(*) FROM (SELECT e.task_id FROM taskq.task_events e "
                        "JOIN bench_acked a ON a.id = e.task_id "
                        "WHERE e.event IN ('claimed', 'succeeded') GROUP BY e.task_id "
                        "HAVING count(*) FILTER (WHERE e.event = 'claimed') > 1 "
                        "OR count(*) FILTER (WHERE e.event = 'succeeded') > 1) x")
            twice_events = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM taskq.tasks t WHERE t.owner = %s AND NOT EXISTS "
                        "(SELECT 1 FROM bench_acked a WHERE a.id = t.id)", (OWNER,))
            unacked = cur.fetchone()[0]
    finally:
        conn.close()
    return {"lost": lost, "submitted": acked, "acked_twice": acked - distinct, "succeeded": ok,
            "run_twice": max(retried, twice_events), "attempts_over_1": retried,
            "history_twice": twice_events, "unacknowledged": unacked}


def windows(samples, rate, total):
    """Completions and submissions as % of the offered rate per WINDOW_S window, while the
    load was offered (the drain of what is left afterwards is not a window)."""
    out = []
    k = max(1, WINDOW_S // SAMPLE_S)
    samples = [s for s in samples if s["t"] <= total + SAMPLE_S / 2]
    for i in range(k, len(samples), k):
        a, b = samples[i - k], samples[i]
        el = b["t"] - a["t"]
        out.append({"t": b["t"], "pct": 100.0 * (b["done"] - a["done"]) / (rate * el),
                    "sub_pct": 100.0 * (b["submitted"] - a["submitted"]) / (rate * el),
                    "hold": "yes" if a["hold"] and b["hold"] else
                            ("partly" if a["hold"] or b["hold"] else "")})
    return out


def endurance(rate, box):
    total, hold = MINUTES * 60, HOLD_MIN * 60
    B.worker(None)
    B.clear_tasks()
    B.worker(S.concurrency)
    path = os.path.join(S.var, "endurance-ids.txt")
    t0 = time.monotonic()
    sub = Submitter(rate, t0 + total, path)
    smp = Sampler(t0)
    sub.start()
    smp.start()
    hold_conn, hold_at = None, [None, None]
    try:
        time.sleep(max(0.0, t0 + (total - hold) / 2 - time.monotonic()))
        hold_conn = psycopg2.connect(S.conninfo)  # not autocommit: BEGIN, then idle
        with hold_conn.cursor() as cur:
            cur.execute("SELECT txid_current(), extract(epoch FROM clock_timestamp())")
            hold_at[0] = float(cur.fetchone()[1])
        smp.hold = True
        B.say(f"  endurance: holding the xmin horizon for {HOLD_MIN} min")
        time.sleep(max(0.0, t0 + (total + hold) / 2 - time.monotonic()))
        hold_conn.rollback()
        hold_at[1] = float(B.scalar("SELECT extract(epoch FROM clock_timestamp())"))
        smp.hold = False
        B.say("  endurance: horizon released")
        sub.join()
        conn = B.connect()
        try:
            B.wait_for(lambda: not B.scalar(
                "SELECT EXISTS (SELECT 1 FROM taskq.tasks WHERE owner = %s "
                "AND state IN ('queued', 'running'))", (OWNER,), conn=conn),
                max(120, total), 0.5, "the endurance backlog drained")
        finally:
            conn.close()
    finally:
        if hold_conn is not None:
            hold_conn.close()
        sub.t_end = 0
        smp.stop.set()
        smp.join(30)
    if sub.errors:
        B.say(f"  endurance: {len(sub.errors)} submit calls failed, first: {sub.errors[0]}")
    for s in smp.samples:  # submissions by then, from the submitter's ticks
        s["submitted"] = max([a for t, a in sub.ticks if t - t0 <= s["t"]], default=0)
    win = windows(smp.samples, rate, total)
    box["samples"], box["windows"] = smp.samples, win
    box["claim"] = phases(hold_at)
    box["exact"] = exact(path)
    dead = lambda rel: max((s["dead"].get(rel, 0) for s in smp.samples), default=0)
    box["dead"] = {"dead_tasks_max": dead("tasks"), "dead_events_max": dead("task_events"),
                   "dead_all_max": max((sum(s["dead"].values()) for s in smp.samples),
                                       default=0),
                   "tasks_mib_start": smp.samples[0]["tasks_mib"],
                   "tasks_mib_end": smp.samples[-1]["tasks_mib"],
                   "dead_by_relation_max": {r: dead(r) for r in smp.samples[-1]["dead"]}}
    return {"min_pct": min(w["pct"] for w in win) if win else None,
            "mean_pct": sum(w["pct"] for w in win) / len(win) if win else None,
            "submitted_min_pct": min(w["sub_pct"] for w in win) if win else None,
            "offered_per_s": rate, "minutes": MINUTES, "hold_minutes": HOLD_MIN,
            "backlog_max": max(s["backlog"] for s in smp.samples),
            "submit_errors": len(sub.errors), "windows": win, "samples": smp.samples}


def run_endurance(rep):
    if rep != 1:
        return
    rows = [R.rows[k] for k in ("endurance.completion", "endurance.claim", "endurance.dead",
                                "endurance.exact")]
    try:
        rate = RATE or clean_rate(R.rows["endurance.clean"], rep) / 2
        box = {}
        if B.measure(rows[0], rep, endurance, rate, box):
            for m, rec in zip(rows[1:], (box["claim"], box["dead"], box["exact"])):
                rec = dict(rec, rep=rep)
                m.add(rec)
                B.say(f"[rep {rep}/{S.reps}] {m.label}: {B.fmt_num(rec.get(m.main))} {m.unit}")
        else:
            for m in rows[1:]:
                m.fail(f"rep {rep}: see {rows[0].label}")
    finally:
        T.restore()


def timeline():
    m = R.rows.get("endurance.completion")
    rec = m.runs[0] if m and m.runs else None
    if not rec or not rec.get("windows"):
        return None
    samples = rec.get("samples") or []
    lines = ["## Endurance timeline (30 s windows)", "",
             f"Offered {B.fmt_num(rec['offered_per_s'])} tasks/s; completions and submissions "
             "as % of it; at each window's end: backlog, claim p99 of the last sample, dead "
             "tuples of taskq.tasks and of all taskq relations, size of taskq.tasks with its "
             "indexes.", "",
             "| t (s) | xmin held | completed % | submitted % | backlog | claim p99 (ms) | "
             "dead tasks | dead, all | tasks MiB |", "|---|---|---|---|---|---|---|---|---|"]
    for w in rec["windows"]:
        s = min(samples, key=lambda x: abs(x["t"] - w["t"])) if samples else {}
        lines.append(f"| {w['t']:.0f} | {w['hold']} | {w['pct']:.1f} | "
                     f"{w['sub_pct']:.1f} | {s.get('backlog', '–')} | "
                     f"{B.fmt_num(s.get('claim_p99_ms'))} | "
                     f"{B.fmt_num(s.get('dead', {}).get('tasks'))} | "
                     f"{B.fmt_num(sum(s.get('dead', {}).values()) if s else None)} | "
                     f"{B.fmt_num(s.get('tasks_mib'))} |")
    return lines


###############################################################################
### drain1m


def drain1m():
    B.worker(None)
    B.clear_tasks()
    conn = B.connect()
    try:
        with B.CpuWindow([]) as w:
            t0 = time.monotonic()
            for i in range(0, N1M, CHUNK):
                body = json.dumps(T.batch_tasks(min(CHUNK, N1M - i), i))
                B.sql("SELECT count(*) FROM taskq.submit_many(%s::jsonb, 'bench')", (body,),
                      conn=conn)
            el = time.monotonic() - t0
        sub = {"tasks_per_s": N1M / el, "seconds": el}
        sub.update(w.result(N1M))
        B.sql("CHECKPOINT")
        av0 = B.sql("SELECT sum(autovacuum_count), sum(autoanalyze_count) "
                    "FROM pg_stat_user_tables WHERE schemaname = 'taskq'", conn=conn)[0]
        pg0 = B.pg_cpu_ms()
        pid = B.worker(S.concurrency)
        B.wait_for(lambda: not B.unfinished(conn), 3600, 0.2, "an empty queue")
        wcpu, pg1 = B.proc_cpu_ms(pid), B.pg_cpu_ms()
        done, window = B.sql("SELECT count(*) FILTER (WHERE state = 'succeeded'), "
                             "extract(epoch FROM max(finished_at) - min(started_at)) "
                             "FROM taskq.tasks", conn=conn)[0]
        B.worker(None)
        time.sleep(1)  # the worker's backends report their counters as they end
        av1 = B.sql("SELECT sum(autovacuum_count), sum(autoanalyze_count) "
                    "FROM pg_stat_user_tables WHERE schemaname = 'taskq'", conn=conn)[0]
    finally:
        conn.close()
    if done != N1M:
        raise BenchError(f"{done} of {N1M} tasks succeeded")
    return {"submit": sub,
            "drain": {"tasks_per_s": N1M / float(window), "seconds": float(window),
                      "worker_cpu_ms_per_1k": wcpu * 1000 / N1M,
                      "pg_cpu_ms_per_1k": (pg1 - pg0) * 1000 / N1M,
                      "autovacuums": int(av1[0] - av0[0]),
                      "autoanalyzes": int(av1[1] - av0[1])}}


def run_drain1m(rep):
    if rep != 1:
        return
    try:
        clean_rate(R.rows["drain1m.base"], rep)
        box = {}

        def one():
            box.update(drain1m())
            return dict(box["submit"])

        if B.measure(R.rows["drain1m.submit"], rep, one):
            rec = dict(box["drain"], rep=rep)
            R.rows["drain1m.drain"].add(rec)
            B.say(f"[rep {rep}/{S.reps}] {R.rows['drain1m.drain'].label}: "
                  f"{B.fmt_num(rec['tasks_per_s'])} tasks/s ({B.fmt_num(rec['seconds'])} s, "
                  f"{rec['autovacuums']} autovacuums)")
        else:
            R.rows["drain1m.drain"].fail(f"rep {rep}: see {R.rows['drain1m.submit'].label}")
    finally:
        T.restore()
