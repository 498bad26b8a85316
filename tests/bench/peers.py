"""Issue 13 item 8: the peers (Graphile Worker, pg-boss, and raw PostgreSQL on their own
initdb-defaults cluster), measured by ../shared/bench/peers/run.sh in the same run, and folded
into taskq's table from its summary JSON ($PEERBENCH_OUT/<stamp>.summary.json:
{"machine": {…}, "summary": [{peer, test, config, concurrency, unit, median, min, max, n,
settings}]}) and its raw JSON lines (<stamp>.jsonl, for the CPU figures)."""

import glob
import json
import os
import statistics
import subprocess
import time

import benchlib as B
from benchlib import S


def run():
    """Run the peers' benchmark; returns {"status", "note", "machine", "summary", "cpu"}."""
    script = os.path.join(S.peers_dir, "run.sh")
    if not os.path.isfile(script):
        note = f"{script} is missing (shared/ is not beside the checkout): peers skipped"
        B.say(f"peers: {note}")
        return {"status": "skipped", "note": note}
    out = os.path.join(S.var, "peers")
    os.makedirs(out, exist_ok=True)
    env = dict(os.environ, PEERBENCH_OUT=out)
    env.pop("ONLY", None)  # ours names groups of ./dev bench, not of run.sh
    if os.environ.get("PEERS_ONLY"):
        env["ONLY"] = os.environ["PEERS_ONLY"]
    for k in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "TASKQ_DATABASE_URL"):
        env.pop(k, None)
    logf = os.path.join(S.var, "log", "peers.log")
    B.say(f"peers: {script}{' (QUICK)' if S.quick else ''}; about "
          f"{'2' if S.quick else '25'} minutes; full output in {logf}")
    t0 = time.time()
    with open(logf, "w") as lf:
        p = subprocess.Popen(["bash", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, text=True, env=env, cwd=S.top)
        for line in p.stdout:
            lf.write(line)
            lf.flush()
            # run.sh's progress lines look like "== 12:34:56  [rep 1/3] gw drain default c=8"
            if line.startswith("== ") or "FAILED" in line:
                B.say(f"peers: {line.strip().lstrip('= ').strip()}")
        rc = p.wait()
    found = [f for f in glob.glob(os.path.join(out, "*.summary.json"))
             if os.path.getmtime(f) >= t0 - 1]
    if not found:
        note = f"run.sh exited {rc} without a summary JSON (see {logf})"
        B.say(f"peers: FAILED: {note}")
        return {"status": "failed", "note": note}
    path = max(found, key=os.path.getmtime)
    with open(path) as f:
        data = json.load(f)
    res = {"status": "ok" if rc == 0 else "partial",
           "note": f"{path}" + ("" if rc == 0 else f"; run.sh exited {rc}: some peer "
                                                     f"measurements failed (see {logf})"),
           "machine": data.get("machine"), "summary": data.get("summary", []),
           "cpu": cpu_medians(path[:-len(".summary.json")] + ".jsonl")}
    B.say(f"peers: {len(res['summary'])} rows from {os.path.basename(path)}"
          + ("" if rc == 0 else f" (run.sh exited {rc})"))
    return res


def cpu_medians(jsonl):
    """(peer, test, config, concurrency) -> median node and PG CPU ms per 1k jobs."""
    recs = []
    try:
        with open(jsonl) as f:
            recs = [json.loads(l) for l in f if l.strip().startswith("{")]
    except OSError:
        return {}
    groups = {}
    for r in recs:
        if r.get("test") == "machine":
            continue
        conc = r.get("concurrency", r.get("clients", r.get("callers")))
        k = "|".join(str(x) for x in (r.get("peer"), r.get("test"), r.get("config") or "", conc))
        groups.setdefault(k, []).append(r)
    out = {}
    for k, g in groups.items():
        d = {}
        for field in ("node_cpu_ms_per_1k", "pg_cpu_ms_per_1k"):
            v = [r[field] for r in g if isinstance(r.get(field), (int, float))]
            if v:
                d[field] = statistics.median(v)
        if d:
            out[k] = d
    return out


def find(peers, peer, test, config=None, conc=None):
    """The summary row of one peer measurement (config and concurrency when given)."""
    for r in (peers or {}).get("summary", []):
        if r.get("peer") != peer or r.get("test") != test:
            continue
        if config is not None and (r.get("config") or "") != config:
            continue
        if conc is not None and str(r.get("concurrency")) != str(conc):
            continue
        return r
    return None


def find_drain(peers, peer, config_of, c):
    """The peer's drain at concurrency c, else at the nearest concurrency it was run at."""
    r = find(peers, peer, "drain", config_of(c), c)
    if r:
        return r
    cands = [x for x in (peers or {}).get("summary", [])
             if x.get("peer") == peer and x.get("test") == "drain"]
    best = None
    for x in cands:
        try:
            xc = int(str(x.get("concurrency")))
        except ValueError:
            continue
        if (x.get("config") or "") == config_of(xc) and (
                best is None or abs(xc - c) < abs(int(str(best["concurrency"])) - c)):
            best = x
    return best


def cpu(peers, r):
    if not r:
        return None
    k = "|".join(str(x) for x in (r.get("peer"), r.get("test"), r.get("config") or "",
                                    r.get("concurrency")))
    d = (peers or {}).get("cpu", {}).get(k)
    if not d or "pg_cpu_ms_per_1k" not in d:
        return None
    return d.get("node_cpu_ms_per_1k", 0) + d["pg_cpu_ms_per_1k"]
