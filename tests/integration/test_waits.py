"""Tasks that wait for a signal (sql/functions/signals.sql): the wait protocol of command
programs (worker/kinds/command.c, cmdout.c), waits that hold no worker slot, signals that come
before the wait, and timeouts swept by the workers' maintenance (worker/chores.c).

Each test starts its own taskq-worker on its own queue, with the test programs as command
kinds (tests/integration/programs/waiter.py).
"""

import os
import tempfile
import time

from taskq_harness import TOP, TaskqTestCase, api, parse_time, wait_until

PROGRAMS = os.path.join(TOP, "tests", "integration", "programs")
COMMANDS = "t_waiter=%s" % os.path.join(PROGRAMS, "waiter.py")
FINAL = ("succeeded", "failed", "cancelled")


class WaitTests(TaskqTestCase):

    def worker(self, prefix, concurrency=4):
        q = self.own_queue(prefix)
        w = self.start_worker(q, lease=5, concurrency=concurrency, args=["--commands", COMMANDS])
        w.worker_id()
        return q, w

    def submit(self, kind, payload, **fields):
        return self.submit_new_kind(kind, payload, **fields)

    def runs_file(self):
        fd, path = tempfile.mkstemp(prefix="taskq-waits-")
        os.close(fd)
        self.addCleanup(os.unlink, path)
        return path

    def runs(self, path):
        with open(path) as f:
            return len(f.readlines())

    def signal(self, tid, name, body):
        return api.request("POST", "/api/tasks/%s/signals/%s" % (tid, name), json_body=body)

    def test_a_program_waits_without_spending_attempts_and_resumes_with_the_signal(self):
        q, _ = self.worker("wprog")
        rf = self.runs_file()
        t = self.submit("t_waiter", {"signal": "approve", "runs_file": rf}, queue=q,
                        max_attempts=1)
        w = api.wait_for(t["id"], ("waiting",) + FINAL, timeout=15)
        self.assertEqual(w["state"], "waiting", repr(w))
        self.assertEqual(w["waiting_for"]["signal"], "approve")
        self.assertIsNone(w["waiting_for"]["until"])
        self.assertEqual(w["attempts"], 0, "a wait is not an attempt")
        self.assertEqual(w["checkpoint"], {"asked": "approve", "runs": 1})
        self.assertIsNone(self.db.task(t["id"])["worker_id"])
        time.sleep(0.5)
        self.assertEqual(self.runs(rf), 1)
        r = self.signal(t["id"], "approve", {"approved": True})
        self.assertEqual(r.status, 202, str(r))
        done = api.wait_for(t["id"], FINAL, timeout=15)
        self.assertEqual(done["state"], "succeeded", repr(done))
        self.assertEqual(done["result"]["got"], {"approved": True})
        self.assertEqual(done["result"]["checkpoint"], {"asked": "approve", "runs": 1})
        self.assertEqual((done["attempts"], self.runs(rf)), (1, 2))
        events = [e["event"] for e in api.request(
            "GET", "/api/tasks/%s/history" % t["id"]).json["events"]]
        self.assertEqual(events, ["claimed", "waiting", "signal", "claimed", "succeeded"],
                         events)

    def test_a_signal_sent_before_the_wait_is_honoured_at_once(self):
        q = self.own_queue("wbefore")
        rf = self.runs_file()
        # queued on a queue no worker serves yet: the signal comes first
        r = api.submit("t_waiter", {"signal": "go", "runs_file": rf, "always_wait": True},
                       queue=q)
        if r.status == 400:  # the kind is registered by the first worker with it
            self.worker("wreg")
            r = api.submit("t_waiter", {"signal": "go", "runs_file": rf, "always_wait": True},
                           queue=q)
        self.assertEqual(r.status, 202, str(r))
        tid = self.track(r.json["id"])
        r = self.signal(tid, "go", {"early": True})
        self.assertEqual((r.status, r.json["state"]), (202, "queued"), str(r))
        self.start_worker(q, lease=5, concurrency=2, args=["--commands", COMMANDS])
        done = api.wait_for(tid, FINAL, timeout=20)
        # the first run printed "wait go": the signal was there, so it ran again at once
        self.assertEqual(done["state"], "succeeded", repr(done))
        self.assertEqual((done["result"]["got"], self.runs(rf)), ({"early": True}, 2))
        states = self.db.query("SELECT event, detail FROM taskq.task_events WHERE task_id = %s "
                               "AND event = 'waiting'", (tid,))
        self.assertEqual(len(states), 1, states)
        self.assertIn("received already", states[0]["detail"])

    def test_timeouts_fail_or_run_within_a_second_of_their_deadline(self):
        q, _ = self.worker("wtimeout")
        n = 6
        fail = [self.submit("noop", {}, queue=q, wait_for={"signal": "never", "timeout_s": 1.5})
                for _ in range(n)]
        run = [self.submit("noop", {}, queue=q,
                           wait_for={"signal": "never", "timeout_s": 1.5, "on_timeout": "run"})
               for _ in range(n)]
        rf = self.runs_file()
        prog = self.submit("t_waiter", {"signal": "nope", "timeout_s": 1, "runs_file": rf},
                           queue=q)
        late = []
        for t in fail + run:
            done = api.wait_for(t["id"], FINAL, timeout=15)
            deadline = parse_time(t["waiting_for"]["until"])
            if t in fail:
                self.assertEqual(done["state"], "failed", repr(done))
                self.assertEqual(done["error"], 'timed out waiting for signal "never"')
                late.append((parse_time(done["finished_at"]) - deadline).total_seconds())
            else:
                self.assertEqual((done["state"], done["signals"]), ("succeeded", None), repr(done))
                late.append((parse_time(done["started_at"]) - deadline).total_seconds())
        self.assertGreaterEqual(min(late), 0.0, late)
        self.assertLess(max(late), 1.0, "a wait ended %.2fs past its deadline" % max(late))
        done = api.wait_for(prog["id"], FINAL, timeout=15)
        self.assertEqual(done["state"], "failed", repr(done))
        self.assertIn('signal "nope"', done["error"])
        self.report("%d timeouts ended %.2f-%.2fs past their deadline (fail and run)" % (
            len(late), min(late), max(late)))

    def test_a_thousand_waiting_tasks_hold_no_slot_and_each_resumes_once(self):
        q, w = self.worker("wmany", concurrency=8)
        n, m = 1000, 160
        payload = {"steps": 1, "step_ms": 50}

        def batch(k):
            r = api.request("POST", "/api/tasks/batch", json_body={"tasks": [
                {"kind": "noop", "queue": q, "wait_for": {"signal": "go"}}] * k})
            self.assertEqual(r.status, 202, str(r))
            return r.json["ids"]

        def run_others():
            t0 = time.monotonic()
            ids = self.submit_many(m, "sleep", payload, queue=q)
            wait_until(lambda: self.db.count_state(ids, "succeeded") == m, timeout=60,
                       what="%d sleep tasks done" % m)
            return m / (time.monotonic() - t0)

        base = run_others()
        waiting = [i for _ in range(n // 200) for i in batch(200)]
        self.assertEqual(self.db.count_state(waiting, "waiting"), n)
        during = run_others()
        self.assertEqual(self.db.count_state(waiting, "waiting"), n)
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s AND "
                                        "state = 'waiting' AND (worker_id IS NOT NULL OR "
                                        "lease_until IS NOT NULL)", (q,)), 0)
        self.assertGreater(during, 0.6 * base, "rate with %d waiting %.1f/s, before %.1f/s" % (
            n, during, base))
        t0 = time.monotonic()
        for tid in waiting:
            r = self.signal(tid, "go", {"ok": 1})
            self.assertEqual(r.status, 202, str(r))
        wait_until(lambda: self.db.count_state(waiting, "succeeded") == n, timeout=120,
                   what="the %d signalled tasks done" % n)
        took = time.monotonic() - t0
        rows = self.db.query(
            "SELECT t.attempts, (SELECT count(*) FROM taskq.task_history h "
            "WHERE h.task_id = t.id AND h.event = 'claimed') AS claims "
            "FROM taskq.tasks t WHERE t.id = ANY(%s::uuid[])", (waiting,))
        self.assertEqual({(r["attempts"], r["claims"]) for r in rows}, {(1, 1)})
        self.report("%d waiting: sleep tasks at %.0f/s (before: %.0f/s, concurrency 8); "
                    "signalling all %d: every one ran once, %.1fs" % (n, during, base, n, took))
