#!/usr/bin/python3
"""Runs taskq's integration tests against a running stack (started by `./dev test`).

usage: tests/integration/run.py [--list] [FILTER...]

Discovers tests/integration/test_*.py (unittest), runs the tests whose id contains any FILTER
(all when none), prints one line per test and ends with `integration: N passed, N failed`
(`, N skipped` only when some were). Exit status 0 when nothing failed.
Environment: TASKQ_URL TASKQ_DB TASKQ_VAR TASKQ_BUILD TASKQ_DEV TASKQ_SQL_DIR (see
tests/lib/taskq_harness.py); TASKQ_TEST_TIMEOUT (per test, seconds, default 120);
TASKQ_TEST_VERBOSE=1 prints the whole traceback of each failure.

The tests run in phases, in this order, whatever their file names (PHASES below):
  safe         every module not named in a later phase (in the order of their names); each
               leaves the shared stack as it found it
  destructive  test_faults_pg, test_outage, test_secrets: they stop PostgreSQL under load, or
               read the logs all the others wrote, so they come after every safe test
  audit        test_openapi_audit, the post-step: it checks every exchange the others
               recorded in $TASKQ_VAR/api-seen.jsonl (emptied by this runner first) against
               nginx/html/openapi.json, so it comes last
A FILTER selects tests, never reorders them: `run.py test_outage test_errors` runs test_errors
(safe) before test_outage (destructive).
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

# (name, modules in the order they run); None: every module no other phase names, by name.
PHASES = (
    ("safe", None),
    ("destructive", ("test_faults_pg", "test_outage", "test_secrets")),
    ("audit", ("test_openapi_audit",)),
)

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


def module_of(test):
    """The name of the test_*.py module a test comes from (for a module that failed to
    import, unittest's stand-in test carries the name)."""
    name = type(test).__module__
    if name == "unittest.loader":
        return getattr(test, "_testMethodName", "")
    return name


def phased(tests, phases):
    """[(phase name, its tests)] in the order of phases; inside a phase, its modules in the
    order it lists them (the catch-all phase keeps discovery's order, by name), each module's
    tests in their own order. Raises ValueError when a phase lists a module that is not there:
    a renamed file must not slip into the safe phase unnoticed."""
    found = {module_of(t) for t in tests}
    listed = {m: (i, j) for i, (_, mods) in enumerate(phases) for j, m in enumerate(mods or ())}
    missing = sorted(m for m in listed if m not in found)
    if missing:
        raise ValueError("run.py PHASES lists modules that are not there: %s" % ", ".join(missing))
    rest = next(i for i, (_, mods) in enumerate(phases) if mods is None)
    key = {id(t): listed.get(module_of(t), (rest, 0)) for t in tests}
    ordered = sorted(tests, key=lambda t: key[id(t)])  # stable: discovery's order within a key
    return [(name, [t for t in ordered if key[id(t)][0] == i])
            for i, (name, _) in enumerate(phases)]


def select_phases(here, argv, phases=PHASES):
    """[(phase name, its tests)] of the test_*.py tests under here whose id contains one of
    argv's filters (all without one), phases as in PHASES (one of them None: the rest); None
    when argv asked for --list (printed, in the order they would run) instead of a run."""
    filters = [a for a in argv if not a.startswith("-")]
    suite = unittest.TestLoader().discover(start_dir=here, pattern="test_*.py", top_level_dir=here)
    groups = [(name, [t for t in group if not filters or any(f in t.id() for f in filters)])
              for name, group in phased(list(flatten(suite)), phases)]
    if "--list" in argv:
        for _, group in groups:
            for t in group:
                print(t.id())
        return None
    return groups


def select(here, argv, phases=PHASES):
    """select_phases' tests as one list, in the order they run."""
    groups = select_phases(here, argv, phases)
    return None if groups is None else [t for _, group in groups for t in group]


def main(argv):
    if "-h" in argv or "--help" in argv:
        print(__doc__.strip())
        return 0
    groups = select_phases(HERE, argv)
    if groups is None:
        return 0
    tests = [t for _, group in groups for t in group]
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
    for name, group in groups:
        if group:
            print("# phase %s: %d tests" % (name, len(group)), flush=True)
            unittest.TestSuite(group).run(result)
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
