"""The `taskq` CLI ($TASKQ_BUILD/taskq --db $TASKQ_DB ...) against the stack's database."""

import datetime
import json
import os
import re
import subprocess
import time
import uuid

import psycopg2.extensions

from taskq_harness import (TaskqTestCase, Client, Db, HarnessError, new_token, unique, wait_until,
                           ENV, UUID_RE)

FINAL = ("succeeded", "failed", "cancelled")

# exit codes (cli/cli.h; taskq(1)'s EXIT STATUS, taskq --help)
EXIT_FAILED, EXIT_CANCELLED, EXIT_NOTFOUND, EXIT_ERROR, EXIT_USAGE = 1, 2, 3, 5, 64
EXIT_DATAERR, EXIT_NOINPUT, EXIT_TEMPFAIL, EXIT_NOPERM = 65, 66, 75, 77
UUID_ANY = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# an RFC 3339 UTC instant as taskq prints one
INSTANT = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
# a task id no task has
NO_SUCH = "01a20000-0000-7000-8000-000000000000"
# a plain (not a terminal) watch line: "40% running step 4/10"
WATCH_LINE = re.compile(r"^(\d{1,3})% (queued|running|succeeded|failed|cancelled)\b(.*)$")


def cli_env(token=None, env_extra=None):
    """The CLI's environment: as whoever can connect to the database (an admin), without the
    suite's $TASKQ_TOKEN, unless token names one."""
    env = dict(os.environ, TASKQ_SQL_DIR=ENV.sql_dir, **(env_extra or {}))
    env.pop("TASKQ_TOKEN", None)
    if token is not None:
        env["TASKQ_TOKEN"] = token
    return env


def cli(*args, dsn=None, timeout=30, env_extra=None, token=None, stdin=None):
    exe = os.path.join(ENV.build, "taskq")
    if not os.access(exe, os.X_OK):
        raise HarnessError("no taskq binary at %s (TASKQ_BUILD)" % exe)
    return subprocess.run([exe, "--db", dsn or ENV.db] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=timeout, input=stdin,
                          env=cli_env(token, env_extra))


