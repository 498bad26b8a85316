"""Issue 13 item 1: PostgreSQL's own limit on the stack's cluster, with pgbench and the peers'
scripts (../shared/bench/peers/pgbench), in scratch databases of their own (bench_raw for the
task table, bench_select for `pgbench -S`), so taskq's own tables are never touched."""

import os
import shutil

import benchlib as B
from benchlib import R, S, BenchError

RAW_DB = "bench_raw"
SELECT_DB = "bench_select"


def rows():
    return [
        ("raw.insert.1", "INSERT 1 row/tx (pgbench)", 1),
        ("raw.insert.16", "INSERT 1 row/tx (pgbench)", 16),
        ("raw.insert.64", "INSERT 1 row/tx (pgbench)", 64),
    ]


def define():
    details = [("latency_avg_ms", ""), ("pg_cpu_ms_per_1k", "")]
    for key, label, c in rows():
        R.get(key, "raw", label, c, "tx/s", main="tps", details=details)
    R.get("raw.pair.8", "raw", "claim + complete pair, 1 row each (pgbench)", 8, "pairs/s",
          main="tps", details=details)
    R.get("raw.batch", "raw", f"batched pair, k={S.batch_k} (claim_batch.sql, fresh table)",
          S.batch_clients, "jobs/s", main="jobs_per_s", details=details)
    R.get("raw.select.16", "raw", "PK SELECT (pgbench -S, scale 10)", 16, "tx/s", main="tps",
          details=details)


def scripts():
    """The peers' pgbench scripts, copied where the stack's user can read them."""
    src = os.path.join(S.peers_dir, "pgbench")
    if not os.path.isdir(src):
        raise BenchError(f"{src} is missing (shared/ is expected beside the checkout)")
    os.makedirs(S.sql_dir, exist_ok=True)
    for f in ("schema.sql", "insert.sql", "claim.sql", "claim_batch.sql", "prefill.sql"):
        shutil.copy(os.path.join(src, f), os.path.join(S.sql_dir, f))
    return S.sql_dir


def script(name):
    return os.path.join(S.sql_dir, name)


def read(name):
    with open(script(name)) as f:
        return f.read()


def fresh_table(prefill=0, batch=False):
    """The peers' bench_tasks table (schema.sql), optionally pre-filled, vacuumed."""
    B.ensure_db(RAW_DB)
    B.sql(read("schema.sql"), dbname=RAW_DB)
    if batch:
        B.sql("ALTER TABLE bench_tasks ADD COLUMN worker int; "
              "CREATE INDEX ON bench_tasks (worker) WHERE state = 'running'", dbname=RAW_DB)
    if prefill:
        B.sql(read("prefill.sql").replace(":rows", str(int(prefill))), dbname=RAW_DB)
    B.sql("VACUUM ANALYZE bench_tasks", dbname=RAW_DB)
    B.sql("CHECKPOINT")


def queued_left():
    return B.scalar("SELECT count(*) FROM bench_tasks WHERE state = 'queued'", dbname=RAW_DB)


def insert(c):
    fresh_table()
    B.pgbench(RAW_DB, c, S.warmup_s, script("insert.sql"))  # warm-up
    fresh_table()
    return B.pgbench(RAW_DB, c, S.pgbench_s, script("insert.sql"))


def pair():
    # ~5k pairs/s here: 25k rows a second of run leaves a wide margin
    n = 25000 * (S.pgbench_s + S.warmup_s) + 50000
    fresh_table(prefill=n)
    B.pgbench(RAW_DB, 8, S.warmup_s, script("claim.sql"))  # warm-up on the same table
    r = B.pgbench(RAW_DB, 8, S.pgbench_s, script("claim.sql"))
    r["queued_left"] = queued_left()
    if not r["queued_left"]:
        raise BenchError("the claim run emptied the table; the figure is bounded by its size")
    return r


def batch():
    k = S.batch_k
    # warm-up on a small table, then the measured run on a freshly filled and vacuumed one
    fresh_table(prefill=100000, batch=True)
    B.pgbench(RAW_DB, S.batch_clients, S.warmup_s, script("claim_batch.sql"), defines={"k": k})
    n = 120000 * S.pgbench_s  # the limit is ~60k jobs/s here: twice that is left over
    fresh_table(prefill=n, batch=True)
    r = B.pgbench(RAW_DB, S.batch_clients, S.pgbench_s, script("claim_batch.sql"),
                  defines={"k": k})
    r["jobs_per_s"] = r["tps"] * k
    r["rows_prefilled"] = n
    r["queued_left"] = queued_left()
    for key in ("pg_cpu_ms_per_1k",):  # per 1k jobs, not per 1k pgbench transactions
        if r.get(key) is not None:
            r[key] /= k
    if r["queued_left"] < k * S.batch_clients:
        raise BenchError(f"the batched run emptied its {n} rows; raise the pre-fill")
    return r


def select():
    B.ensure_db(SELECT_DB)
    have = B.scalar("SELECT count(*) FROM pg_class WHERE relname = 'pgbench_accounts'",
                    dbname=SELECT_DB)
    if not have:
        B.run(B.as_stack_user([os.path.join(S.pgbin, "pgbench"), "-i", "-q", "-s", "10",
                               "-h", S.run_dir, "-p", "5432", "-U", "taskq", SELECT_DB]),
              timeout=300)
    B.sql("VACUUM ANALYZE pgbench_accounts", dbname=SELECT_DB)
    B.pgbench(SELECT_DB, 16, S.warmup_s, select=True)
    return B.pgbench(SELECT_DB, 16, S.pgbench_s, select=True)


def run_rep(rep):
    try:
        scripts()
    except BenchError as e:
        for key in ["raw.insert.1", "raw.insert.16", "raw.insert.64", "raw.pair.8",
                    "raw.batch", "raw.select.16"]:
            R.rows[key].fail(f"rep {rep}: {e}")
        B.say(f"[rep {rep}/{S.reps}] raw: FAILED: {e}")
        return
    for key, _, c in rows():
        B.measure(R.rows[key], rep, insert, c)
    B.measure(R.rows["raw.pair.8"], rep, pair)
    B.measure(R.rows["raw.batch"], rep, batch)
    B.measure(R.rows["raw.select.16"], rep, select)
