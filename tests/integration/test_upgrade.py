"""Upgrades by `taskq migrate` (cli/migrate.c, sql/schema/, sql/functions/), each in a database
of its own beside the stack's (created and dropped here; no daemon serves them).

An install made by the release before the split of sql/ (commit OLD_RELEASE: sql/001_init.sql
… sql/017_tasks_vacuum.sql, functions written into the numbered migrations) is built from that
commit's files, applied and recorded the way its migrate did, and given tasks in every state,
chains, schedules, tokens, limits and a breaker. The new migrate must then lose or change no
row, leave the schema exactly as a fresh install makes it (pg_dump --schema-only, compared
line by line), and the new functions must carry every task through to its end. The same
comparison from older releases (versions 1, 4, 10) checks the steps that drop superseded function
signatures; concurrent migrates of an empty database must take turns, not deadlock.

Needs the git history of main (a full clone): without it the tests fail, they never skip.
"""

import glob
import json
import os
import shutil
import subprocess
import threading
import time
import uuid

import psycopg2
import psycopg2.extensions

from taskq_harness import ENV, TOP, Db, HarnessError, TaskqTestCase

# main before sql/ became sql/schema + sql/functions
OLD_RELEASE = "d734610"

# what the old migrate ran before each file, in the file's transaction (lib/store.c)
OLD_BOOT = ("SELECT pg_advisory_xact_lock(7415238512);"
            "CREATE SCHEMA IF NOT EXISTS taskq;"
            "CREATE TABLE IF NOT EXISTS taskq.schema_version ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())")

FINAL = ("succeeded", "failed", "cancelled")
# the steps of this checkout's schema chain (the old release had 17: the rest are newer)
KNOWN = len(glob.glob(os.path.join(TOP, "sql", "schema", "[0-9][0-9][0-9]_*.sql")))


def git(*args):
    try:
        p = subprocess.run(["git", "-C", TOP] + list(args), capture_output=True, text=True,
                           timeout=30)
    except FileNotFoundError as e:
        raise AssertionError("git is needed for the old release's migrations: %s" % e)
    if p.returncode != 0:
        raise AssertionError(
            "git %s failed (%s): the upgrade tests need the history of main, commit %s "
            "(a full clone)" % (" ".join(args), p.stderr.strip(), OLD_RELEASE))
    return p.stdout


def old_migrations(upto=None):
    """[(version, name, sql)] of the old release's sql/NNN_*.sql, up to version upto."""
    names = [n for n in git("ls-tree", "--name-only", OLD_RELEASE, "--", "sql/").split()
             if os.path.basename(n)[:3].isdigit() and n.endswith(".sql")]
    if len(names) != 17:
        raise AssertionError("commit %s has %d migrations under sql/, not 17: %s" % (
            OLD_RELEASE, len(names), names))
    out = []
    for n in sorted(names):
        v = int(os.path.basename(n)[:3])
        if upto is None or v <= upto:
            out.append((v, os.path.basename(n), git("show", "%s:%s" % (OLD_RELEASE, n))))
    return out


def old_migrate(dsn, migrations):
    """Applies and records migrations as the old `taskq migrate` did: one transaction each."""
    conn = psycopg2.connect(dsn, connect_timeout=5)
    try:
        for v, name, sql in migrations:
            with conn.cursor() as cur:
                cur.execute(OLD_BOOT)
                cur.execute(sql)   # no parameters: the text goes as it is
                cur.execute("INSERT INTO taskq.schema_version (version, name) VALUES (%s, %s)",
                            (v, name))
            conn.commit()
    finally:
        conn.close()


def new_migrate(dsn):
    exe = os.path.join(ENV.build, "taskq")
    if not os.access(exe, os.X_OK):
        raise HarnessError("no taskq binary at %s (TASKQ_BUILD)" % exe)
    return subprocess.run([exe, "--db", dsn, "migrate", "--sql-dir", ENV.sql_dir],
                          capture_output=True, text=True, timeout=120)


def pg_dump_exe(dbh):
    major = int(dbh.scalar("SHOW server_version_num")) // 10000
    for cand in (os.path.join(os.environ.get("PGBIN", ""), "pg_dump"),
                 "/usr/lib/postgresql/%d/bin/pg_dump" % major, shutil.which("pg_dump") or ""):
        if cand and os.access(cand, os.X_OK):
            return cand
    raise HarnessError("no pg_dump for PostgreSQL %d" % major)