def cli_popen(*args, token=None):
    """Starts the CLI with stdout and stderr on pipes (so: not a terminal)."""
    exe = os.path.join(ENV.build, "taskq")
    return subprocess.Popen([exe, "--db", ENV.db] + [str(a) for a in args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env(token))


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
                self.assertEqual(p.returncode, EXIT_DATAERR, show(p))
                p = cli(cmd)
                self.assertEqual(p.returncode, EXIT_USAGE, show(p))

    def test_usage_and_database_errors_have_codes_of_their_own(self):
        for args in (("no-such-command",), ("--no-such-option", "list")):
            with self.subTest(args=args):
                p = cli(*args)
                self.assertEqual(p.returncode, EXIT_USAGE, show(p))
        for args in (("submit", "noop", "[1]"), ("list", "--state", "bogus")):
            with self.subTest(args=args):
                p = cli(*args)
                self.assertEqual(p.returncode, EXIT_DATAERR, show(p))
        p = cli("status", str(uuid.uuid4()), dsn="host=/nonexistent/taskq dbname=taskq")
        self.assertEqual(p.returncode, EXIT_TEMPFAIL, show(p))

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
        self.assertEqual(r.returncode, EXIT_DATAERR, r.stderr)


class CliTokenCreateTests(TaskqTestCase):
    """token create says when the new token expires, as an RFC 3339 UTC instant (it said
    "expiring created" without one), and takes --expires in the forms taskq(1) documents;
    another form is refused with exit 65 and makes no token."""

    def expiry_row(self, owner):
        return self.db.query("SELECT expires_at, now() AS now FROM taskq.tokens WHERE owner = %s",
                             (owner,))

    def test_token_create_prints_the_expiry_instant(self):
        for given, seconds in (("90", 90), ("90s", 90), ("15m", 900), ("1.5h", 5400),
                               ("30d", 30 * 86400)):
            with self.subTest(expires=given):
                owner = unique("exp")
                p = cli("token", "create", owner, "--expires", given)
                self.assertEqual(p.returncode, 0, show(p))
                tok = p.stdout.strip()
                self.assertRegex(tok, r"^tq_[A-Za-z0-9_-]{43}$", show(p))
                self.assertNotIn(tok, p.stderr)
                self.assertNotIn("expiring created", p.stderr)
                shown = INSTANT.findall(p.stderr)
                self.assertEqual(len(shown), 1, "no expiry instant: %s" % show(p))
                self.assertIn("expires " + shown[0], p.stderr)
                rows = self.expiry_row(owner)
                self.assertEqual(len(rows), 1)
                # the instant printed is the one stored, to the microsecond
                self.assertTrue(self.db.scalar(
                    "SELECT %s::timestamptz = expires_at FROM taskq.tokens WHERE owner = %s",
                    (shown[0], owner)), "printed %s, stored %s" % (shown[0], rows[0]["expires_at"]))
                left = (rows[0]["expires_at"] - rows[0]["now"]).total_seconds()
                self.assertGreater(left, seconds - 30)
                self.assertLessEqual(left, seconds)
        owner = unique("never")
        p = cli("token", "create", owner)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertIn("never expires", p.stderr)
        self.assertEqual(INSTANT.findall(p.stderr), [])
        self.assertIsNone(self.expiry_row(owner)[0]["expires_at"])

    def test_token_create_refuses_an_expiry_it_does_not_document(self):
        for given in ("0", "0.0001", "-5", "nan", "inf", "1e3", "0x10", "30D", "30days", " 5",
                      "", "5 m", "1..5h", ".", "3651d"):
            with self.subTest(expires=given):
                owner = unique("bad")
                p = cli("token", "create", owner, "--expires", given)
                self.assertEqual(p.returncode, EXIT_DATAERR, show(p))
                self.assertEqual(p.stdout, "", show(p))
                self.assertIn("--expires takes a duration", p.stderr)
                self.assertEqual(self.expiry_row(owner), [], "a token was made: %s" % show(p))


class CliSubmitOptionTests(TaskqTestCase):
    """submit takes --timeout, --dedupe-key, --concurrency-key (and --priority, --delay,
    --max-attempts) to the task, checked by the HTTP API's rules with its messages."""

    def test_submit_options_reach_the_task(self):
        q = self.own_queue()
        key, ck = unique("dk"), unique("ck")
        p = cli("submit", "noop", '{"n":1}', "--queue", q, "--delay", "3600", "--timeout", "30",
                "--dedupe-key", key, "--concurrency-key", ck, "--priority", "-7",
                "--max-attempts", "2")
        self.assertEqual(p.returncode, 0, show(p))
        tid = p.stdout.strip()
        row = self.db.task(tid)
        self.assertIsNotNone(row, show(p))
        self.assertEqual((row["timeout_s"], row["dedupe_key"], row["concurrency_key"],
                          row["priority"], row["max_attempts"], row["payload"], row["owner"]),
                         (30, key, ck, -7, 2, {"n": 1}, "anonymous"))
        self.assertEqual(self.get_ok(tid)["timeout_s"], 30)
        # the live task that holds the key answers instead, as the API's 200 does
        p = cli("submit", "noop", '{"n":2}', "--queue", q, "--dedupe-key", key)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(p.stdout.strip(), tid)
        self.assertIn("holds this dedupe key", p.stderr)
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s",
                                        (q,)), 1)
        # once it is finished, the key is free again
        self.cli_cancel(tid)
        p = cli("submit", "noop", "--queue", q, "--delay", "3600", "--dedupe-key", key)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertNotEqual(p.stdout.strip(), tid)

    def cli_cancel(self, tid):
        p = cli("cancel", tid)
        self.assertEqual(p.returncode, 0, show(p))

    def test_submit_options_are_refused_as_the_api_refuses_them(self):
        q = self.own_queue()
        for flag, text, field, sent in (
                ("--timeout", "0", "timeout_s", 0), ("--timeout", "86401", "timeout_s", 86401),
                ("--timeout", "1.5", "timeout_s", 1.5), ("--timeout", "soon", "timeout_s", "soon"),
                ("--priority", "5000", "priority", 5000), ("--delay", "-1", "delay_s", -1),
                ("--max-attempts", "101", "max_attempts", 101),
                ("--dedupe-key", "", "dedupe_key", ""),
                ("--concurrency-key", "k" * 201, "concurrency_key", "k" * 201),
                ("--after", "nope", "after", ["nope"]),
                ("--after-policy", "always", "after_policy", "always")):
            with self.subTest(flag=flag, value=text[:20]):
                r = self.api.request("POST", "/api/tasks",
                                     json_body={"kind": "noop", "queue": q, field: sent})
                self.assertEqual(r.status, 400, str(r))
                message = r.json["error"]["message"]
                p = cli("submit", "noop", "--queue", q, flag, text)
                self.assertEqual(p.returncode, EXIT_DATAERR, show(p))
                self.assertIn(message, p.stderr)
                self.assertIn("(%s)" % flag, p.stderr)
        p = cli("submit", "noop", "--queue", "no/such")
        self.assertEqual(p.returncode, EXIT_DATAERR, show(p))
        self.assertIn("queue must be 1-64 characters", p.stderr)
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s",
                                        (q,)), 0)


