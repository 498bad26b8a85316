"""The command kind (worker/kinds/command.c): configured executables run as tasks.

The module starts its own taskq-worker with --commands (COMMANDS below) on a queue only it
uses, so it needs nothing from the stack's worker; when the stack's worker has the same
TASKQ_COMMANDS, nothing changes (it does not serve this queue). The programs live in
tests/integration/programs/ and examples/; processes a test starts are found again by a
unique marker in their arguments (`sleep 1000.<marker>`), read from /proc.
"""

import json
import os
import random
import subprocess
import time

from taskq_harness import (TOP, ClassWorkerTestCase, api, parse_time, unique,
                           wait_until)

PROGRAMS = os.path.join(TOP, "tests", "integration", "programs")
KINDS = {
    "report": os.path.join(TOP, "examples", "sales-report.sh"),
    "t_echo": os.path.join(PROGRAMS, "echo-env.py"),
    "t_progress": os.path.join(PROGRAMS, "progress.sh"),
    "t_result": os.path.join(PROGRAMS, "result.sh"),
    "t_text": os.path.join(PROGRAMS, "text.sh"),
    "t_fail": os.path.join(PROGRAMS, "fail.sh"),
    "t_segv": os.path.join(PROGRAMS, "segv.sh"),
    "t_tree": os.path.join(PROGRAMS, "tree.sh"),
    "t_leave": os.path.join(PROGRAMS, "leave-behind.sh"),
    "t_early": os.path.join(PROGRAMS, "early-close.sh"),
    "t_flood": os.path.join(PROGRAMS, "flood.sh"),
    "t_noexec": os.path.join(PROGRAMS, "not-executable.sh"),
    "t_missing": "/nonexistent/taskq-test-missing-program",
}
COMMANDS = ",".join("%s=%s" % kv for kv in KINDS.items())
GRACE_S = 5.0  # command.c: SIGTERM, then SIGKILL this much later


def marker():
    return random.randrange(10**8, 10**9)


