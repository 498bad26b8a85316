"""The table and results.json of ./dev bench: every taskq figure (median and range over the
reps), its ratio to the raw limit measured in the same run, to the peers when they ran, and
the issue's targets (issue 13) marked ok or MISS."""

import json

import benchlib as B
import peers as P
from benchlib import R, S

# detail fields: how each is shown (the median over the reps, or the worst rep: WORST)
DETAIL = {
    "p50_ms": "p50 {} ms", "p99_ms": "p99 {} ms", "max_ms": "max {} ms", "non2xx": "non-2xx {}",
    "socket_errors": "socket errors {}", "latency_avg_ms": "avg {} ms",
    "fcgi_cpu_ms_per_1k": "CPU/1k: fcgi {} ms", "nginx_cpu_ms_per_1k": "nginx {} ms",
    "pg_cpu_ms_per_1k": "PG {} ms", "worker_cpu_ms_per_1k": "CPU/1k: worker {} ms",
    "seconds": "{} s", "machine_busy_pct": "machine {}% busy",
    "drain_tasks_per_s": "drain meanwhile {} tasks/s", "idle_mib": "idle {} MiB",
    "after_mib": "after {} MiB", "threads": "{} threads",
    "submit_call_p50_ms": "submit call p50 {} ms",
    # writes (per task)
    "records_per_task": "{} WAL records", "fpi_bytes_per_task": "FPI {} B",
    "heap_ins_per_task": "heap ins {}", "heap_upd_per_task": "upd {}",
    "heap_hot_per_task": "HOT {}", "heap_del_per_task": "del {}",
    "idx_per_task": "index entries {}", "idx_bound_per_task": "(bound {})",
    "commits_per_task": "commits {}", "locks_per_task": "row locks {}",
    "node_cpu_ms_per_1k": "node {} ms/1k", "tasks": "{} tasks",
    # progress
    "of_ideal_pct": "{}% of the executors' ideal",
    "progress_writes_per_task": "{} progress writes a task",
    "share_min_pct": "idlest daemon {}% of an even share", "events": "{} events",
    # endurance, drain1m
    "offered_per_s": "offered {} tasks/s", "mean_pct": "mean {}%",
    "submitted_min_pct": "submitted ≥ {}% of offered", "backlog_max": "backlog ≤ {}",
    "clean_p99_ms": "before the hold p99 {} ms", "after_p99_ms": "after p99 {} ms",
    "hold_p50_ms": "held p50 {} ms", "clean_p50_ms": "before p50 {} ms",
    "hold_max_ms": "held max {} ms", "dead_events_max": "task_events ≤ {}",
    "dead_all_max": "all ≤ {}", "tasks_mib_start": "tasks {} MiB", "tasks_mib_end": "→ {} MiB",
    "run_twice": "run twice {}", "submitted": "{} submitted", "succeeded": "{} succeeded",
    "unacknowledged": "{} unacknowledged", "autovacuums": "{} autovacuums",
    "autoanalyzes": "{} autoanalyzes",
    # console
    "cpu_share_pct": "its CPU per task {}% of the drain's", "call_ms": "one call {} ms",
    "rolled": "over {} tasks",
    "requests": "{} requests",
}
# detail fields shown by their worst rep (max): a count of errors or of lost tasks
WORST = {"non2xx", "socket_errors", "run_twice", "unacknowledged"}


def detail(m):
    parts = []
    for field, _ in m.details:
        if field == "drain_active":
            v = m.values(field)
            if v and min(v) == 0:
                parts.append(f"drain ended early in {v.count(0)} of {len(v)} reps")
            continue
        st = m.stat(field)
        if not st:
            continue
        fmt = DETAIL.get(field, field + " {}")
        val = st["max"] if field in WORST else st["median"]
        if field == "socket_errors" and not val:
            continue
        if field == "pg_cpu_ms_per_1k" and m.group in ("raw", "writes", "progress",
                                                        "drain1m"):
            fmt = "PG CPU {} ms/1k"
        parts.append(fmt.format(B.fmt_num(val)))
    return ", ".join(parts)


def ratio(a, b):
    return a / b if a is not None and b else None


def rx(x):
    return f"{x:.2f}×" if x is not None else "–"


