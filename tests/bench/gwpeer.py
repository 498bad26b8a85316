"""gwpeer: Graphile Worker on the bench stack's own cluster, for the `writes` group: the WAL
bytes (and records, index entries, commits) per job of its enqueue and of its drain.

It drives the peers' harness as it is (../shared/bench/peers/node/gw-bench.mjs, modes
`enqueue` and `drain`, copied beside an npm install of graphile-worker, as run.sh does) against
this cluster over its unix socket, in a database of its own. The harness creates that
database, migrates, warms up, fills, vacuums and checkpoints before each measured phase, all
of which writes WAL too; so the WAL delta around the whole process would not be the job's.
Instead a sampler reads (WAL position, jobs in graphile_worker._private_jobs) every 25 ms
while the harness runs, and the figure is the slope between 10% and 90% of the phase's jobs:
Δ WAL bytes / Δ jobs. pg_waldump counts the records of that same window. The harness's own
JSON line gives its rate and CPU. It never edits the harness and never touches taskq's tables.
"""

import glob
import json
import os
import shutil
import threading
import time
import urllib.parse

import psycopg2

import benchlib as B
import walstat as W
from benchlib import S, BenchError

GW_VERSION = os.environ.get("GW_VERSION", "0.18.0")
DB = "bench_gw"
EVERY_S = 0.025


def npm_dir():
    """A directory with graphile-worker@GW_VERSION installed and the harness beside it: the
    peers' own ($PEERBENCH_DIR/gw) when it has the version, else var/bench/npm/gw (npm install
    there on first use)."""
    src = os.path.join(S.peers_dir, "node")
    if not os.path.isfile(os.path.join(src, "gw-bench.mjs")):
        raise BenchError(f"{src}/gw-bench.mjs is missing (shared/ beside the checkout)")
    if not shutil.which("node") or not shutil.which("npm"):
        raise BenchError("node and npm are needed for Graphile Worker (apt-get install nodejs npm)")
    cands = [os.path.join(os.environ.get("PEERBENCH_DIR", "/tmp/peerbench"), "gw"),
             os.path.join(S.var, "npm", "gw")]

    def has(d):
        try:
            with open(os.path.join(d, "node_modules", "graphile-worker", "package.json")) as f:
                return json.load(f).get("version") == GW_VERSION
        except (OSError, ValueError):
            return False

    d = next((c for c in cands if has(c)), None)
    if d is None:
        d = cands[-1]
        os.makedirs(d, exist_ok=True)
        if not os.path.exists(os.path.join(d, "package.json")):
            with open(os.path.join(d, "package.json"), "w") as f:
                f.write('{"private":true}\n')
        B.say(f"  writes: npm install graphile-worker@{GW_VERSION} into {d}")
        B.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
               f"graphile-worker@{GW_VERSION}"], timeout=600, cwd=d)
    for f in glob.glob(os.path.join(src, "*.mjs")):
        shutil.copy(f, d)
    return d


class Sampler(threading.Thread):
    """(monotonic time, WAL position, jobs in the table) every EVERY_S, reconnecting while
    the harness drops and re-creates its database."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples = []
        self.stop = threading.Event()

    def run(self):
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = psycopg2.connect(S.conninfo, dbname=DB, connect_timeout=2)
                    conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_current_wal_lsn()::text, "
                                "(SELECT count(*) FROM graphile_worker._private_jobs)")
                    lsn, n = cur.fetchone()
                self.samples.append((time.monotonic(), lsn, n))
            except psycopg2.Error:
                if conn is not None:
                    try:
                        conn.close()
                    except psycopg2.Error:
                        pass
                conn = None
            self.stop.wait(EVERY_S)
        if conn is not None:
            conn.close()


def window(samples, n, mode):
    """The samples at 10% and 90% of the measured phase's jobs."""
    counts = [s[2] for s in samples]
    if mode == "enqueue":
        full = next((i for i, c in enumerate(counts) if c >= n), None)
        if full is None:
            raise BenchError(f"the sampler never saw {n} jobs queued")
        zero = max((i for i in range(full) if counts[i] == 0), default=0)
        seg = range(zero, full + 1)
        a = next((i for i in seg if counts[i] >= 0.1 * n), None)
        b = next((i for i in seg if counts[i] >= 0.9 * n), None)
    else:
        full = max((i for i, c in enumerate(counts) if c >= n), default=None)
        if full is None:
            raise BenchError(f"the sampler never saw {n} jobs queued")
        seg = range(full, len(counts))
        a = next((i for i in seg if counts[i] <= 0.9 * n), None)
        b = next((i for i in seg if counts[i] <= 0.1 * n), None)
    if a is None or b is None or a >= b:
        seen = [c for i, c in enumerate(counts) if i == 0 or c != counts[i - 1]]
        raise BenchError(f"too few samples inside the {mode} ({len(samples)} in all; "
                         f"counts seen {seen[:12]}…{seen[-6:]})")
    return samples[a], samples[b]


