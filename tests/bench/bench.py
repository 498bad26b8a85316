#!/usr/bin/python3
"""./dev bench: taskq's hot paths against PostgreSQL's own limit (and the peers), one table.

Run by tools/dev/bench.sh, which builds, starts a stack of its own (TASKQ_VAR=var/bench, a
free port) and hands over its paths in the environment. The measurements (issue 13):

  raw        pgbench on the stack's cluster: INSERT @1/16/64, claim+complete pair @8, the
             batched pair (k=100) on a fresh table, pgbench -S @16       (raw.py)
  submit     POST /api/tasks with wrk @1/16/64, taskq.submit() with pgbench @16
  drain      DRAIN_N queued noop tasks, worker at concurrency 8 and 32
  pickup     PICKUP_N submits 20 ms apart: started_at − created_at, and to done
  poll       GET /api/tasks/{id} with wrk @16 (and If-None-Match → 304) during a drain
  footprint  RSS of taskq-fcgi (--threads 32) and taskq-worker (--concurrency 32)
                                                                          (taskq_paths.py)
  writes     per task and verb (submit, claim + complete, submit_many): WAL bytes, heap
             rows, index entries, PostgreSQL CPU; Graphile Worker's on the same cluster
                                                     (writes.py, walstat.py, gwpeer.py)
  progress   tasks with 10 progress writes each, drained by 1, 2 and 4 worker daemons;
             progress write → SSE client latency meanwhile               (progress.py)
  endurance  half the clean drain rate for 30 min, the xmin horizon held for the middle 20;
             exact count by id at the end (not in the default set)      (endurance.py)
  drain1m    1,000,000 tasks submitted and drained (not in the default set)
  peers      ../shared/bench/peers/run.sh, folded in (not in the default set) (peers.py)
  console    the console's reads (task list, payload search, charts) with 10,000,000
             finished tasks, and the rollup chore's cost to the drain (on vs off; not in
             the default set)                                              (console.py)

Each is run after a warm-up and repeated REPS times (default 3, interleaved: rep 1 of every
group, then rep 2 ...); QUICK=1 means 1 rep and short runs; ONLY="raw submit …" picks groups.
A failed measurement is marked in the table; the run goes on and exits 0.
"""

import datetime
import os
import platform
import re
import subprocess
import sys
import time

# tests/lib holds what the benchmarks share with the integration tests (taskq_sse)
sys.path.insert(1, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))

import benchlib as B  # noqa: E402
from benchlib import S  # noqa: E402
import console  # noqa: E402
import endurance  # noqa: E402
import peers  # noqa: E402
import scale  # noqa: E402
import raw  # noqa: E402
import report  # noqa: E402
import progress  # noqa: E402
import taskq_paths as T  # noqa: E402
import writes  # noqa: E402