class Judge:
    """Ratios and targets, computed once from the medians."""

    def __init__(self, peers):
        self.peers = peers or {}
        self.vs_raw, self.vs_peers, self.targets = {}, {}, {}
        self.ratios = []  # for results.json

    def med(self, key, field=None):
        return R.median(key, field)

    def add_ratio(self, where, key, ref_label, value, ref):
        r = ratio(value, ref)
        if r is None:
            return None
        where.setdefault(key, []).append(f"{rx(r)} {ref_label}")
        self.ratios.append({"of": key, "to": ref_label, "value": value, "reference": ref,
                            "ratio": r})
        return r

    def target(self, key, text, ok):
        if ok is None:
            self.targets.setdefault(key, []).append(f"{text}: n/a")
        else:
            self.targets.setdefault(key, []).append(f"{text}: {'ok' if ok else 'MISS'}")

    def compute(self):
        m = self.med
        # submit through nginx, and from SQL, against the raw INSERT
        for c in (1, 16, 64):
            self.add_ratio(self.vs_raw, f"submit.http.{c}", f"INSERT@{c}",
                           m(f"submit.http.{c}"), m(f"raw.insert.{c}"))
        r16 = ratio(m("submit.http.16"), m("raw.insert.16"))
        self.target("submit.http.16", "≥0.8× raw", None if r16 is None else r16 >= 0.8)
        if m("submit.http.16") is not None:
            self.target("submit.http.16", "p50≤1 ms", m("submit.http.16", "p50_ms") <= 1)
            self.target("submit.http.16", "p99≤5 ms", m("submit.http.16", "p99_ms") <= 5)
            worst = max(R.rows["submit.http.16"].values("non2xx") or [0])
            errs = max(R.rows["submit.http.16"].values("socket_errors") or [0])
            self.target("submit.http.16", "0 non-202", worst == 0 and errs == 0)
        self.add_ratio(self.vs_raw, "submit.sql.16", "INSERT@16", m("submit.sql.16"),
                       m("raw.insert.16"))
        # drain against the raw pair and the batched pair
        for c in S.drain_conc:
            k = f"drain.{c}"
            self.add_ratio(self.vs_raw, k, "pair@8", m(k), m("raw.pair.8"))
            rb = self.add_ratio(self.vs_raw, k, "batched", m(k), m("raw.batch"))
            self.target(k, "≥0.6× batched", None if rb is None else rb >= 0.6)
        # polling against pgbench -S
        for k in ("poll.200", "poll.304"):
            rs = self.add_ratio(self.vs_raw, k, "-S@16", m(k), m("raw.select.16"))
            self.target(k, "≥0.4× -S", None if rs is None else rs >= 0.4)
            if m(k) is not None:
                self.target(k, "p99≤10 ms", m(k, "p99_ms") <= 10)
        if m("pickup.start") is not None:
            self.target("pickup.start", "p50≤2 ms", m("pickup.start") <= 2)
            self.target("pickup.start", "p99≤6 ms", m("pickup.start", "p99_ms") <= 6)
        if m("footprint.fcgi") is not None:
            self.target("footprint.fcgi", "≤16 MiB", m("footprint.fcgi") <= 16)
        if m("footprint.worker") is not None:
            self.target("footprint.worker", "≤24 MiB", m("footprint.worker") <= 24)
        # scale: each size against the empty table (issue: flat within 10%)
        for what in ("submit", "drain", "status"):
            base = m(f"scale.{what}.empty")
            for k in [k for k in R.rows if k.startswith(f"scale.{what}.") and not k.endswith(".empty")]:
                r = self.add_ratio(self.vs_raw, k, "empty table", m(k), base)
                if r is not None:
                    self.target(k, "≥0.9× empty", r >= 0.9)
        self.compute_writes()
        self.compute_long()
        for k in [k for k in R.rows if k.startswith("progress.drain.")]:
            if k != "progress.drain.1":
                self.add_ratio(self.vs_raw, k, "1 daemon", m(k), m("progress.drain.1"))
        self.compute_peers()

    def compute_writes(self):
        m = self.med
        for k, ref in (("writes.submit.http", "writes.gw.enqueue"),
                       ("writes.drain", "writes.gw.drain"), ("writes.total", "writes.gw.total")):
            self.add_ratio(self.vs_peers, k, "GW (WAL B)", m(k), m(ref))
            self.add_ratio(self.vs_peers, k, "GW (PG CPU)", m(k, "pg_cpu_ms_per_1k"),
                           m(ref, "pg_cpu_ms_per_1k"))

    def compute_long(self):
        m = self.med
        self.add_ratio(self.vs_raw, "endurance.claim", "before the hold",
                       m("endurance.claim"), m("endurance.claim", "clean_p99_ms"))
        self.add_ratio(self.vs_raw, "drain1m.drain", f"drain {S.drain_n:,}",
                       m("drain1m.drain"), m("drain1m.base"))
        # the console: reads p99 ≤ 200 ms with 10M tasks, the rollup ≤ 3% of the drain
        for k in ("console.list", "console.payload", "console.charts"):
            if m(k) is not None:
                self.target(k, "p99 ≤ 200 ms", m(k) <= 200)
        if m("console.rollup_cost") is not None:
            self.target("console.rollup_cost", "A/B ≤ 3%", m("console.rollup_cost") <= 3)
            share = m("console.rollup_cost", "cpu_share_pct")
            self.target("console.rollup_cost", "CPU share ≤ 3%", None if share is None else share <= 3)
        if m("endurance.exact") is not None:
            self.target("endurance.exact", "0 lost", m("endurance.exact") == 0)
            self.target("endurance.exact", "0 run twice", m("endurance.exact", "run_twice") == 0)

    def compute_peers(self):
        pr = self.peers
        if not pr.get("summary"):
            return
        m = self.med

        def med(r):
            return r.get("median") if r else None

        for peer, name in (("graphile-worker", "GW"), ("pg-boss", "pg-boss")):
            r = P.find(pr, peer, "enqueue")
            if r:
                self.add_ratio(self.vs_peers, "submit.http.16",
                               f"{name} enqueue@{r.get('concurrency')}", m("submit.http.16"),
                               med(r))
        # batch submit against the peers' bulk enqueue (issue 8)
        for peer, name in (("graphile-worker", "GW add_jobs"), ("pg-boss", "pg-boss insert")):
            r = P.find(pr, peer, "enqueue-bulk")
            if r:
                for k in ("batch.http", "batch.sql.1k", "batch.sql.all"):
                    self.add_ratio(self.vs_peers, k, f"{name} bulk", m(k), med(r))
        for c in S.drain_conc:
            k = f"drain.{c}"
            gd = P.find_drain(pr, "graphile-worker", lambda _c: "default", c)
            gt = P.find_drain(pr, "graphile-worker", lambda _c: "tuned", c)
            pb = P.find_drain(pr, "pg-boss", lambda _c: f"batch 1x{_c}", c)
            r1 = self.add_ratio(self.vs_peers, k, f"GW default@{gd and gd.get('concurrency')}",
                                m(k), med(gd))
            r2 = self.add_ratio(self.vs_peers, k, f"GW tuned@{gt and gt.get('concurrency')}",
                                m(k), med(gt))
            r3 = self.add_ratio(self.vs_peers, k,
                                f"pg-boss batch@{pb and pb.get('concurrency')}", m(k), med(pb))
            self.target(k, "≥2× GW default", None if r1 is None else r1 >= 2)
            self.target(k, "≥1× GW tuned", None if r2 is None else r2 >= 1)
            self.target(k, "≥5× pg-boss batch", None if r3 is None else r3 >= 5)
        # latency: the peers measure from the start of the add call to the task's start
        for peer, cfg, name in (("graphile-worker", "default", "GW"),
                                ("pg-boss", "notify 8x1", "pg-boss notify")):
            r = P.find(pr, peer, "pickup-latency", cfg)
            self.add_ratio(self.vs_peers, "pickup.call", f"{name} p50", m("pickup.call"), med(r))
        # CPU per 1k tasks, submit + drain, against Graphile Worker's enqueue + default drain
        tq = m("cpu.total")
        ge = P.cpu(pr, P.find(pr, "graphile-worker", "enqueue"))
        gdr = P.cpu(pr, P.find_drain(pr, "graphile-worker", lambda _c: "default", 8))
        if tq is not None and ge is not None and gdr is not None:
            r = self.add_ratio(self.vs_peers, "cpu.total", "GW enqueue+drain", tq, ge + gdr)
            self.target("cpu.total", "≤0.5× GW", r <= 0.5)