class CliListPagingTests(TaskqTestCase):
    """list pages with --limit and --before, the keyset GET /api/tasks uses; a page that has
    more after it ends with "next: ID" on stderr, which --before takes."""

    def page(self, *args):
        p = cli("list", *args)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertNotIn("next", p.stdout)  # stdout stays the table
        return UUID_ANY.findall(p.stdout), re.findall(r"^next: (\S+)$", p.stderr, re.M)

    def test_list_pages_with_before_and_says_the_next_cursor(self):
        q = self.own_queue()
        ids = [self.submit_ok("noop", {"i": i}, queue=q, delay_s=3600)["id"] for i in range(5)]
        newest = ids[::-1]
        pages, before = [], []
        while len(pages) < 5:
            rows, nxt = self.page("--queue", q, "--limit", "2", *before)
            pages.append(rows)
            if not nxt:
                break
            self.assertEqual(nxt, rows[-1:])
            before = ["--before", nxt[0]]
        self.assertEqual(pages, [newest[0:2], newest[2:4], newest[4:]])
        # a page that ends at the last task says no next one
        self.assertEqual(self.page("--queue", q, "--limit", "5"), (newest, []))
        self.assertEqual(self.page("--queue", q, "--limit", "4"), (newest[:4], [newest[3]]))
        # the same keyset as the API's
        r = self.api.list(queue=q, limit=2, before=newest[1])
        self.assertEqual([t["id"] for t in r.json["tasks"]], newest[2:4])
        for args in (("--before", "x"), ("--limit", "0"), ("--limit", "501"), ("--limit", "two")):
            with self.subTest(args=args):
                p = cli("list", "--queue", q, *args)
                self.assertEqual(p.returncode, EXIT_DATAERR, show(p))
                self.assertEqual(p.stdout, "", show(p))


