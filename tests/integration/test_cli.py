"""The `taskq` CLI ($TASKQ_BUILD/taskq --db $TASKQ_DB ...) against the stack's database."""

import datetime
import json
import os
import re
import subprocess
import uuid

import psycopg2.extensions

from taskq_harness import TaskqTestCase, Db, HarnessError, unique, ENV, UUID_RE

FINAL = ("succeeded", "failed", "cancelled")


def cli(*args, dsn=None, timeout=30, env_extra=None):
    exe = os.path.join(ENV.build, "taskq")
    if not os.access(exe, os.X_OK):
        raise HarnessError("no taskq binary at %s (TASKQ_BUILD)" % exe)
    env = dict(os.environ, TASKQ_SQL_DIR=ENV.sql_dir, **(env_extra or {}))
    return subprocess.run([exe, "--db", dsn or ENV.db] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def show(p):
    return "exit %d; stdout %r; stderr %r" % (p.returncode, p.stdout[-600:], p.stderr[-600:])


class CliTests(TaskqTestCase):

    def cli_ok(self, *args, **kw):
        p = cli(*args, **kw)
        self.assertEqual(p.returncode, 0, "taskq %s: %s" % (" ".join(map(str, args)), show(p)))
        return p

    def test_migrate_twice_on_the_stack_database(self):
        before = self.db.query("SELECT * FROM taskq.schema_version ORDER BY 1")
        self.cli_ok("migrate")
        self.cli_ok("migrate", "--sql-dir", ENV.sql_dir)
        after = self.db.query("SELECT * FROM taskq.schema_version ORDER BY 1")
        self.assertEqual(after, before, "migrate changed schema_version of a migrated database")

    def test_migrate_fresh_database_then_again_is_a_noop(self):
        name = "taskq_it_" + uuid.uuid4().hex[:10]
        self.db.query("CREATE DATABASE " + name)
        dsn = psycopg2.extensions.make_dsn(ENV.db, dbname=name)
        fresh = Db(dsn)
        try:
            first = self.cli_ok("migrate", "--sql-dir", ENV.sql_dir, dsn=dsn)
            self.assertTrue(first.stdout.strip(), "first migrate printed nothing: %s" % show(first))
            v1 = fresh.query("SELECT * FROM taskq.schema_version ORDER BY 1")
            self.assertTrue(v1, "schema_version empty after migrate")
            kinds = {r["name"] for r in fresh.query("SELECT name FROM taskq.kinds")}
            self.assertTrue({"sleep", "noop"} <= kinds, "kinds: %s" % kinds)
            second = self.cli_ok("migrate", dsn=dsn)   # TASKQ_SQL_DIR from the environment
            self.assertEqual(fresh.query("SELECT * FROM taskq.schema_version ORDER BY 1"), v1)
            self.assertLess(len(second.stdout.splitlines()), len(first.stdout.splitlines()),
                            "second migrate looks like it applied something again: %r" %
                            second.stdout)
            self.assertEqual(fresh.scalar("SELECT count(*) FROM taskq.tasks"), 0)
        finally:
            fresh.close()
            self.db.query("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)

    def test_submit_prints_id_that_succeeds(self):
        p = self.cli_ok("submit", "sleep", '{"steps":1,"step_ms":1}')
        tid = p.stdout.strip()
        self.assertRegex(tid, UUID_RE, show(p))
        self.track(tid)
        done = self.api.wait_for(tid, FINAL, timeout=15)
        self.assertEqual(done["state"], "succeeded", repr(done))
        self.assertEqual(done["result"], {"steps": 1})

    def test_submit_with_options(self):
        q = unique("q")
        p = self.cli_ok("submit", "noop", '{"a":[1,"two"]}', "--queue", q, "--priority", "9",
                        "--delay", "3600")
        tid = self.track(p.stdout.strip())
        row = self.db.task(tid)
        self.assertIsNotNone(row, show(p))
        self.assertEqual((row["kind"], row["queue"], row["priority"], row["payload"],
                          row["state"]), ("noop", q, 9, {"a": [1, "two"]}, "queued"))
        self.assertGreater(row["run_at"], row["created_at"] + datetime.timedelta(seconds=3599))

    def test_submit_invalid_is_refused(self):
        q = unique("q")
        ok = self.cli_ok("submit", "noop", "{}", "--queue", q, "--delay", "3600")
        self.track(ok.stdout.strip())  # the CLI reaches the database: the refusals mean it
        for args in (("submit", "no_such_kind"), ("submit", "noop", "{not json"),
                     ("submit", "noop", "{}", "--priority", "5000")):
            with self.subTest(args=args):
                p = cli(*args + ("--queue", q))
                self.assertNotEqual(p.returncode, 0, show(p))
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s",
                                        (q,)), 1)

    def test_status_prints_task_json(self):
        t = self.submit_ok("noop", {"x": 1}, queue=unique("q"))
        p = self.cli_ok("status", t["id"])
        got = json.loads(p.stdout)
        self.assertEqual(got["id"], t["id"])
        self.assertEqual(got["state"], "queued")
        self.assertEqual(got["payload"], {"x": 1})

    def test_status_unknown_id_fails(self):
        t = self.submit_ok("noop", queue=unique("q"))
        self.cli_ok("status", t["id"])  # a known id works, so the failure below means it
        p = cli("status", str(uuid.uuid4()))
        self.assertNotEqual(p.returncode, 0, show(p))

    def test_cancel_delayed_task(self):
        t = self.submit_ok("noop", delay_s=3600)
        self.cli_ok("cancel", t["id"])
        self.assertEqual(self.get_ok(t["id"])["state"], "cancelled")

    def test_list_limit(self):
        q = unique("q")
        ids = [self.submit_ok("noop", {"i": i}, queue=q)["id"] for i in range(7)]
        p = self.cli_ok("list", "--limit", "5")
        found = set(re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                               p.stdout))
        self.assertEqual(len(found), 5, "expected 5 ids: %s" % show(p))
        self.assertEqual(found, set(ids[2:]), "not the 5 newest tasks: %s" % show(p))
        p = self.cli_ok("list", "--queue", q, "--state", "queued", "--limit", "3")
        self.assertEqual(set(re.findall(UUID_RE.pattern[1:-1], p.stdout)), set(ids[4:]), show(p))

    def test_watch_exit_status(self):
        ok = self.submit_ok("sleep", {"steps": 3, "step_ms": 50})
        bad = self.submit_ok("sleep", {"steps": 3, "step_ms": 10, "fail_at": 1}, max_attempts=1)
        p = cli("watch", ok["id"])
        self.assertEqual(p.returncode, 0, show(p))
        p = cli("watch", bad["id"])
        self.assertEqual(p.returncode, 1, show(p))
        self.assertEqual(self.get_ok(bad["id"])["state"], "failed")