def cpu_total_row():
    """Derived: CPU per 1k tasks of submit@16 (fcgi + nginx + PG) plus drain@8 (worker + PG)."""
    m = R.get("cpu.total", "cpu", "CPU per 1k tasks: submit@16 + drain@8 (all processes)", "",
              "ms/1k", main="value", higher_better=False)
    sub = [R.median("submit.http.16", f) for f in
           ("fcgi_cpu_ms_per_1k", "nginx_cpu_ms_per_1k", "pg_cpu_ms_per_1k")]
    dr = [R.median("drain.8", f) for f in ("worker_cpu_ms_per_1k", "pg_cpu_ms_per_1k")]
    if None not in sub + dr and not m.runs:
        m.add({"value": sum(sub) + sum(dr), "submit_ms": sum(sub), "drain_ms": sum(dr)})
        m.note = (f"submit {B.fmt_num(sum(sub))} (fcgi {B.fmt_num(sub[0])}, nginx "
                  f"{B.fmt_num(sub[1])}, PG {B.fmt_num(sub[2])}) + drain {B.fmt_num(sum(dr))} "
                  f"(worker {B.fmt_num(dr[0])}, PG {B.fmt_num(dr[1])}); medians")


def peer_rows(pr):
    rows = []
    for r in (pr or {}).get("summary", []):
        name = {"enqueue": "enqueue, 1 job per call", "enqueue-bulk": "enqueue, bulk",
                "drain": "drain no-op jobs", "pickup-latency": "pickup latency (add → start)",
                "pgbench-insert": "INSERT 1 row/tx", "pgbench-claim": "claim + complete pair",
                "pgbench-select": "PK SELECT (-S)", "pgbench-insert_notify":
                "INSERT + NOTIFY / tx", "pgbench-gw_add_job": "add_job() from SQL",
                "perftest-queue": "perfTest queue", "perftest-run": "perfTest run",
                "perftest-latency": "perfTest latency"}.get(r.get("test"), r.get("test"))
        cfg = r.get("config") or ""
        rng = (f"{B.fmt_num(r.get('min'))}–{B.fmt_num(r.get('max'))}"
               if r.get("min") is not None and (r.get("n") or 0) > 1 else "–")
        rows.append(["peers", f"{r.get('peer')}: {name}" + (f" ({cfg})" if cfg else ""),
                     str(r.get("concurrency", "")), B.fmt_num(r.get("median")), rng,
                     r.get("unit", ""), f"{r.get('n', '')} runs", "", "", ""])
    return rows