class CliExitCodeTests(TaskqTestCase):
    """A wrong command line exits 64 (EX_USAGE); a value refused exits 65 (EX_DATAERR), an
    unknown task 3, an unreadable --file 66, an unreachable database 75 (try again)."""

    def test_exit_codes_tell_wrong_usage_from_refused_data(self):
        q = self.own_queue()
        name = unique("s").replace("-", "_")
        for args in (("no-such-command",), ("list", "--no-such-option"), ("status",),
                     ("list", "--limit"), ("token", "create"), ("limit", "set", "queue"),
                     ("schedule", "add", name), ("cancel", NO_SUCH, "extra")):
            with self.subTest(usage=args):
                p = cli(*args)
                self.assertEqual(p.returncode, EXIT_USAGE, show(p))
                self.assertTrue(p.stderr.startswith("taskq: "), show(p))
        for args in (("submit", "noop", "{not json", "--queue", q),
                     ("submit", "noop", "[1]", "--queue", q),
                     ("submit", "no_such_kind", "--queue", q),
                     ("submit", "noop", "--priority", "5000", "--queue", q),
                     ("submit", "noop", "--after", NO_SUCH, "--queue", q),  # the database's
                     ("status", "not-a-uuid"), ("cancel", "not-a-uuid"),
                     ("list", "--state", "bogus"), ("token", "create", "not an owner!"),
                     ("token", "create", unique("o"), "--expires", "soon"),
                     ("limit", "set", "key", q, "0", "1"),
                     ("schedule", "add", name, "0 9 * * FOO", "noop")):
            with self.subTest(data=args):
                p = cli(*args)
                self.assertEqual(p.returncode, EXIT_DATAERR, show(p))
                self.assertTrue(p.stderr.startswith("taskq: "), show(p))
        p = cli("submit", "--file", "-", stdin='{"kind":"noop","queue":"%s"}\n{"kind":1}\n' % q)
        self.assertEqual(p.returncode, EXIT_DATAERR, show(p))
        self.assertIn("line 2:", p.stderr)
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s",
                                        (q,)), 0)
        p = cli("submit", "--file", "/nonexistent/tasks.jsonl")
        self.assertEqual(p.returncode, EXIT_NOINPUT, show(p))
        for args in (("status", NO_SUCH), ("cancel", NO_SUCH), ("schedule", "rm", name)):
            with self.subTest(notfound=args):
                self.assertEqual(cli(*args).returncode, EXIT_NOTFOUND)
        down = "host=/nonexistent/taskq dbname=taskq"
        for args in (("status", NO_SUCH), ("list",), ("migrate",)):
            with self.subTest(down=args):
                p = cli(*args, dsn=down)
                self.assertEqual(p.returncode, EXIT_TEMPFAIL, show(p))


