"""The `taskq` CLI ($TASKQ_BUILD/taskq --db $TASKQ_DB ...) against the stack's database."""

import datetime
import json
import os
import re
import subprocess
import time
import uuid

import psycopg2.extensions

from taskq_harness import TaskqTestCase, Db, HarnessError, unique, wait_until, ENV, UUID_RE

FINAL = ("succeeded", "failed", "cancelled")

# exit codes (cli/cli.h; README's CLI lines, taskq --help)
EXIT_FAILED, EXIT_CANCELLED, EXIT_NOTFOUND, EXIT_ERROR, EXIT_USAGE = 1, 2, 3, 5, 64
# a plain (not a terminal) watch line: "40% running step 4/10"
WATCH_LINE = re.compile(r"^(\d{1,3})% (queued|running|succeeded|failed|cancelled)\b(.*)$")


def cli(*args, dsn=None, timeout=30, env_extra=None):
    exe = os.path.join(ENV.build, "taskq")
    if not os.access(exe, os.X_OK):
        raise HarnessError("no taskq binary at %s (TASKQ_BUILD)" % exe)
    env = dict(os.environ, TASKQ_SQL_DIR=ENV.sql_dir, **(env_extra or {}))
    return subprocess.run([exe, "--db", dsn or ENV.db] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def cli_popen(*args):
    """Starts the CLI with stdout and stderr on pipes (so: not a terminal)."""
    exe = os.path.join(ENV.build, "taskq")
    return subprocess.Popen([exe, "--db", ENV.db] + [str(a) for a in args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, TASKQ_SQL_DIR=ENV.sql_dir))


def show(p):
    return "exit %d; stdout %r; stderr %r" % (p.returncode, p.stdout[-600:], p.stderr[-600:])


def watch_lines(out):
    """The progress lines of a plain watch, as (progress, state, rest)."""
    return [(int(m.group(1)), m.group(2), m.group(3).strip())
            for m in map(WATCH_LINE.match, out.splitlines()) if m]


def result_json(out):
    """The pretty JSON after the last progress line (a watch's result)."""
    lines = out.splitlines()
    last = max(i for i, line in enumerate(lines) if WATCH_LINE.match(line))
    return json.loads("\n".join(lines[last + 1:]))


def table(out, first_header):
    """Rows of the aligned table whose header line starts with first_header, as dicts keyed
    by its column names (separated by two spaces or more; the last cell takes the rest of
    the line)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == [first_header])
    heads = re.split(r"\s{2,}", lines[start].strip())
    rows = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        cells = line.split(None, len(heads) - 1)
        rows.append(dict(zip(heads, cells)))
    return rows


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

    # ---- submit --wait, watch, history, stats (issue 11) ----------------------------------

    def test_submit_wait_exits_0_with_the_result_when_it_succeeds(self):
        p = cli("submit", "sleep", '{"steps":3,"step_ms":50}', "--wait")
        self.assertEqual(p.returncode, 0, show(p))
        tid = self.track(p.stdout.splitlines()[0])
        self.assertRegex(tid, UUID_RE, show(p))
        self.assertEqual(result_json(p.stdout), {"steps": 3}, show(p))
        self.assertEqual(self.get_ok(tid)["state"], "succeeded")

    def test_submit_wait_exits_1_with_the_error_when_it_fails(self):
        p = cli("submit", "sleep", '{"steps":3,"step_ms":10,"fail_at":2}', "--max-attempts", "1",
                "--wait")
        self.assertEqual(p.returncode, EXIT_FAILED, show(p))
        tid = self.track(p.stdout.splitlines()[0])
        self.assertEqual(watch_lines(p.stdout)[-1][1], "failed", show(p))
        self.assertIn("error: failed at step 2", p.stdout, show(p))
        t = self.get_ok(tid)
        self.assertEqual((t["state"], t["attempts"], t["max_attempts"]), ("failed", 1, 1))

    def test_submit_wait_exits_2_when_it_is_cancelled(self):
        w = cli_popen("submit", "sleep", '{"steps":400,"step_ms":50}', "--wait")
        try:
            tid = self.track(w.stdout.readline().strip())
            self.assertRegex(tid, UUID_RE)
            self.api.wait_for(tid, lambda t: t["progress"] > 0, timeout=15)
            self.cli_ok("cancel", tid)
            out, err = w.communicate(timeout=20)
        finally:
            if w.poll() is None:
                w.kill()
                w.communicate()
        self.assertEqual(w.returncode, EXIT_CANCELLED, "stdout %r stderr %r" % (out, err))
        self.assertEqual(watch_lines(out)[-1][1], "cancelled", out)
        self.assertEqual(self.get_ok(tid)["state"], "cancelled")

    def test_watch_plain_output_has_a_line_per_change_then_the_result(self):
        t = self.submit_ok("sleep", {"steps": 5, "step_ms": 300})
        p = cli("watch", t["id"])
        self.assertEqual(p.returncode, 0, show(p))
        self.assertNotIn("\r", p.stdout)
        self.assertNotIn("\033", p.stdout)   # no terminal control when not a terminal
        lines = watch_lines(p.stdout)
        progress = [pct for pct, state, _ in lines]
        self.assertEqual(progress, sorted(progress), "progress went down: %s" % show(p))
        self.assertGreaterEqual(len(set(progress)), 4, "too few distinct steps: %s" % show(p))
        self.assertEqual(len(lines), len(set(lines)), "a line printed twice: %s" % show(p))
        self.assertIn((40, "running", "step 2/5"), lines, show(p))
        self.assertEqual(lines[-1], (100, "succeeded", "step 5/5"), show(p))
        self.assertEqual(result_json(p.stdout), {"steps": 5}, show(p))

    def test_watch_wakes_on_notify_and_does_not_poll_busily(self):
        t = self.submit_ok("noop", delay_s=3600, queue=self.own_queue())
        w = cli_popen("watch", t["id"])
        try:
            self.assertEqual(w.stdout.readline().split(), ["0%", "queued"])
            # the watch connection sits idle between reads: it waits for NOTIFYs (and reads
            # every ~2 s as a safety net) instead of asking in a loop
            def idle_s():
                return self.db.scalar(
                    "SELECT max(extract(epoch FROM now() - state_change))::float8"
                    "  FROM pg_stat_activity WHERE application_name = 'taskq-cli-watch'"
                    "   AND state = 'idle'")
            longest = 0.0
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline:
                longest = max(longest, idle_s() or 0.0)
                time.sleep(0.1)
            self.assertGreater(longest, 1.0, "the watch connection was never idle for 1 s")
            # right after a safety read, so that only a NOTIFY can end the watch at once
            wait_until(lambda: (idle_s() or 9.0) < 0.2, timeout=5, what="a safety read",
                       interval=0.02)
            t0 = time.monotonic()
            self.cli_ok("cancel", t["id"])
            out, err = w.communicate(timeout=10)
            took = time.monotonic() - t0
        finally:
            if w.poll() is None:
                w.kill()
                w.communicate()
        self.assertEqual(w.returncode, EXIT_CANCELLED, "stdout %r stderr %r" % (out, err))
        self.assertLess(took, 0.8, "the cancel took %.2fs to show: not woken by NOTIFY" % took)

    def test_watch_and_history_exit_codes_for_bad_ids(self):
        for cmd in ("watch", "history", "status"):
            with self.subTest(cmd=cmd):
                p = cli(cmd, str(uuid.uuid4()))
                self.assertEqual(p.returncode, EXIT_NOTFOUND, show(p))
                p = cli(cmd, "not-a-uuid")
                self.assertEqual(p.returncode, EXIT_USAGE, show(p))
                p = cli(cmd)
                self.assertEqual(p.returncode, EXIT_USAGE, show(p))

    def test_usage_and_database_errors_have_codes_of_their_own(self):
        for args in (("no-such-command",), ("--no-such-option", "list"),
                     ("submit", "noop", "[1]"), ("list", "--state", "bogus")):
            with self.subTest(args=args):
                p = cli(*args)
                self.assertEqual(p.returncode, EXIT_USAGE, show(p))
        p = cli("status", str(uuid.uuid4()), dsn="host=/nonexistent/taskq dbname=taskq")
        self.assertEqual(p.returncode, EXIT_ERROR, show(p))

    def test_history_lists_claimed_then_succeeded(self):
        t = self.submit_ok("sleep", {"steps": 1, "step_ms": 1})
        done = self.api.wait_for(t["id"], FINAL, timeout=15)
        self.assertEqual(done["state"], "succeeded", repr(done))
        p = self.cli_ok("history", t["id"])
        rows = table(p.stdout, "AT")
        self.assertEqual([r["EVENT"] for r in rows], ["claimed", "succeeded"], show(p))
        self.assertEqual([r["ATTEMPT"] for r in rows], ["1", "1"], show(p))
        for r in rows:
            self.assertRegex(r["AT"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", show(p))
            self.assertRegex(r["WORKER"], r"^\S+:\d+:", show(p))

    def test_history_shows_the_error_of_a_retried_attempt(self):
        t = self.submit_ok("sleep", {"steps": 2, "step_ms": 1, "fail_at": 1}, max_attempts=2)
        self.assertEqual(self.api.wait_for(t["id"], FINAL, timeout=20)["state"], "failed")
        p = self.cli_ok("history", t["id"])
        rows = table(p.stdout, "AT")
        self.assertEqual([r["EVENT"] for r in rows], ["claimed", "retry", "claimed", "failed"],
                         show(p))
        self.assertTrue(rows[1]["DETAIL"].endswith("failed at step 1"), show(p))

    def test_stats_lists_a_queue_with_counts_and_the_workers(self):
        q = self.own_queue()
        ids = [self.submit_ok("noop", queue=q, delay_s=3600)["id"] for _ in range(3)]
        self.cli_ok("cancel", ids[0])
        p = self.cli_ok("stats")
        rows = {r["QUEUE"]: r for r in table(p.stdout, "QUEUE")}
        self.assertIn(q, rows, show(p))
        got = rows[q]
        self.assertEqual({k: got[k] for k in ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED",
                                              "CANCELLED", "DONE/MIN")},
                         {"QUEUED": "2", "RUNNING": "0", "SUCCEEDED": "0", "FAILED": "0",
                          "CANCELLED": "1", "DONE/MIN": "1"}, show(p))
        # its queued tasks are all delayed: none is runnable, so none has waited yet
        self.assertEqual((got["DELAYED"], got["BLOCKED"], got["OLDEST"], got["WORKERS"]),
                         ("2", "0", "-", "0"), show(p))
        self.assertIn("warning: no live worker serves queue %s:" % q, p.stdout, show(p))
        # aligned: numbers end under the end of their header, the last one too
        head = next(line for line in p.stdout.splitlines() if line.startswith("QUEUE "))
        line = next(line for line in p.stdout.splitlines() if line.startswith(q + " "))
        self.assertEqual(len(line), len(head), show(p))
        self.assertEqual(line[:head.index("CANCELLED") + len("CANCELLED")].split()[-1], "1",
                         show(p))
        live = self.db.query("SELECT host, pid, running, concurrency FROM taskq.workers"
                             " WHERE last_seen > now() - interval '1 minute'")
        self.assertTrue(live, "no live worker on the stack")
        workers = table(p.stdout, "HOST")
        self.assertEqual(sorted(int(w["PID"]) for w in workers),
                         sorted(w["pid"] for w in live), show(p))
        for w in workers:
            self.assertRegex(w["RUNNING"], r"^\d+/\d+$", show(p))
            self.assertRegex(w["LAST SEEN"], r"^\d+s ago$", show(p))


class CliOwnerTests(TaskqTestCase):
    """--owner makes the CLI act as one owner: its submits, its list, and status, watch,
    history, cancel and retry of its own tasks only (another owner's: exit 3, as the API's
    404)."""

    def test_owner_scopes_the_commands(self):
        alice, bob = unique("alice"), unique("bob")
        r = cli("submit", "sleep", '{"steps":1,"step_ms":1}', "--owner", alice, "--delay", "60")
        self.assertEqual(r.returncode, 0, r.stderr)
        tid = r.stdout.strip()
        self.track(tid)
        self.assertEqual(self.db.task(tid)["owner"], alice)
        for verb in ("status", "history", "cancel", "retry", "watch"):
            r = cli("--owner", bob, verb, tid)
            self.assertEqual(r.returncode, 3, "%s as another owner: %s" % (verb, r.stderr))
            self.assertIn("no such task", r.stderr)
        self.assertEqual(self.db.task(tid)["state"], "queued")  # bob's cancel did nothing
        r = cli("--owner", bob, "list")
        self.assertNotIn(tid, r.stdout)
        r = cli("--owner", alice, "list")
        self.assertIn(tid, r.stdout)
        self.assertEqual(cli("--owner", alice, "status", tid).returncode, 0)
        self.assertEqual(cli("--owner", alice, "cancel", tid).returncode, 0)
        self.assertEqual(self.db.task(tid)["state"], "cancelled")
        r = cli("submit", "noop", "--owner", "not an owner!")
        self.assertEqual(r.returncode, 64, r.stderr)
