#!/usr/bin/python3
"""Runs taskq's integration tests against a running stack (started by `./dev test`).

usage: tests/integration/run.py [--list] [FILTER...]

Discovers tests/integration/test_*.py (unittest), runs the tests whose id contains any FILTER
(all when none), prints one line per test and ends with `integration: N passed, N failed`
(`, N skipped` only when some were). Exit status 0 when nothing failed.
Environment: TASKQ_URL TASKQ_DB TASKQ_VAR TASKQ_BUILD TASKQ_DEV TASKQ_SQL_DIR (see
tests/lib/taskq_harness.py); TASKQ_TEST_TIMEOUT (per test, seconds, default 120);
TASKQ_TEST_VERBOSE=1 prints the whole traceback of each failure.
Modules run in the order of their names (unittest's discovery sorts them), so
test_zzz_openapi.py, which checks every exchange the others recorded in
$TASKQ_VAR/api-seen.jsonl, runs last; this runner empties that file first.
"""

import os
import signal
import sys
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
sys.path.insert(0, HERE)

import taskq_harness  # noqa: E402

PER_TEST_TIMEOUT = int(os.environ.get("TASKQ_TEST_TIMEOUT") or 120)
VERBOSE = os.environ.get("TASKQ_TEST_VERBOSE") == "1"


class TestTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise TestTimeout("test ran longer than %ds (TASKQ_TEST_TIMEOUT)" % PER_TEST_TIMEOUT)


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


def one_line(text, limit=1500):
    s = " | ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return s if len(s) <= limit else s[:limit] + "..."


class LineResult(unittest.TestResult):
    """Prints `ok   ID  0.05s` / `FAIL ID  0.05s  message [file:line]` / `skip ID  reason`."""

    def __init__(self):
        super().__init__()
        self.passed = self.failed_n = self.skipped_n = 0
        self._t0 = {}
        self._bad = set()
        self._sub = {}   # test id -> [(subtest, err)] of failed subtests, printed as one line

    def startTest(self, test):
        super().startTest(test)
        taskq_harness.current_test = test.id()
        self._t0[test.id()] = time.monotonic()
        signal.alarm(PER_TEST_TIMEOUT)

    def stopTest(self, test):
        signal.alarm(0)
        super().stopTest(test)
        tid = test.id()
        subs = self._sub.pop(tid, None)
        if subs:
            sub, err = subs[0]
            more = " (+%d more failed subtests)" % (len(subs) - 1) if len(subs) > 1 else ""
            self._print_failure(test, err, sub._subDescription().strip() + " ", more)
        if tid in self._bad or tid not in self._t0:
            return
        if getattr(test, "_skipped_reason", None) is not None:
            return
        self.passed += 1
        self._emit("ok  ", test, getattr(test, "report_text", None))

    def _elapsed(self, test):
        t0 = self._t0.get(test.id())
        return time.monotonic() - t0 if t0 is not None else 0.0

    def _emit(self, tag, test, extra=None):
        line = "%s %s  %.2fs" % (tag, test.id(), self._elapsed(test))
        if extra:
            line += "  " + extra
        print(line, flush=True)

    def _fail(self, test, err):
        self._count_failure(test)
        self._print_failure(test, err)

    def _print_failure(self, test, err, prefix="", suffix=""):
        exc_type, exc, tb = err
        # where: the line in the test method (not in a helper it called)
        frames = [fs for fs in traceback.extract_tb(tb)
                  if os.path.basename(fs.filename).startswith("test_")]
        in_test = [fs for fs in frames if fs.name.startswith("test")]
        fs = (in_test or frames or [None])[0 if in_test else -1]
        where = " [%s:%d]" % (os.path.basename(fs.filename), fs.lineno) if fs else ""
        name = "" if exc_type is AssertionError else exc_type.__name__ + ": "
        self._emit("FAIL", test, prefix + one_line(name + str(exc)) + where + suffix)
        if VERBOSE:
            print("".join(traceback.format_exception(exc_type, exc, tb)), flush=True)

    def _count_failure(self, test):
        # A test counts once however many of its phases (test, subtests, tearDown) failed.
        tid = getattr(test, "test_case", test).id()
        if tid not in self._bad:
            self._bad.add(tid)
            self.failed_n += 1

    def addError(self, test, err):
        super().addError(test, err)
        self._fail(test, err)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail(test, err)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._count_failure(subtest)
            self._sub.setdefault(test.id(), []).append((subtest, err))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        test._skipped_reason = reason
        self.skipped_n += 1
        print("skip %s  %s" % (test.id(), reason), flush=True)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._count_failure(test)
        self._emit("FAIL", test, "unexpected success")


def select(here, argv):
    """The test_*.py tests under here whose id contains one of argv's filters (all without
    one); None when argv asked for --list (printed) instead of a run."""
    filters = [a for a in argv if not a.startswith("-")]
    suite = unittest.TestLoader().discover(start_dir=here, pattern="test_*.py", top_level_dir=here)
    tests = list(flatten(suite))
    if filters:
        tests = [t for t in tests if any(f in t.id() for f in filters)]
    if "--list" in argv:
        for t in tests:
            print(t.id())
        return None
    return tests


def main(argv):
    if "-h" in argv or "--help" in argv:
        print(__doc__.strip())
        return 0
    tests = select(HERE, argv)
    if tests is None:
        return 0
    env = taskq_harness.ENV
    print("# taskq integration: %d tests against %s (TASKQ_VAR=%s)" % (
        len(tests), env.url, env.var), flush=True)
    try:
        r = taskq_harness.Client(timeout=3).healthz()
        if r.status != 200:
            print("# warning: %s" % r, flush=True)
    except taskq_harness.HarnessError as e:
        print("# warning: stack not reachable: %s" % e, flush=True)
    if not tests:
        print("# warning: no test matches %s" % " ".join(a for a in argv if not a.startswith("-")),
              file=sys.stderr)

    taskq_harness.reset_exchanges()
    signal.signal(signal.SIGALRM, _on_alarm)
    result = LineResult()
    t0 = time.monotonic()
    unittest.TestSuite(tests).run(result)
    signal.alarm(0)
    if taskq_harness._db is not None:
        taskq_harness._db.close()
    summary = "integration: %d passed, %d failed" % (result.passed, result.failed_n)
    if result.skipped_n:
        summary += ", %d skipped" % result.skipped_n
    print("# wall time %.1fs" % (time.monotonic() - t0), flush=True)
    print(summary, flush=True)
    return 0 if result.failed_n == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
