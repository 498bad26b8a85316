"""Fault: restart PostgreSQL (fast shutdown, then start) under steady submit + process load.

A thread submits noops and short sleeps through HTTP at a steady rate to the test's own queue,
served by an extra worker (--lease 3). PostgreSQL is stopped with `$TASKQ_DEV daemon stop
postgres` (pg_ctl -m fast), held down a moment, and started again (always, in a finally
block). Every submit that got 202 must exist and finish `succeeded` exactly once; submits
during the outage get 503 + Retry-After (never a 500, never a hang). In run.py's destructive
phase: it runs after the tests that do not expect an outage.
"""

import threading
import time

from taskq_harness import (Client, HarnessError, TaskqTestCase, api, start_daemon, stop_daemon,
                           wait_final, wait_until)

INTERVAL = 0.025          # one submit every 25 ms (~40/s)
HANG = 5.0                # an answer slower than this is a hang
HOLD = 1.5                # seconds PostgreSQL stays down
PICKUP = 1.0              # an idle worker claims a new task within this (poll is 5 s)
PAYLOADS = (("noop", {}), ("sleep", {"steps": 3, "step_ms": 50}))


class Submitter(threading.Thread):
    """Submits at a steady rate until stop(); results: (t, status|None, elapsed, id, problem)."""

    def __init__(self, queue):
        super().__init__(daemon=True)
        self.queue = queue
        self.results = []
        self._stop_ev = threading.Event()

    def run(self):
        c = Client(timeout=10)
        i = 0
        nxt = time.monotonic()
        while not self._stop_ev.is_set():
            kind, payload = PAYLOADS[i % 2]
            i += 1
            t0 = time.monotonic()
            try:
                r = c.submit(kind, payload, queue=self.queue)
                tid = r.json.get("id") if r.status == 202 and isinstance(r.json, dict) else None
                problem = None
                if r.status == 202 and not tid:
                    problem = "202 without an id: %s" % r
                elif r.status == 503 and r.header("Retry-After") is None:
                    problem = "503 without Retry-After: %s" % r
                elif r.status not in (202, 503):
                    problem = str(r)
                self.results.append((t0, r.status, r.elapsed, tid, problem))
            except HarnessError as e:
                self.results.append((t0, None, time.monotonic() - t0, None, str(e)))
            nxt += INTERVAL
            self._stop_ev.wait(max(0.0, nxt - time.monotonic()))
            nxt = max(nxt, time.monotonic() - INTERVAL)

    def count(self, status, since=0.0):
        return sum(1 for r in list(self.results) if r[1] == status and r[0] >= since)

    def stop(self):
        self._stop_ev.set()
        self.join(15)


class PgRestartTests(TaskqTestCase):

    def test_postgres_restart_under_load_loses_no_accepted_task(self):
        q = self.own_queue("pg")
        w = self.start_worker(q, name="pg", lease=3, concurrency=8)
        w.worker_id()
        sub = Submitter(q)
        sub.start()
        start_err = "not started"
        try:
            wait_until(lambda: sub.count(202) >= 40, timeout=20, what="40 submits before")
            t_down = time.monotonic()
            try:
                stop_daemon("postgres")
                t_stopped = time.monotonic()
                # hold the outage for HOLD s (past a few reconnect back-offs of the worker)
                # and until submits have seen it (or 4 s)
                try:
                    wait_until(lambda: time.monotonic() - t_stopped >= HOLD and
                               sub.count(503, t_stopped) >= 10, timeout=4)
                except AssertionError:
                    pass
            finally:
                t_start = time.monotonic()
                start_err = start_daemon("postgres")
            self.assertIsNone(start_err)
            t_up = time.monotonic()
            n = sub.count(202, t_up)
            wait_until(lambda: sub.count(202, t_up) >= n + 40, timeout=30,
                       what="40 accepted submits after PostgreSQL started again")
            t_recovered = min(r[0] for r in sub.results if r[0] >= t_up and r[1] == 202)
        finally:
            sub.stop()
        res = list(sub.results)
        problems = [r[4] for r in res if r[4]]
        self.assertEqual(problems, [], "%d bad answers, e.g. %s" % (len(problems), problems[:3]))
        slow = max(r[2] for r in res)
        self.assertLess(slow, HANG, "a submit took %.1fs" % slow)
        n503 = sum(1 for r in res if r[1] == 503)
        self.assertGreater(n503, 0, "no 503 while PostgreSQL was down")
        accepted = [r[3] for r in res if r[1] == 202]

        t = wait_final(accepted, timeout=60)
        self.assertEqual(t.lost, 0, "accepted (202) tasks missing from the table: %s" % t)
        self.assertEqual(t.unfinished, 0, str(t))
        self.assertEqual(t.twice, {}, str(t))
        self.assertEqual(t.not_once_succeeded(), [], str(t))
        self.assertTrue(w.alive, "the extra worker died: %s" % w.log_tail())
        extra = self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s "
                               "AND NOT (id = ANY(%s::uuid[]))", (q, accepted))
        r = api.healthz(timeout=5)
        self.assertEqual(r.status, 200, str(r))
        # the worker LISTENs again: an idle worker claims a new task at once, not at its poll
        pickup = []
        for _ in range(3):
            time.sleep(0.3)
            tid = self.submit_ok("noop", queue=q)["id"]
            wait_final([tid], timeout=10)
            pickup.append(self.db.scalar(
                "SELECT extract(epoch FROM e.at - t.created_at)::float8 FROM taskq.tasks t "
                "JOIN taskq.task_history e ON e.task_id = t.id AND e.event = 'claimed' "
                "WHERE t.id = %s", (tid,)))
        self.assertLess(max(pickup), PICKUP, "an idle worker took %.2fs to claim a new task "
                        "after the restart (no LISTEN?)" % max(pickup))
        self.report("%s; %d answers: %d 202, %d 503, %d other; slowest %.2fs; down %.1fs "
                    "(stop %.1fs), 202 again %.1fs after start; %d rows without a 202; idle pickup "
                    "after it %.0f ms" % (
                        t.figures(), len(res), len(accepted), n503, len(res) - len(accepted)
                        - n503, slow, t_up - t_down, t_stopped - t_down,
                        t_recovered - t_start, extra, max(pickup) * 1000))