def table(judge, pr):
    head = ["group", "measurement", "conc", "median", "range", "unit", "detail (medians)",
            "vs raw (same run)", "vs peers", "target"]
    rows = []
    for m in R.rows.values():
        if (m.group == "cpu" and not m.runs) or (m.group != "cpu" and not S.want(m.group)):
            continue
        st = m.stat()
        if st:
            med = B.fmt_num(st["median"])
            rng = f"{B.fmt_num(st['min'])}–{B.fmt_num(st['max'])}" if st["n"] > 1 else "–"
        else:
            med, rng = "FAILED", "–"
        det = detail(m) if m.group != "cpu" else m.note
        if m.errors:
            det = (det + "; " if det else "") + "; ".join(m.errors[:2])
            if not st:
                det = "; ".join(m.errors[:2])
        rows.append([m.group, m.label, str(m.conc), med, rng, m.unit, det,
                     ", ".join(judge.vs_raw.get(m.key, [])),
                     ", ".join(judge.vs_peers.get(m.key, [])),
                     ", ".join(judge.targets.get(m.key, []))])
    rows += peer_rows(pr)
    esc = lambda s: str(s).replace("|", "\\|")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def write(header_lines, info, pr, started, finished):
    cpu_total_row()
    judge = Judge(pr)
    judge.compute()
    legend = ("Median over the reps and its range (min–max); ratios are taskq ÷ reference "
              "from this run (for ms and MiB rows, below 1 is better); targets from issue 13 "
              "(endurance: the design's invariants, nothing lost, nothing run twice).")
    notes = []
    if pr and pr.get("note"):
        notes.append(f"peers: {pr['status']}: {pr['note']}")
    if pr and pr.get("machine"):
        pm = pr["machine"]
        notes.append(f"peers ran on their own initdb-defaults cluster over TCP (127.0.0.1:55432) "
                     f"with PostgreSQL {pm.get('postgresql')}, Node {pm.get('node')}, "
                     f"graphile-worker {pm.get('graphile_worker')}, pg-boss {pm.get('pg_boss')}; "
                     f"taskq's raw rows use the stack's cluster over its unix socket")
    sections = []
    for fn in R.sections:
        lines = fn()
        if lines:
            sections += [""] + lines
    text = "\n".join(header_lines + ["", legend, "", table(judge, pr)] +
                     ([""] + [f"Note: {n}" for n in notes] if notes else []) + sections)
    print("\n" + text, flush=True)
    with open(S.out_md, "w") as f:
        f.write(text + "\n")
    out = dict(info, started_at=started, finished_at=finished,
               measurements=[m.to_json() for m in R.rows.values()
                             if S.want(m.group) or m.runs],
               ratios=judge.ratios, targets=judge.targets,
               peers={k: v for k, v in (pr or {}).items() if k != "cpu"} or None)
    with open(S.out_json, "w") as f:
        json.dump(out, f, indent=2, default=str)
        f.write("\n")
    B.say(f"wrote {S.out_json} and {S.out_md}")
