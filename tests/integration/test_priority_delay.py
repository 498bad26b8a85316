"""Scheduling: higher priority starts first; delay_s holds a task until run_at.

The worker of the test stack serves queue `default` with TASKQ_TEST_CONCURRENCY (24) executors.
The priority test fills every executor with long, low-priority blockers, queues three tasks and
frees one executor at a time: each freed executor must take the highest-priority task left.
"""

import time

from taskq_harness import TaskqTestCase, api, parse_time, wait_until, ENV

LONG = {"steps": 600, "step_ms": 100}
FINAL = ("succeeded", "failed", "cancelled")


class PriorityTests(TaskqTestCase):

    def state_of(self, ids):
        rows = self.db.query("SELECT id::text AS id, state FROM taskq.tasks "
                             "WHERE id = ANY(%s::uuid[])", (list(ids),))
        return {r["id"]: r["state"] for r in rows}

    def test_higher_priority_started_first(self):
        c = ENV.concurrency
        blockers = [self.submit_ok("sleep", LONG, priority=-1000)["id"] for _ in range(c)]
        wait_until(lambda: self.db.count_state(blockers, "running") == c, timeout=30,
                   what="all %d blockers running (is the worker's concurrency %d?)" % (c, c))
        # created low first, so creation order alone would start low first
        low = self.submit_ok("sleep", LONG, priority=-5)["id"]
        mid = self.submit_ok("sleep", LONG, priority=0)["id"]
        high = self.submit_ok("sleep", LONG, priority=7)["id"]
        prio = {high: "high(7)", mid: "mid(0)", low: "low(-5)"}
        time.sleep(0.3)  # a negative check: nothing may start while every executor is busy
        states = self.state_of(prio)
        self.assertEqual(set(states.values()), {"queued"},
                         "a task started while all %d executors ran blockers: %s (more "
                         "executors than %d, or claims beyond free executors?)" % (
                             c, {prio[k]: v for k, v in states.items()}, c))
        started = []
        for expected in (high, mid, low):
            victim = blockers.pop()
            r = api.delete(victim)
            self.assertEqual(r.status, 202, str(r))

            def newly_started():
                st = self.state_of(prio)
                return [k for k, v in st.items() if v != "queued" and k not in started]
            got = wait_until(newly_started, timeout=15, what="a freed executor starts a task")
            self.assertEqual([prio[g] for g in got], [prio[expected]],
                             "after freeing executor %d" % (len(started) + 1))
            started.append(expected)
        self.report("started in order high, mid, low")

    def test_equal_priority_first_in_first_out(self):
        c = ENV.concurrency
        blockers = [self.submit_ok("sleep", LONG, priority=-1000)["id"] for _ in range(c)]
        wait_until(lambda: self.db.count_state(blockers, "running") == c, timeout=30,
                   what="all %d blockers running" % c)
        first = self.submit_ok("sleep", LONG, priority=3)["id"]
        second = self.submit_ok("sleep", LONG, priority=3)["id"]
        self.assertEqual(api.delete(blockers[0]).status, 202)
        wait_until(lambda: self.db.count_state([first, second], "running") >= 1, timeout=15,
                   what="one of two equal-priority tasks started")
        self.assertEqual(self.db.task(first)["state"], "running")
        self.assertEqual(self.db.task(second)["state"], "queued")


class DelayTests(TaskqTestCase):

    def test_delay_2s_not_started_before_run_at(self):
        t = self.submit_ok("sleep", {"steps": 1, "step_ms": 1}, delay_s=2)
        delay = (parse_time(t["run_at"]) - parse_time(t["created_at"])).total_seconds()
        self.assertTrue(1.95 <= delay <= 2.1, "run_at - created_at = %.3fs" % delay)
        done = self.api.wait_for(t["id"], FINAL, timeout=20)
        self.assertEqual(done["state"], "succeeded", repr(done))
        started, run_at = parse_time(done["started_at"]), parse_time(done["run_at"])
        self.assertGreaterEqual(started, run_at, "started before run_at")
        late = (started - run_at).total_seconds()
        self.report("started %.0f ms after run_at" % (late * 1000))

    def test_fractional_delay(self):
        t = self.submit_ok("noop", delay_s=1.5)
        delay = (parse_time(t["run_at"]) - parse_time(t["created_at"])).total_seconds()
        self.assertTrue(1.45 <= delay <= 1.6, "run_at - created_at = %.3fs" % delay)
        done = self.api.wait_for(t["id"], FINAL, timeout=20)
        self.assertEqual(done["state"], "succeeded", repr(done))
        self.assertGreaterEqual(parse_time(done["started_at"]), parse_time(done["run_at"]))