def processes(m):
    """{pid: command line} of live processes whose arguments hold the marker."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        if (".%d" % m) in cmd:
            out[int(pid)] = cmd
    return out


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


class CommandKindTest(ClassWorkerTestCase):
    queue_prefix = "cmd"

    @classmethod
    def worker_options(cls):
        return dict(name="command", lease=3, concurrency=4, args=["--commands", COMMANDS])

    def submit_cmd(self, kind, payload, **fields):
        """submit_ok on this module's queue; rides out the second in which taskq-fcgi may not
        know the kinds the worker just registered."""
        return self.submit_registered(kind, payload, **fields)

    def final(self, tid, timeout=15.0, history=None):
        return api.wait_for(tid, ("succeeded", "failed", "cancelled"), timeout=timeout,
                            history=history)

    def assert_gone(self, m, what):
        """No process carrying marker m survives (allowing a moment for SIGKILL to land)."""
        try:
            wait_until(lambda: not processes(m), timeout=3, what="no process of %s" % what)
        except AssertionError:
            self.fail("%s left processes: %r" % (what, processes(m)))

    # -- success paths -------------------------------------------------------------------------

    def test_progress_lines_update_the_task_and_a_multiline_json_is_the_result(self):
        t = self.submit_cmd("t_progress", {})
        seen = []
        done = self.final(t["id"], history=seen)
        self.assertEqual(done["state"], "succeeded", repr(done))
        self.assertEqual(done["result"], {"steps": 4, "nested": {
            "path": "a/b", "list": [1, 2.5, "x", None, True]}})
        self.assertEqual((done["progress"], done["attempts"], done["error"]), (100, 1, None))
        running = [(x["progress"], x["message"]) for x in seen if x["state"] == "running"]
        pcts = [p for p, _ in running]
        self.assertEqual(pcts, sorted(pcts), "progress went down: %r" % running)
        self.assertGreaterEqual(len(set(p for p in pcts if p > 0)), 3, repr(running))
        allowed = {(20, "step 1 of 4"), (45, "step 2 of 4"), (70, "step 3 of 4"),
                   (95, "step 4 of 4"), (97, "step 4 of 4")}
        odd = [x for x in running if x[0] > 0 and x not in allowed]
        self.assertEqual(odd, [], "progress and message do not match the lines printed")
        self.report("progress seen: %s" % sorted(set(pcts)))

    def test_result_is_the_last_json_value_printed(self):
        done = self.final(self.submit_cmd("t_result", {})["id"])
        self.assertEqual(done["state"], "succeeded", repr(done))
        self.assertEqual(done["result"], {"a": [1, 2], "b": {"c": "d/e", "u": "caf\u00e9"}})

    def test_output_without_json_gives_its_tail_as_valid_text(self):
        # a payload far larger than a pipe's buffer, to a program that never reads stdin
        done = self.final(self.submit_cmd("t_text", {"big": "x" * 600000})["id"])
        self.assertEqual(done["state"], "succeeded", repr(done))
        self.assertEqual(done["result"],
                         {"stdout": "hello\ncaf\u00e9 ??!\nno newline at the end\n"})

    def test_stdin_is_the_payload_and_the_environment_is_clean(self):
        payload = {"text": "a/b \"q\" \\ caf\u00e9 \t", "n": -12, "list": [1, True, None, {}],
                   "deep": {"x": {"y": []}}, "fail_first": True, "long": "z" * 300000}
        t = self.submit_cmd("t_echo", payload, max_attempts=2)
        done = self.final(t["id"], timeout=20)
        self.assertEqual((done["state"], done["attempts"]), ("succeeded", 2), repr(done))
        r = done["result"]
        # exactly the stored payload as one line of compact JSON, then a newline
        self.assertEqual(r["stdin"], json.dumps(done["payload"], separators=(",", ":"),
                                                ensure_ascii=False) + "\n")
        self.assertEqual(json.loads(r["stdin"]), payload)
        self.assertEqual(r["env"], {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME") or "/",
            "LANG": "C.UTF-8", "TASKQ_TASK_ID": t["id"], "TASKQ_ATTEMPT": "2",
            "TASKQ_KIND": "t_echo"})
        self.assertEqual(r["argv"], [KINDS["t_echo"]])
        self.assertEqual(r["cwd"], "/")
        self.assertEqual(r["fds"], [0, 1, 2])
        worker_nofile = int(open("/proc/%d/limits" % self.worker.pid).read().split(
            "Max open files")[1].split()[0])
        self.assertEqual(r["nofile_soft"], min(1024, worker_nofile))
        self.assertEqual(r["core"], [0, 0])
        self.assertTrue(r["own_group"], repr(r))
        self.assertEqual(int(r["sigblk"], 16), 0, "signals blocked in the program: %r" % r)

    def test_example_sales_report_end_to_end(self):
        t = self.submit_cmd("report", {"day": "2026-11-24", "steps": 4, "step_ms": 200})
        seen = []
        done = self.final(t["id"], history=seen)
        self.assertEqual(done["state"], "succeeded", repr(done))
        seed = int(subprocess.run(["cksum"], input=b"2026-11-24", capture_output=True,
                                  check=True).stdout.split()[0])
        orders, visits = seed % 500 + 100, seed % 9000 + 1000
        cents, bp = orders * 2399, orders * 10000 // visits
        r = dict(done["result"])
        parse_time(r.pop("generated_at"))
        self.assertEqual(r, {
            "day": "2026-11-24", "task_id": t["id"],
            "sales": {"orders": orders, "revenue": "%d.%02d" % (cents // 100, cents % 100),
                      "currency": "EUR"},
            "traffic": {"visits": visits, "conversion_pct": "%d.%02d" % (bp // 100, bp % 100)}})
        stages = {25: "fetching sales", 50: "fetching traffic", 75: "joining",
                  100: "writing summary"}
        running = {(x["progress"], x["message"]) for x in seen if x["state"] == "running"
                   and x["progress"] > 0}
        self.assertTrue(running, "no progress seen while running")
        self.assertTrue(all(stages.get(p) == m for p, m in running), repr(running))

        bad = self.final(self.submit_cmd("report", {"day": "someday"}, max_attempts=1)["id"])
        self.assertEqual((bad["state"], bad["attempts"], bad["error"]), (
            "failed", 1, "exit status 2: sales-report: day must be YYYY-MM-DD (got 'someday')"))

    def test_closing_stdout_early_is_not_the_end(self):
        done = self.final(self.submit_cmd("t_early", {})["id"])
        self.assertEqual((done["state"], done["result"]), ("succeeded", {"early": True}))
        took = (parse_time(done["finished_at"]) - parse_time(done["started_at"])).total_seconds()
        self.assertGreaterEqual(took, 1.4, "finished before the program exited")

    def test_exit_kills_what_the_program_left_in_its_group(self):
        m = marker()
        t0 = time.monotonic()
        done = self.final(self.submit_cmd("t_leave", {"marker": m})["id"])
        self.assertEqual((done["state"], done["result"]), ("succeeded", {"left": True}))
        self.assertLess(time.monotonic() - t0, 5, "waited for the background process")
        self.assert_gone(m, "the exited program")

    # -- failures --------------------------------------------------------------------------------

    def test_nonzero_exit_fails_with_the_stderr_tail_and_is_retried(self):
        done = self.final(self.submit_cmd("t_fail", {}, max_attempts=3)["id"], timeout=20)
        self.assertEqual((done["state"], done["attempts"], done["result"]), ("failed", 3, None))
        self.assertEqual(done["error"],
                         "exit status 3: first line of the complaint | database said: no")
        evs = [e["event"] for e in self.db.query(
            "SELECT event FROM taskq.task_events WHERE task_id = %s ORDER BY id", (done["id"],))]
        self.assertEqual(evs.count("retry"), 2, repr(evs))
        self.assertEqual(evs[-1], "failed", repr(evs))

    def test_killed_by_a_signal_fails(self):
        done = self.final(self.submit_cmd("t_segv", {}, max_attempts=1)["id"])
        self.assertEqual((done["state"], done["attempts"], done["error"]),
                         ("failed", 1, "killed by signal 11 (SIGSEGV): about to crash"))

    def test_a_program_that_cannot_be_executed_fails_for_good(self):
        for kind, why in (("t_missing", "No such file or directory"),
                          ("t_noexec", "Permission denied")):
            with self.subTest(kind=kind):
                done = self.final(self.submit_cmd(kind, {}, max_attempts=3)["id"])
                self.assertEqual((done["state"], done["attempts"], done["error"]), (
                    "failed", 1, "cannot execute %s: %s" % (KINDS[kind], why)))

    # -- stopping --------------------------------------------------------------------------------

    def start_tree(self, **fields):
        """Submits the process tree, waits until it runs; returns (task id, marker)."""
        m = marker()
        payload = dict({"marker": m}, **fields.pop("payload", {}))
        t = self.submit_cmd("t_tree", payload, **fields)
        api.wait_for(t["id"], lambda x: x["message"] == "started %d" % m, timeout=10)
        live = wait_until(lambda: len(processes(m)) >= 3 and processes(m), timeout=3,
                          what="the tree's three sleeps")
        self.assertEqual(sorted(c.split()[-1] for c in live.values()),
                         ["1000.%d" % m, "1001.%d" % m, "30.%d" % m], repr(live))
        return t["id"], m

    def test_timeout_kills_the_whole_process_tree(self):
        tid, m = self.start_tree(timeout_s=1, max_attempts=1)
        done = self.final(tid, timeout=10)
        self.assertEqual((done["state"], done["attempts"], done["error"]),
                         ("failed", 1, "timed out after 1 s"))
        self.assert_gone(m, "the timed-out tree")

    def test_cancel_stops_the_program_quickly(self):
        tid, m = self.start_tree()
        r = api.delete(tid)
        self.assertEqual(r.status, 202, str(r))
        t0 = time.monotonic()
        done = self.final(tid, timeout=5)
        took = time.monotonic() - t0
        self.assertEqual((done["state"], done["result"]), ("cancelled", None))
        self.assertLess(took, 2.0, "cancel took %.1fs" % took)
        self.assert_gone(m, "the cancelled tree")
        self.report("cancelled in %.2fs" % took)

    def test_a_program_ignoring_sigterm_is_killed_after_the_grace(self):
        tid, m = self.start_tree(payload={"ignore_term": 1})
        self.assertEqual(api.delete(tid).status, 202)
        t0 = time.monotonic()
        done = self.final(tid, timeout=GRACE_S + 5)
        took = time.monotonic() - t0
        self.assertEqual(done["state"], "cancelled", repr(done))
        self.assertGreaterEqual(took, GRACE_S - 0.5, "killed before the grace was over")
        self.assertLess(took, GRACE_S + 2.5)
        self.assert_gone(m, "the tree that ignored SIGTERM")
        self.report("cancelled in %.2fs" % took)

    # -- limits ----------------------------------------------------------------------------------

    def test_flood_of_output_keeps_the_worker_small(self):
        before = rss_kb(self.worker.pid)
        t0 = time.monotonic()
        done = self.final(self.submit_cmd("t_flood", {})["id"], timeout=60)
        took = time.monotonic() - t0
        self.assertEqual((done["state"], done["result"]), ("succeeded", {"flooded": True}),
                         repr(done))
        after = rss_kb(self.worker.pid)
        # 48 MB went through the pipes; the worker keeps tails of a few KiB and one 1 MiB line
        self.assertLess(after - before, 40 * 1024, "worker RSS %d -> %d KiB" % (before, after))
        self.report("48 MB of output in %.1fs; worker RSS %d -> %d KiB" % (took, before, after))
