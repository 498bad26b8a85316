"""walstat: what a window of work wrote to PostgreSQL, for the `writes` group (and any other
that wants per-task write counts).

A window is two snapshots: the WAL insert position (pg_current_wal_lsn(); the delta is the WAL
bytes the cluster wrote, page headers and padding included), pg_stat_user_tables' tuple
counters of one schema (heap rows inserted, updated, HOT-updated, deleted per relation) and
PostgreSQL's CPU from /proc (benchlib). A physical replication slot holds the window's WAL
until pg_waldump has read it: its records, counted by kind and by relation, give the exact
number of index entries written per index (a B-tree leaf insert, posting-list insert or leaf
split is one entry), row locks, commits and full-page-image bytes. It reads only: it never
changes a table, and it drops its slot when done.
"""

import os
import re
import subprocess
import time

import benchlib as B
from benchlib import S, BenchError

SLOT = "bench_walstat"
HEAP_OPS = {"INSERT": "ins", "UPDATE": "upd", "HOT_UPDATE": "hot", "DELETE": "del",
            "LOCK": "lock"}
INDEX_INSERTS = ("INSERT_LEAF", "INSERT_POST")
REC = re.compile(r"^rmgr: (\S+)\s+len \(rec/tot\):\s*(\d+)/\s*(\d+), tx:\s*\d+, lsn: \S+, "
                 r"prev \S+, desc: ([A-Z0-9_+]+)(.*)$")
BLK = re.compile(r"blkref #0: rel (\d+)/(\d+)/(\d+)")
SPLIT_LEVEL = re.compile(r"level (\d+)")
MULTI = re.compile(r"^\s*(\d+) tuples")


def lsn_int(text):
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)


def current_lsn(conn=None):
    return B.scalar("SELECT pg_current_wal_lsn()::text", conn=conn)


def flush_wal(conn=None):
    """A commit of its own, so every record up to now is on disk for pg_waldump."""
    B.scalar("SELECT txid_current()", conn=conn)


def hold_wal():
    """Reserve the WAL from here on (a slot of our own); False when slots are unavailable."""
    try:
        drop_slot()
        B.sql("SELECT pg_create_physical_replication_slot(%s, true)", (SLOT,))
        return True
    except Exception as e:  # max_replication_slots = 0, say: the byte counts still hold
        B.say(f"  walstat: no replication slot ({str(e).strip().splitlines()[0]}); "
              "a checkpoint during the window may cost the record counts")
        return False


def drop_slot():
    B.sql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
          "WHERE slot_name = %s", (SLOT,))


###############################################################################
### pg_stat_user_tables


def table_stats(schema, dbname=None):
    rows = B.sql("SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, n_dead_tup "
                 "FROM pg_stat_user_tables WHERE schemaname = %s", (schema,), dbname=dbname)
    return {r[0]: {"ins": r[1], "upd": r[2], "hot": r[3], "del": r[4], "dead": r[5]}
            for r in rows}


def index_counts(schema, dbname=None):
    """relation -> (indexes, partial indexes)."""
    rows = B.sql("SELECT c.relname, count(i.indexrelid), "
                 "count(i.indexrelid) FILTER (WHERE i.indpred IS NOT NULL) "
                 "FROM pg_class c LEFT JOIN pg_index i ON i.indrelid = c.oid "
                 "WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'p') "
                 "GROUP BY c.relname", (schema,), dbname=dbname)
    return {r[0]: (r[1], r[2]) for r in rows}


def stats_delta(a, b):
    out = {}
    for rel, v in b.items():
        w = a.get(rel, {})
        d = {k: v[k] - w.get(k, 0) for k in ("ins", "upd", "hot", "del")}
        if any(d.values()):
            out[rel] = d
    return out


###############################################################################
### pg_waldump


def relmap(dbname=None):
    """'spc/db/filenode' -> relation name (toast tables as '<table> (toast)'), for one
    database; shared catalogs included."""
    rows = B.sql(
        "SELECT c.relisshared, nullif(c.reltablespace, 0), pg_relation_filenode(c.oid), "
        "CASE WHEN n.nspname = 'pg_toast' THEN coalesce(o.relname, c.relname) || ' (toast)' "
        "WHEN n.nspname IN ('pg_catalog', 'information_schema') THEN 'catalog' "
        "ELSE c.relname END, "
        "(SELECT oid FROM pg_database WHERE datname = current_database()), "
        "(SELECT oid FROM pg_tablespace WHERE spcname = 'pg_default'), "
        "(SELECT oid FROM pg_tablespace WHERE spcname = 'pg_global') "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_class o ON n.nspname = 'pg_toast' "
        "AND o.oid = substring(c.relname FROM 'pg_toast_([0-9]+)')::oid "
        "WHERE pg_relation_filenode(c.oid) IS NOT NULL", dbname=dbname)
    out = {}
    for shared, spc, node, name, db, dflt, glob in rows:
        key = f"{glob if shared else (spc or dflt)}/{0 if shared else db}/{node}"
        out[key] = name
    return out