def url():
    return "postgres://taskq@" + urllib.parse.quote(S.run_dir, safe="") + ":5432"


def phase(d, mode, n, conc):
    """One harness run (enqueue or drain of n jobs at conc callers/concurrency) with the
    sampler; its per-job write figures."""
    argv = ["node", "gw-bench.mjs", mode, f"--n={n}"]
    argv.append(f"--callers={conc}" if mode == "enqueue" else f"--concurrency={conc}")
    env = dict(os.environ, PEERBENCH_PGURL=url(), PEERBENCH_DB=DB,
               PG_POSTMASTER_PID_FILE=os.path.join(S.pgdata, "postmaster.pid"))
    env.pop("RESULTS_JSONL", None)
    drop_db()  # the sampler must not see the jobs of an earlier run
    slot = W.hold_wal()
    smp = Sampler()
    smp.start()
    try:
        p = B.run(argv, timeout=900, env=env, cwd=d, check=False)
    finally:
        smp.stop.set()
        smp.join(5)
    try:
        if p.returncode != 0:
            tail = (p.stderr.strip() or p.stdout.strip()).splitlines()[-2:]
            raise BenchError(f"gw-bench.mjs {mode} exited {p.returncode}: {' | '.join(tail)}")
        line = next((l for l in p.stdout.splitlines()[::-1] if l.startswith("{")), None)
        if not line:
            raise BenchError(f"gw-bench.mjs {mode} printed no result")
        rec = json.loads(line)
        a, b = window(smp.samples, n, mode)
        jobs = abs(b[2] - a[2])
        W.flush_wal()
        bytes_ = W.lsn_int(b[1]) - W.lsn_int(a[1])
        out = {"tasks": n, "window_jobs": jobs, "wal_bytes_per_task": bytes_ / jobs,
               "wal_bytes": bytes_, "samples": len(smp.samples),
               "jobs_per_s": rec.get("jobs_per_s"), "pg_cpu_ms_per_1k": rec.get("pg_cpu_ms_per_1k"),
               "node_cpu_ms_per_1k": rec.get("node_cpu_ms_per_1k"), "settings": rec.get("settings")}
        if slot:
            try:
                wal = W.waldump(a[1], b[1], W.relmap(DB))
            except BenchError as e:
                B.say(f"  walstat: {e}")
                wal = None
            if wal:
                t = wal["totals"]
                out.update({"records_per_task": t["records"] / jobs,
                            "idx_per_task": t["idx"] / jobs,
                            "fpi_bytes_per_task": t["fpi_bytes"] / jobs,
                            "rec_bytes_per_task": (t["bytes"] - t["fpi_bytes"]) / jobs,
                            "commits_per_task": t["commits"] / jobs,
                            "locks_per_task": t["lock"] / jobs})
                for k in ("ins", "upd", "hot", "del"):
                    out[f"heap_{k}_per_task"] = t[k] / jobs
                out["relations"] = {r: {f"wal_{k}": v / jobs for k, v in w.items()}
                                    for r, w in wal["by_rel"].items()}
                out["wal_kinds"] = wal["by_kind"]
        return out
    finally:
        W.drop_slot()


def drop_db():
    B.sql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