class CliTokenTests(TaskqTestCase):
    """--token TOKEN (or TASKQ_TOKEN) makes the CLI act with the token's rights, as the HTTP
    API gives them: an owner's token sees and acts on that owner's tasks and schedules only
    (another owner's task is "no such task", exit 3), and may not run the admins' commands
    (exit 77); a token that is unknown, expired or revoked is refused (exit 77); an admin's
    acts as the database's admin. The token never shows in the output or in ps."""

    def setUp(self):
        super().setUp()
        self.alice, self.bob = unique("alice"), unique("bob")
        self.alice_tok, self.bob_tok = new_token(self.alice), new_token(self.bob)

    def as_(self, tok, *args, code=0):
        """Runs taskq with tok in TASKQ_TOKEN, and again with --token, asserting code; the
        token appears in neither's output. Returns the TASKQ_TOKEN run."""
        p = cli(*args, token=tok)
        q = cli("--token", tok, *args)
        for r in (p, q):
            self.assertEqual(r.returncode, code, "%s: %s" % (args, show(r)))
            self.assertNotIn(tok, r.stdout + r.stderr)
        return p

    def test_an_owners_token_acts_as_that_owner_as_the_api_does(self):
        q = self.own_queue()
        p = cli("submit", "noop", '{"who":"alice"}', "--queue", q, "--delay", "3600",
                token=self.alice_tok)
        self.assertEqual(p.returncode, 0, show(p))
        tid = p.stdout.strip()
        self.assertEqual(self.db.task(tid)["owner"], self.alice)
        # the API agrees on who sees it
        self.assertEqual(Client(token=self.alice_tok).get(tid).status, 200)
        self.assertEqual(Client(token=self.bob_tok).get(tid).status, 404)
        for verb in ("status", "history", "cancel", "retry", "watch"):
            p = self.as_(self.bob_tok, verb, tid, code=EXIT_NOTFOUND)
            self.assertIn("no such task", p.stderr)
        self.assertEqual(self.db.task(tid)["state"], "queued")
        self.assertNotIn(tid, self.as_(self.bob_tok, "list").stdout)
        self.assertIn(tid, self.as_(self.alice_tok, "list").stdout)
        self.assertEqual(json.loads(self.as_(self.alice_tok, "status", tid).stdout)["id"], tid)
        # stats: the owner's queues, as GET /api/queues shows them; not the fleet
        p = self.as_(self.alice_tok, "stats")
        rows = {r["QUEUE"]: r for r in table(p.stdout, "QUEUE")}
        self.assertEqual(rows[q]["QUEUED"], "1", show(p))
        self.assertNotIn("HOST", p.stdout)
        self.assertNotIn(q, self.as_(self.bob_tok, "stats").stdout)
        # --owner may only repeat the token's owner
        self.as_(self.alice_tok, "list", "--owner", self.alice)
        p = self.as_(self.alice_tok, "list", "--owner", self.bob, code=EXIT_NOPERM)
        self.assertIn("acts as that owner only", p.stderr)
        # parents: the owner's own tasks only, as the API says
        bobs = cli("submit", "noop", "--queue", q, "--delay", "3600", token=self.bob_tok)
        self.assertEqual(bobs.returncode, 0, show(bobs))
        p = cli("submit", "noop", "--queue", q, "--after", bobs.stdout.strip(),
                token=self.alice_tok)
        self.assertEqual(p.returncode, EXIT_DATAERR, show(p))
        self.assertIn("no such parent task", p.stderr)
        # a file of tasks becomes the owner's
        p = cli("submit", "--file", "-", token=self.alice_tok,
                stdin='{"kind":"noop","queue":"%s","delay_s":3600}\n' % q)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(self.db.task(p.stdout.strip())["owner"], self.alice)
        # its own task: cancel, then retry
        p = cli("--token", self.alice_tok, "cancel", tid)
        self.assertEqual((p.returncode, p.stdout.strip()), (0, "cancelled"), show(p))
        self.assertEqual(cli("retry", tid, token=self.alice_tok).returncode, 0)
        self.assertEqual(self.db.task(tid)["state"], "queued")

    def test_an_owners_token_sees_its_own_schedules(self):
        name = unique("sch").replace("-", "_")
        self.addCleanup(lambda: cli("schedule", "rm", name))
        p = cli("schedule", "add", name, "@daily", "noop", "--timeout", "60",
                token=self.alice_tok)
        self.assertEqual(p.returncode, 0, show(p))
        row = self.db.query("SELECT owner, timeout_s FROM taskq.schedules WHERE name = %s",
                            (name,))
        self.assertEqual([(r["owner"], r["timeout_s"]) for r in row], [(self.alice, 60)])
        self.assertIn(name, self.as_(self.alice_tok, "schedule", "list").stdout)
        self.assertNotIn(name, self.as_(self.bob_tok, "schedule", "list").stdout)
        self.as_(self.bob_tok, "schedule", "rm", name, code=EXIT_NOTFOUND)
        p = cli("schedule", "add", name, "@hourly", "noop", token=self.bob_tok)
        self.assertEqual(p.returncode, EXIT_NOTFOUND, show(p))
        self.assertEqual(cli("schedule", "rm", name, token=self.alice_tok).returncode, 0)

    def test_the_admins_commands_refuse_an_owners_token(self):
        q = self.own_queue()
        tokens = self.db.scalar("SELECT count(*) FROM taskq.tokens")
        for args in (("token", "list"), ("token", "create", unique("m"), "--admin"),
                     ("token", "revoke", "1"), ("limit", "list"),
                     ("limit", "set", "queue", q, "5", "1")):
            with self.subTest(args=args):
                p = self.as_(self.alice_tok, *args, code=EXIT_NOPERM)
                self.assertIn("is for admins", p.stderr)
                self.assertIn(self.alice, p.stderr)
                self.assertEqual(p.stdout, "")
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.tokens"), tokens)
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.rate_limits WHERE name = %s",
                                        (q,)), 0)
        # migrate takes no token: the schema that checks tokens may not exist yet
        p = self.as_(self.alice_tok, "migrate", code=0)
        self.assertEqual(p.stderr, "")

    def test_an_unknown_expired_or_revoked_token_is_refused(self):
        q = self.own_queue()
        revoked = new_token(unique("rev"))
        p = cli("token", "revoke", revoked[:10])
        self.assertEqual(p.returncode, 0, show(p))
        expiring = new_token(unique("exp"), "--expires", "1")
        wait_until(lambda: self.db.scalar(
            "SELECT count(*) FROM taskq.token_list WHERE prefix = %s AND status = 'expired'",
            (expiring[:10],)) == 1, timeout=5, what="the token's expiry")
        for name, tok in (("unknown", "tq_" + "A" * 43), ("malformed", "not-a-token"),
                          ("revoked", revoked), ("expired", expiring), ("empty", "")):
            with self.subTest(token=name):
                for args in (("submit", "noop", "--queue", q), ("list",), ("status", NO_SUCH)):
                    p = cli("--token", tok, *args)
                    self.assertEqual(p.returncode, EXIT_NOPERM, show(p))
                    self.assertIn("unknown, expired or revoked", p.stderr)
                    self.assertEqual(p.stdout, "")
                    if tok:
                        self.assertNotIn(tok, p.stderr)
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s",
                                        (q,)), 0)

    def test_an_admins_token_acts_as_an_admin(self):
        admin = new_token(unique("adm"), "--admin")
        p = cli("submit", "noop", "--delay", "3600", "--queue", self.own_queue(),
                token=self.alice_tok)
        tid = p.stdout.strip()
        self.assertEqual(json.loads(self.as_(admin, "status", tid).stdout)["owner"], self.alice)
        self.assertIn(tid, self.as_(admin, "list", "--owner", self.alice).stdout)
        self.as_(admin, "token", "list")
        self.as_(admin, "limit", "list")

    def test_the_token_never_shows(self):
        secret = self.alice_tok
        # a mistyped option names the option, not the value it carries
        p = cli("--tokn=" + secret, "list")
        self.assertEqual(p.returncode, EXIT_USAGE, show(p))
        self.assertIn("--tokn", p.stderr)
        self.assertNotIn(secret, p.stdout + p.stderr)
        # a whole token given to revoke is not echoed past its prefix (nor revoked by it)
        p = cli("token", "revoke", secret)
        self.assertEqual(p.returncode, EXIT_DATAERR, show(p))
        self.assertIn(secret[:10], p.stderr)
        self.assertNotIn(secret, p.stdout + p.stderr)
        for args in (("status", "nope"), ("submit", "noop", "{x"), ("no-such-command",),
                     ("list", "--limit", "0")):
            self.assertNotIn(secret, cli("--token", secret, *args).stderr)
            self.assertNotIn(secret, cli(*args, token=secret).stderr)
        # nor on the command line ps shows, once taskq has started
        tid = cli("submit", "noop", "--delay", "3600", "--queue", self.own_queue(),
                  token=secret).stdout.strip()
        self.track(tid)
        w = cli_popen("--token", secret, "watch", tid)
        try:
            self.assertEqual(w.stdout.readline().split(), ["0%", "queued"])
            with open("/proc/%d/cmdline" % w.pid, "rb") as f:
                cmdline = f.read().decode(errors="replace")
            self.assertIn("watch", cmdline)
            self.assertNotIn(secret, cmdline)
            self.assertNotIn(secret[3:], cmdline)
        finally:
            w.kill()
            w.communicate()