def schema_dump(dbh, dsn):
    """pg_dump --schema-only, without the per-run \\restrict keys of recent pg_dumps."""
    p = subprocess.run([pg_dump_exe(dbh), "--schema-only", "--dbname", dsn],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError("pg_dump: %s" % p.stderr.strip())
    return [line for line in p.stdout.splitlines()
            if not line.startswith(("\\restrict", "\\unrestrict"))]


def snapshot(dbh):
    """Every row of every table of schema taskq, as sorted JSON texts per table."""
    out = {}
    for t in dbh.query("SELECT tablename FROM pg_tables WHERE schemaname = 'taskq' "
                       "ORDER BY tablename"):
        name = t["tablename"]
        out[name] = [r["j"] for r in dbh.query(
            'SELECT to_jsonb(x)::text AS j FROM taskq."%s" x ORDER BY 1' % name)]
    return out


def old_columns(rows, like):
    """rows (JSON texts of snapshot()) as sorted JSON texts without the columns that the rows
    in like lack and that hold an empty default (NULL, 0 or false): what a newer step added
    to an old row. A new column with anything else in it stays, so a comparison shows it."""
    keep = set(json.loads(like[0])) if like else set()
    out = []
    for r in rows:
        row = json.loads(r)
        out.append(json.dumps({k: v for k, v in row.items()
                               if k in keep or v not in (None, 0, False)}, sort_keys=True))
    return sorted(out)


class Scratch:
    """A database of its own on the stack's server, dropped by close()."""

    def __init__(self, admin, tag):
        self.admin = admin
        self.name = "taskq_%s_%s" % (tag, uuid.uuid4().hex[:10])
        admin.query("CREATE DATABASE " + self.name)
        self.dsn = psycopg2.extensions.make_dsn(ENV.db, dbname=self.name)
        self.db = Db(self.dsn)

    def close(self):
        self.db.close()
        self.admin.query("DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.name)


class UpgradeTests(TaskqTestCase):

    def scratch(self, tag):
        s = Scratch(self.db, tag)
        self.addCleanup(s.close)
        return s

    def migrate_ok(self, dsn):
        p = new_migrate(dsn)
        self.assertEqual(p.returncode, 0, "taskq migrate: %s %s" % (p.stdout, p.stderr))
        return p.stdout

    def fresh_dump(self):
        if not hasattr(self, "_fresh"):
            fresh = self.scratch("fresh")
            self.migrate_ok(fresh.dsn)
            self._fresh = schema_dump(self.db, fresh.dsn)
        return self._fresh

    def assert_same_schema(self, dsn, what):
        fresh, got = self.fresh_dump(), schema_dump(self.db, dsn)
        if got != fresh:
            import difflib
            diff = list(difflib.unified_diff(fresh, got, "fresh install", what, n=1, lineterm=""))
            self.fail("schema of %s differs from a fresh install (%d lines of diff):\n%s" % (
                what, len(diff), "\n".join(diff[:80])))

    # ---- the release before the split ----------------------------------------------------

    def populate(self, d):
        """Tasks in every state and the other tables' rows, made with the old functions."""
        one = d.scalar
        ids = {}
        sub = "SELECT taskq.submit(%s, %s::jsonb, %s)::text"
        ids["queued"] = [one(sub, ("noop", json.dumps({"n": i}), "work")) for i in range(5)]
        ids["delayed"] = one("SELECT taskq.submit('noop', '{}', 'work', delay_s => 2)::text")
        ids["keyed"] = [one("SELECT taskq.submit('noop', '{}', 'work', concurrency_key => 'k1')"
                            "::text") for _ in range(2)]
        ids["dedupe"] = one("SELECT taskq.submit('noop', '{}', 'work', dedupe_key => 'd1')::text")
        ids["followup"] = one(sub, ("noop", '{"followup": true}', "work"))
        # chains: a two-level chain, a fan-in, an 'always' child, a child of a cancelled parent
        p1, p2 = one(sub, ("noop", "{}", "work")), one(sub, ("noop", "{}", "work"))
        after = "SELECT taskq.submit('noop', '{}', 'work', after => %s::uuid[], " \
                "after_policy => %s)::text"
        c1 = one(after, ([p1], None))
        c2 = one(after, ([p1, p2], None))
        c3 = one(after, ([c1], None))
        pc = one(sub, ("noop", "{}", "other"))
        c_always = one(after, ([pc], "always"))
        self.assertEqual(one("SELECT (taskq.cancel(%s)).outcome", (pc,)), "cancelled")
        c_dead = one(after, ([pc], None))
        ids["chain"] = [p1, p2, c1, c2, c3, c_always]
        # running, held by a live worker (one of them asked to cancel), and one whose lease
        # runs out (its worker is gone)
        for _ in range(3):
            one(sub, ("noop", "{}", "held"))
        held = d.query("SELECT id::text AS id, attempts FROM taskq.claim('w-old', 'held', 3, 600)")
        self.assertEqual(len(held), 3)
        ids["held"] = held
        self.assertEqual(one("SELECT (taskq.cancel(%s)).outcome", (held[0]["id"],)), "requested")
        d.query("SELECT * FROM taskq.heartbeat('w-old', 600, %s::uuid[], %s::int[], 'old-host',"
                " 4242, 'old', 'held', 4, '{\"claimed\": 3}')",
                ([h["id"] for h in held], [h["attempts"] for h in held]))
        ids["lost"] = one(sub, ("noop", "{}", "lost"))
        self.assertEqual(len(d.query("SELECT id FROM taskq.claim('w-gone', 'lost', 1, 1)")), 1)
        # finished: succeeded (one with a callback), failed for good, failed and retrying
        ok = [one(sub, ("noop", "{}", "done")) for _ in range(2)]
        d.query("UPDATE taskq.tasks SET callback_url = 'http://127.0.0.1:9/hook' WHERE id = %s",
                (ok[0],))
        for r in d.query("SELECT id::text AS id, attempts FROM taskq.claim('w-old', 'done', 2, 60)"):
            self.assertTrue(one("SELECT taskq.complete(%s, 'w-old', %s, '{\"ok\": 1}')",
                                (r["id"], r["attempts"])))
        ids["succeeded"] = ok
        ids["failed"] = one("SELECT taskq.submit('noop', '{}', 'done', max_attempts => 1)::text")
        ids["retrying"] = one(sub, ("noop", "{}", "retry"))
        for q, tid, retryable in (("done", ids["failed"], False), ("retry", ids["retrying"], True)):
            r = d.query("SELECT id::text AS id, attempts FROM taskq.claim('w-old', %s, 1, 60)", (q,))
            self.assertEqual(r[0]["id"], tid)
            one("SELECT taskq.fail(%s, 'w-old', %s, 'boom', %s)", (tid, r[0]["attempts"], retryable))
        ids["cancelled"] = [pc, c_dead, one(sub, ("noop", "{}", "other"))]
        one("SELECT (taskq.cancel(%s)).outcome", (ids["cancelled"][2],))
        # the other tables
        d.query("INSERT INTO taskq.schedules (name, cron, kind, queue) "
                "VALUES ('up-hourly', '0 * * * *', 'noop', 'work')")
        ids["fired"] = one("SELECT taskq.fire_schedule('up-hourly', "
                           "date_trunc('hour', now()), 'w-old')::text")
        d.query("INSERT INTO taskq.tokens (hash, prefix, owner, admin) VALUES "
                "(sha256('tok-live'), 'tok-live', 'alice', false), "
                "(sha256('tok-admin'), 'tok-admi', 'root', true)")
        d.query("UPDATE taskq.tokens SET revoked_at = now() WHERE prefix = 'tok-admi'")
        d.query("INSERT INTO taskq.concurrency_limits VALUES ('k1', 1)")
        d.query("INSERT INTO taskq.rate_limits (scope, name, max_starts, per) "
                "VALUES ('queue', 'limited', 1000, '1 minute')")
        d.query("SELECT * FROM taskq.breaker_report('api.example', NULL, 1, false, 'HTTP 503', "
                "1, 30, 300)")
        self.assertEqual(one("SELECT state::text FROM taskq.breakers"), "open")
        self.assertIsNotNone(one("SELECT taskq.view_token(%s, '1 hour')", (p1,)))
        return ids

    def drain(self, d, queues, worker="w-new", timeout=30):
        """Plays the worker with the new functions until nothing of queues is queued or
        running: claims, completes (a task whose payload says followup enqueues one)."""
        deadline = time.monotonic() + timeout
        done = 0
        while True:
            got = 0
            for q in queues:
                for r in d.query("SELECT id::text AS id, attempts, payload FROM taskq.claim("
                                 "%s, %s, 10, 60)", (worker, q)):
                    res = ({"enqueue": [{"kind": "noop", "payload": {"from": r["id"]}}]}
                           if r["payload"].get("followup") else {"ok": True})
                    self.assertTrue(d.scalar("SELECT taskq.complete(%s, %s, %s, %s::jsonb)",
                                             (r["id"], worker, r["attempts"], json.dumps(res))))
                    got += 1
            done += got
            left = d.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = ANY(%s) "
                            "AND state IN ('queued', 'running')", (list(queues),))
            if left == 0:
                return done
            if time.monotonic() > deadline:
                self.fail("%d tasks still unfinished after %ss: %s" % (left, timeout, d.query(
                    "SELECT id, queue, state, run_at, message FROM taskq.tasks "
                    "WHERE queue = ANY(%s) AND state IN ('queued', 'running')",
                    (list(queues),))))
            if not got:
                time.sleep(0.2)

    def test_upgrade_from_the_previous_release_keeps_every_row_and_runs_every_task(self):
        old = self.scratch("up")
        old_migrate(old.dsn, old_migrations())
        d = old.db
        self.assertEqual([r["version"] for r in d.query(
            "SELECT version FROM taskq.schema_version ORDER BY 1")], list(range(1, 18)))
        ids = self.populate(d)
        before = snapshot(d)

        out = self.migrate_ok(old.dsn)
        self.assertIn("schema up to date (%d applied, %d known)" % (KNOWN - 17, KNOWN), out)
        self.assertIn("functions applied", out)
        after = snapshot(d)
        # every table kept; the tables of the newer steps come empty
        self.assertLessEqual(set(before), set(after))
        for table in sorted(set(after) - set(before)):
            self.assertEqual(after[table], [], "a new table with rows: " + table)
        # schema_version gains a row per newer step, after the old ones
        newer = after["schema_version"][len(before["schema_version"]):]
        self.assertEqual([json.loads(r)["version"] for r in newer], list(range(18, KNOWN + 1)))
        after["schema_version"] = after["schema_version"][:len(before["schema_version"])]
        for table in sorted(before):
            with self.subTest(table=table):
                self.assertEqual(old_columns(after[table], before[table]),
                                 old_columns(before[table], before[table]),
                                 "migrate changed rows of " + table)

        # the schema is a fresh install's: no function, view, trigger, index or column more
        # or less, no stale overload
        self.assert_same_schema(old.dsn, "the upgraded install")

        # the new functions over the old rows
        one = d.scalar
        self.assertEqual(d.query("SELECT owner, admin FROM taskq.token_lookup(sha256('tok-live'))"),
                         [{"owner": "alice", "admin": False}])
        self.assertIsNone(one("SELECT owner FROM taskq.token_lookup(sha256('tok-admin'))"))
        self.assertTrue(one("SELECT taskq.breaker_reset('api.example')"))
        held = ids["held"]
        self.assertTrue(one("SELECT taskq.ack_cancel(%s, 'w-old', %s)",
                            (held[0]["id"], held[0]["attempts"])))
        for h in held[1:]:
            self.assertTrue(one("SELECT taskq.complete(%s, 'w-old', %s, '{}')",
                                (h["id"], h["attempts"])))
        time.sleep(max(0.0, one("SELECT extract(epoch FROM lease_until - now())::float8 "
                                "FROM taskq.tasks WHERE id = %s", (ids["lost"],)) or 0) + 0.05)
        self.assertGreaterEqual(one("SELECT taskq.rescue()"), 1)
        self.assertEqual(one("SELECT state::text FROM taskq.tasks WHERE id = %s", (ids["lost"],)),
                         "queued")
        fired = one("SELECT taskq.fire_schedule('up-hourly', date_trunc('hour', now()) "
                    "+ interval '1 hour', 'w-new')::text")
        self.assertIsNotNone(fired)
        n = self.drain(d, ["work", "lost", "retry", "held"])

        state = {r["id"]: r["state"] for r in d.query(
            "SELECT id::text AS id, state::text AS state FROM taskq.tasks")}
        ran = (ids["queued"] + [ids["delayed"], ids["dedupe"], ids["followup"], ids["lost"],
                                ids["retrying"], ids["fired"], fired] + ids["keyed"] +
               ids["chain"] + [h["id"] for h in held[1:]] + ids["succeeded"])
        self.assertEqual({t: state[t] for t in ran}, {t: "succeeded" for t in ran})
        self.assertEqual({t: state[t] for t in ids["cancelled"] + [held[0]["id"]]},
                         {t: "cancelled" for t in ids["cancelled"] + [held[0]["id"]]})
        self.assertEqual(state[ids["failed"]], "failed")
        self.assertEqual(one("SELECT count(*) FROM taskq.tasks WHERE state IN ('queued', "
                             "'running')"), 0)
        # the follow-up was enqueued by the new trigger, and ran
        made = one("SELECT result->'enqueued' FROM taskq.tasks WHERE id = %s", (ids["followup"],))
        self.assertEqual(len(made), 1)
        self.assertEqual(state[made[0]], "succeeded")
        # counters kept counting across the upgrade: they equal the table's finished rows
        self.assertEqual(
            d.query("SELECT queue, state::text AS state, n FROM taskq.counter_totals "
                    "ORDER BY 1, 2"),
            d.query("SELECT queue, state::text AS state, count(*) AS n FROM taskq.tasks "
                    "WHERE state IN ('succeeded', 'failed', 'cancelled') GROUP BY 1, 2 "
                    "ORDER BY 1, 2"))
        self.assertEqual(one("SELECT callback_state FROM taskq.tasks WHERE id = %s",
                             (ids["succeeded"][0],)), "pending")
        # histories: every event the old functions stored is kept, and none is doubled by
        # what the rows imply now (sql/functions/history.sql), whichever release ended the
        # attempt
        def history(tid):
            return [(r["event"], r["worker_id"]) for r in d.query(
                "SELECT event, worker_id FROM taskq.task_history WHERE task_id = %s "
                "ORDER BY n", (tid,))]
        for tid in ids["succeeded"] + [h["id"] for h in held[1:]]:
            self.assertEqual(history(tid), [("claimed", "w-old"), ("succeeded", "w-old")])
        self.assertEqual(history(held[0]["id"]), [("claimed", "w-old"),
                                                  ("cancel_requested", "w-old"),
                                                  ("cancelled", "w-old")])
        self.assertEqual(history(ids["lost"]), [("claimed", "w-gone"), ("rescued", None),
                                                ("claimed", "w-new"), ("succeeded", "w-new")])
        self.report("%d tables kept row for row; schema = a fresh install's; %d tasks run to "
                    "the end by the new functions" % (len(before), n))

    def test_upgrade_from_older_releases_matches_a_fresh_install(self):
        # between them, every superseded signature a schema step drops: version 1 made
        # heartbeat(3 arguments), fail(4), submit(10) and the verbs without an attempt,
        # version 2 heartbeat(8), version 3 fail(5), version 5 heartbeat(9), version 10
        # submit_many(3)
        for upto in (1, 4, 10):
            with self.subTest(version=upto):
                old = self.scratch("up%d" % upto)
                old_migrate(old.dsn, old_migrations(upto=upto))
                tid = old.db.scalar("SELECT taskq.submit('noop', '{}', 'work')::text")
                out = self.migrate_ok(old.dsn)
                self.assertIn("schema up to date (%d applied, %d known)" % (KNOWN - upto, KNOWN),
                              out)
                self.assert_same_schema(old.dsn, "the install upgraded from version %d" % upto)
                self.drain(old.db, ["work"])
                self.assertEqual(old.db.task(tid)["state"], "succeeded")

    def test_concurrent_migrates_of_an_empty_database_take_turns(self):
        fresh = self.scratch("conc")
        results = [None] * 4

        def run(i):
            results[i] = new_migrate(fresh.dsn)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(results))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for p in results:
            self.assertEqual(p.returncode, 0, "%s %s" % (p.stdout, p.stderr))
        applied = sum(p.stdout.count("applied schema/") for p in results)
        self.assertEqual(applied, KNOWN,
                         "each step applied once: %s" % [p.stdout for p in results])
        self.assertEqual(fresh.db.scalar("SELECT count(*) FROM taskq.schema_version"), KNOWN)
        self.assert_same_schema(fresh.dsn, "the concurrently migrated install")
        # a migrate beside them that finds everything done: no step, the functions again
        self.assertIn("schema up to date (0 applied, %d known)" % KNOWN,
                      self.migrate_ok(fresh.dsn))

    def test_new_layout_numbers_continue_the_old_ones(self):
        # the schema chain keeps every old version's number and name, so that installs that
        # recorded them skip them (and a new step never takes a number an install holds)
        old = [(v, n) for v, n, _ in old_migrations()]
        new = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ENV.sql_dir, "schema",
                                                                       "*.sql")))
        self.assertEqual([(int(n[:3]), n) for n in new[:len(old)]], old)