def cmd_out(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return (p.stdout + p.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine():
    mem = cpu = osname = ""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    with open("/proc/cpuinfo") as f:
        m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
        cpu = m.group(1).strip() if m else platform.processor()
    try:
        with open("/etc/os-release") as f:
            m = re.search(r'^PRETTY_NAME="?([^"\n]*)', f.read(), re.M)
            osname = m.group(1) if m else ""
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu_model": cpu, "memory": mem, "os": osname,
            "kernel": platform.release(), "loadavg_at_start": list(os.getloadavg())}


def versions():
    v = {}
    try:
        v["postgresql"] = B.scalar("SHOW server_version")
        v["pg_settings"] = B.scalar(
            "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) "
            "FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', "
            "'shared_buffers', 'max_connections', 'max_wal_size', 'checkpoint_timeout', "
            "'autovacuum')")
    except Exception as e:  # the table says so; the measurements will fail on their own
        v["postgresql"] = f"unreachable ({e})"
    v["nginx"] = cmd_out(["nginx", "-v"]).replace("nginx version: ", "")
    v["wrk"] = (cmd_out(["wrk", "-v"]).splitlines() or [""])[0].split(" [")[0]
    v["pgbench"] = cmd_out([os.path.join(S.pgbin, "pgbench"), "--version"])
    v["taskq"] = cmd_out(["git", "-C", S.top, "describe", "--always", "--dirty", "--tags"])
    v["build"] = S.build
    return v


def header(info):
    m, v = info["machine"], info["versions"]
    la = ", ".join(f"{x:.2f}" for x in m["loadavg_at_start"])
    return [
        f"# taskq bench — {info['started_at']}, {S.reps} rep(s){' (QUICK)' if S.quick else ''}"
        f", groups: {' '.join(S.groups)}",
        "",
        f"- machine: {m['nproc']} × {m['cpu_model']}, {m['memory']} memory; {m['os']}, "
        f"kernel {m['kernel']}; load average at start {la}",
        f"- versions: PostgreSQL {v.get('postgresql')}, nginx {v.get('nginx')}, "
        f"{v.get('wrk')}, {v.get('pgbench')}; taskq {v.get('taskq')} ({v.get('build')})",
        f"- PostgreSQL (the stack's cluster, initdb defaults + max_connections): "
        f"{v.get('pg_settings')}",
        f"- stack: taskq-fcgi {os.environ.get('TASKQ_FCGI_THREADS', '8')} threads, worker "
        f"concurrency {S.concurrency}; pgbench {S.pgbench_s} s, wrk {S.wrk_s} s, warm-up "
        f"{S.warmup_s} s, drain {S.drain_n:,} tasks, pickup {S.pickup_n} × "
        f"{S.pickup_gap_ms} ms; command: {os.environ.get('BENCH_COMMAND', './dev bench')}",
    ]


def main():
    t0 = time.monotonic()
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    info = {"started_at": started, "machine": machine(), "versions": versions(),
            "settings": {"reps": S.reps, "quick": S.quick, "groups": S.groups,
                         "pgbench_seconds": S.pgbench_s, "wrk_seconds": S.wrk_s,
                         "warmup_seconds": S.warmup_s, "drain_n": S.drain_n,
                         "drain_concurrency": S.drain_conc, "pickup_n": S.pickup_n,
                         "pickup_gap_ms": S.pickup_gap_ms, "batch_k": S.batch_k,
                         "batch_clients": S.batch_clients, "worker_concurrency": S.concurrency}}
    head = header(info)
    print("\n".join(head) + "\n", flush=True)
    raw.define()
    T.define()
    scale.define()
    writes.define()
    progress.define()
    endurance.define()
    console.define()
    groups = [("raw", raw.run_rep), ("submit", T.run_submit), ("batch", T.run_batch),
              ("drain", T.run_drain),
              ("pickup", T.run_pickup), ("poll", T.run_poll), ("footprint", T.run_footprint),
              ("scale", scale.run_scale), ("writes", writes.run_writes),
              ("progress", progress.run_progress), ("endurance", endurance.run_endurance),
              ("drain1m", endurance.run_drain1m), ("console", console.run_console)]
    for rep in range(1, S.reps + 1):
        for name, fn in groups:
            if not S.want(name):
                continue
            try:
                fn(rep)
            except Exception as e:  # a group that could not even restore the stack
                B.say(f"[rep {rep}/{S.reps}] {name}: FAILED: {e}")
                for m in B.R.rows.values():
                    if m.group == name:
                        m.fail(f"rep {rep}: {name}: {e}")
    pr = peers.run() if S.want("peers") else None
    info["machine"]["loadavg_at_end"] = list(os.getloadavg())
    info["duration_s"] = round(time.monotonic() - t0)
    finished = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head[0] += f"; took {info['duration_s'] // 60} min {info['duration_s'] % 60} s"
    head[2] += ", at end " + ", ".join(f"{x:.2f}" for x in info["machine"]["loadavg_at_end"])
    report.write(head, info, pr, started, finished)
    return 0


if __name__ == "__main__":
    sys.exit(main())
