#!/usr/bin/python3
"""Runs taskq's cluster tests against a cluster that `./dev cluster up` built.

usage: ip netns exec tq-client tests/cluster/run.py [--list] [FILTER...]

`./dev test --cluster` brings the cluster up, runs this on the client host and takes the
cluster down. Discovers tests/cluster/test_*.py (unittest, in the order of their names, but
the failover test, which leaves pg2 the primary, last: PHASES), prints one line per test, the
figures (lines starting `figure:`) and ends with `cluster: N passed, N failed`.
Environment: TASKQ_DEV, TASKQ_CLUSTER ($TASKQ_VAR/cluster), TASKQ_CLUSTER_LEASE_S,
TASKQ_TEST_TIMEOUT (per test, seconds, default 240), TASKQ_TEST_VERBOSE=1.
"""

import importlib.util
import os
import signal
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "lib"))
sys.path.insert(0, HERE)
os.environ.setdefault("TASKQ_TEST_TIMEOUT", "240")

# the integration runner's line-per-test result, shared
_spec = importlib.util.spec_from_file_location("integration_run",
                                               os.path.join(TESTS, "integration", "run.py"))
irun = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(irun)

import clusterlib  # noqa: E402

# the integration runner's phases (irun.PHASES): the failover leaves pg2 the primary, without a
# standby, so it comes after every test that expects pg1 primary and pg2 its replica
PHASES = (
    ("safe", None),
    ("destructive", ("test_g_failover",)),
)


def main(argv):
    if "-h" in argv or "--help" in argv:
        print(__doc__.strip())
        return 0
    tests = irun.select(HERE, argv, PHASES)
    if tests is None:
        return 0
    print("# taskq cluster: %d tests (cluster state in %s)" % (len(tests), clusterlib.CLUSTER),
          flush=True)
    signal.signal(signal.SIGALRM, irun._on_alarm)
    result = irun.LineResult()
    t0 = time.monotonic()
    unittest.TestSuite(tests).run(result)
    signal.alarm(0)
    clusterlib.close_dbs()
    print("# wall time %.1fs" % (time.monotonic() - t0), flush=True)
    print("cluster: %d passed, %d failed" % (result.passed, result.failed_n), flush=True)
    return 0 if result.failed_n == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