def waldump(start, end, names):
    """Counts of the records in [start, end): by kind ('Heap/INSERT') and by relation.
    names maps 'spc/db/filenode' to a relation name (relmap); others count as 'other'."""
    argv = [os.path.join(S.pgbin, "pg_waldump"), "-p", os.path.join(S.pgdata, "pg_wal"),
            "-s", start, "-e", end]
    by_kind, by_rel = {}, {}
    tot = {"records": 0, "bytes": 0, "fpi_bytes": 0, "commits": 0, "idx": 0, "ins": 0,
           "upd": 0, "hot": 0, "del": 0, "lock": 0}
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.DEVNULL)
    for line in p.stdout:
        m = REC.match(line)
        if not m:
            continue
        rmgr, rec, totlen, op, rest = m.group(1), int(m.group(2)), int(m.group(3)), \
            m.group(4).replace("+INIT", ""), m.group(5)
        fpi = totlen - rec
        k = by_kind.setdefault(f"{rmgr}/{op}", {"n": 0, "bytes": 0, "fpi_bytes": 0})
        k["n"] += 1
        k["bytes"] += totlen
        k["fpi_bytes"] += fpi
        tot["records"] += 1
        tot["bytes"] += totlen
        tot["fpi_bytes"] += fpi
        if rmgr == "Transaction" and op.startswith("COMMIT"):
            tot["commits"] += 1
        b = BLK.search(rest)
        name = names.get("/".join(b.groups()), "other") if b else "(no relation)"
        r = by_rel.setdefault(name, {"records": 0, "bytes": 0, "fpi_bytes": 0, "idx": 0,
                                     "ins": 0, "upd": 0, "hot": 0, "del": 0, "lock": 0})
        r["records"] += 1
        r["bytes"] += totlen
        r["fpi_bytes"] += fpi
        n, field = 0, None
        if rmgr == "Heap" and op in HEAP_OPS:
            n, field = 1, HEAP_OPS[op]
        elif rmgr == "Heap2" and op == "MULTI_INSERT":
            mm = MULTI.match(rest)
            n, field = (int(mm.group(1)) if mm else 1), "ins"
        elif rmgr == "Btree" and (op in INDEX_INSERTS or (
                op.startswith("SPLIT_") and SPLIT_LEVEL.search(rest)
                and SPLIT_LEVEL.search(rest).group(1) == "0")):
            n, field = 1, "idx"
        if field:
            r[field] += n
            tot[field] += n
            if field == "hot":  # an update, as pg_stat_user_tables counts it (n_tup_upd)
                r["upd"] += n
                tot["upd"] += n
    err = p.stderr.read()
    rc = p.wait()
    if rc != 0 and not tot["records"]:
        raise BenchError(f"pg_waldump exited {rc}: {err.strip().splitlines()[-1:] or ''}")
    return {"totals": tot, "by_kind": by_kind, "by_rel": by_rel}


###############################################################################
### a window


class Window:
    """with Window("taskq") as w: <work>; then w.close() once the writers have exited (their
    counters reach pg_stat_user_tables when a backend ends, or up to 10 s later when idle),
    and w.result(n) for per-task figures. daemons: CPU of these too (benchlib.CpuWindow)."""

    def __init__(self, schema="taskq", daemons=(), dbname=None, checkpoint=True):
        self.schema, self.dbname, self.checkpoint = schema, dbname, checkpoint
        self.cpu = B.CpuWindow(daemons)

    def __enter__(self):
        if self.checkpoint:
            B.sql("CHECKPOINT")
        self.slot = hold_wal()
        self.stats_a = table_stats(self.schema, self.dbname)
        self.lsn_a = current_lsn()
        self.cpu.__enter__()
        return self

    def __exit__(self, *exc):
        self.lsn_b = current_lsn()
        self.cpu.__exit__(*exc)
        flush_wal()
        return False

    def close(self, settle_s=0.3):
        """After the writers have gone: their stats, and the WAL's records (then the slot
        goes)."""
        time.sleep(settle_s)
        try:
            self.stats_b = table_stats(self.schema, self.dbname)
            try:
                self.wal = waldump(self.lsn_a, self.lsn_b, relmap(self.dbname))
            except BenchError as e:
                B.say(f"  walstat: {e}")
                self.wal = None
            self.indexes = index_counts(self.schema, self.dbname)
        finally:
            drop_slot()

    def result(self, n):
        """Per-task figures (n tasks), and the per-relation breakdown under 'relations'."""
        bytes_ = lsn_int(self.lsn_b) - lsn_int(self.lsn_a)
        st = stats_delta(self.stats_a, self.stats_b)
        per = lambda x: x / n if n else None
        out = {"tasks": n, "wal_bytes_per_task": per(bytes_), "wal_bytes": bytes_}
        out.update(self.cpu.result(n))
        heap = {k: sum(v[k] for v in st.values()) for k in ("ins", "upd", "hot", "del")}
        for k, v in heap.items():
            out[f"heap_{k}_per_task"] = per(v)
        bound = sum((v["ins"] + v["upd"] - v["hot"]) * self.indexes.get(rel, (0, 0))[0]
                    for rel, v in st.items())
        out["idx_bound_per_task"] = per(bound)
        rels = {rel: dict({k: per(x) for k, x in v.items()},
                          indexes=self.indexes.get(rel, (0, 0))[0],
                          partial=self.indexes.get(rel, (0, 0))[1]) for rel, v in st.items()}
        if self.wal:
            t = self.wal["totals"]
            out.update({"records_per_task": per(t["records"]), "idx_per_task": per(t["idx"]),
                        "fpi_bytes_per_task": per(t["fpi_bytes"]),
                        "rec_bytes_per_task": per(t["bytes"] - t["fpi_bytes"]),
                        "commits_per_task": per(t["commits"]),
                        "locks_per_task": per(t["lock"])})
            for rel, w in self.wal["by_rel"].items():
                rels.setdefault(rel, {}).update({f"wal_{k}": per(v) for k, v in w.items()})
        out["relations"] = rels
        out["wal_kinds"] = self.wal["by_kind"] if self.wal else None
        return out
