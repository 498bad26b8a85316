"""Flow control (docs/flow-control.md): pausing and resuming a queue, holding and releasing a
task, and debounce, supersede and start_by at submit, on the real stack.

The pause test checks the promise on started_at: no task of the queue starts after the pause
call returned, with four extra worker daemons busy on 1,000 queued tasks, and a worker
started while the queue is paused claims nothing either. Times compared are PostgreSQL's
(started_at is its clock) against the client's clock read after the answer: both are this
machine's clock.
"""

import datetime
import os
import re
import subprocess
import time

from taskq_harness import (ENV, Client, TaskqTestCase, new_token, parse_time, wait_until)

UTC = datetime.timezone.utc


def now():
    return datetime.datetime.now(UTC)


def cli(*args):
    exe = os.path.join(ENV.build, "taskq")
    return subprocess.run([exe, "--db", ENV.db] + list(args), capture_output=True, text=True,
                          timeout=30)


class FlowTestCase(TaskqTestCase):
    def batch(self, tasks):
        for i in range(0, len(tasks), 250):
            r = self.api.request("POST", "/api/tasks/batch", json_body=tasks[i:i + 250])
            self.assertIn(r.status, (200, 202), str(r))

    def states(self, queue):
        return {r["state"]: r["n"] for r in self.db.query(
            "SELECT state::text AS state, count(*) AS n FROM taskq.tasks WHERE queue = %s"
            " GROUP BY 1", (queue,))}

    def pause(self, queue, verb="pause"):
        r = self.api.request("POST", "/api/queues/%s/%s" % (queue, verb))
        self.assertEqual(r.status, 200, str(r))
        return r.json


class TestPause(FlowTestCase):
    def test_no_task_starts_after_pause_returns(self):
        q = self.own_queue("pause")
        for i in range(4):
            self.start_worker(q, name="pause%d" % i, concurrency=4)
        self.batch([{"kind": "sleep", "queue": q, "payload": {"steps": 1, "step_ms": 30}}
                    for _ in range(1000)])
        wait_until(lambda: self.states(q).get("succeeded", 0) >= 100, timeout=60,
                   what="the workers ran 100 tasks")
        self.assertEqual(self.pause(q), {"queue": q, "paused": True, "changed": True})
        returned = now()
        # a worker that starts while the queue is paused claims nothing either
        self.start_worker(q, name="pause_new", concurrency=8)
        time.sleep(2.0)
        late = self.db.scalar(
            "SELECT count(*) FROM taskq.tasks WHERE queue = %s AND started_at > %s",
            (q, returned))
        started = self.db.scalar(
            "SELECT count(*) FROM taskq.tasks WHERE queue = %s AND started_at IS NOT NULL", (q,))
        self.assertEqual(late, 0, "tasks started after the pause returned")
        st = self.states(q)
        self.assertEqual(st.get("running", 0), 0, st)
        self.assertGreater(st.get("queued", 0), 0, "nothing left to pause: %r" % st)
        queues = {x["queue"]: x for x in self.api.request("GET", "/api/queues").json["queues"]}
        self.assertIs(queues[q]["paused"], True)
        self.assertEqual(self.pause(q)["changed"], False)  # paused already

        # resume: claims start again within the pickup latency
        resumed = now()  # when the resume was sent
        self.pause(q, "resume")
        first = wait_until(lambda: self.db.scalar(
            "SELECT min(started_at) FROM taskq.tasks WHERE queue = %s AND started_at > %s",
            (q, returned)), timeout=10, what="a claim after resume")
        pickup_ms = (first - resumed).total_seconds() * 1000
        self.assertLess(pickup_ms, 1000, "pickup after resume")
        queues = {x["queue"]: x for x in self.api.request("GET", "/api/queues").json["queues"]}
        self.assertIs(queues[q]["paused"], False)
        self.report("%d of 1000 started before the pause, 0 after; first start %.0f ms "
                    "after the resume was sent" % (started, pickup_ms))

    def test_pause_from_sql_and_cli_and_metrics(self):
        q = self.own_queue("pausesql")
        self.assertIs(self.db.scalar("SELECT taskq.pause_queue(%s)", (q,)), True)
        self.assertIs(self.db.scalar("SELECT taskq.pause_queue(%s)", (q,)), False)
        r = Client(token=None).request("GET", "/metrics")
        if r.status == 200:
            self.assertRegex(r.body.decode(), r'taskq_queue_paused\{queue="%s"\} 1' % q)
        out = cli("stats")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"(?m)^%s .* paused\s*$" % re.escape(q))
        self.assertIs(self.db.scalar("SELECT taskq.resume_queue(%s)", (q,)), True)
        self.assertIs(self.db.scalar("SELECT taskq.resume_queue(%s)", (q,)), False)
        out = cli("queue", "pause", q)
        self.assertEqual((out.returncode, out.stdout.strip()), (0, "paused"), out.stderr)
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM taskq.queue_pauses WHERE queue = %s", (q,)), 1)
        out = cli("queue", "resume", q)
        self.assertEqual((out.returncode, out.stdout.strip()), (0, "resumed"), out.stderr)
        self.assertEqual(cli("queue", "stop", q).returncode, 64)
        self.assert_error(self.api.request("POST", "/api/queues/a%20b/pause"), 400,
                          "invalid_field")

    def test_pause_is_for_admins(self):
        self.skip_unless_auth()
        owner = Client(token=new_token("flow-owner"))
        self.assert_error(owner.request("POST", "/api/queues/x/pause"), 403, "forbidden")


class TestHold(FlowTestCase):
    def test_hold_and_release(self):
        q = self.own_queue("hold")
        held = self.submit_ok("sleep", {"steps": 1, "step_ms": 1}, queue=q)["id"]
        other = self.submit_ok("sleep", {"steps": 1, "step_ms": 1}, queue=q)["id"]
        r = self.api.request("POST", "/api/tasks/%s/hold" % held)
        self.assertEqual((r.status, r.json["state"]), (200, "held"), str(r))
        self.assert_error(self.api.request("POST", "/api/tasks/%s/hold" % held), 409,
                          "wrong_state")
        listed = self.api.list(state="held", queue=q).json["tasks"]
        self.assertEqual([t["id"] for t in listed], [held])
        counts = {x["queue"]: x for x in self.api.request("GET", "/api/queues").json["queues"]}
        self.assertEqual(counts[q]["counts"]["held"], 1)
        self.start_worker(q, name="hold", concurrency=2)
        self.api.wait_for(other, lambda t: t["state"] == "succeeded", timeout=15)
        time.sleep(0.5)
        self.assertEqual(self.get_ok(held)["state"], "held")
        r = self.api.request("POST", "/api/tasks/%s/release" % held)
        self.assertEqual((r.status, r.json["state"]), (200, "queued"), str(r))
        self.api.wait_for(held, lambda t: t["state"] == "succeeded", timeout=15)
        self.assert_error(self.api.request("POST", "/api/tasks/%s/release" % held), 409,
                          "wrong_state")
        self.assert_error(self.api.request("POST", "/api/tasks/%s/hold" % held), 409,
                          "wrong_state")
        events = [e["event"] for e in
                  self.api.request("GET", "/api/tasks/%s/history" % held).json["events"]]
        self.assertIn("held", events)
        self.assertIn("hold_released", events)

    def test_cancel_a_held_task_and_cli(self):
        q = self.own_queue("holdcli")
        tid = self.submit_ok("noop", queue=q)["id"]
        out = cli("hold", tid)
        self.assertEqual((out.returncode, out.stdout.strip()), (0, "held"), out.stderr)
        self.assertEqual(cli("hold", tid).returncode, 4)
        out = cli("unhold", tid)
        self.assertEqual((out.returncode, out.stdout.strip()), (0, "queued"), out.stderr)
        self.assertEqual(self.db.scalar("SELECT (taskq.hold(%s)).outcome", (tid,)), "held")
        r = self.api.delete(tid)
        self.assertEqual((r.status, r.json["state"]), (200, "cancelled"), str(r))
        self.assertEqual(self.db.scalar("SELECT (taskq.release_hold(%s)).outcome", (tid,)),
                         "wrong_state")

    def test_release_refused_when_key_taken(self):
        q = self.own_queue("holdkey")
        key = "k-%s" % q
        tid = self.submit_ok("noop", queue=q, dedupe_key=key)["id"]
        self.assertEqual(self.api.request("POST", "/api/tasks/%s/hold" % tid).status, 200)
        newer = self.submit_ok("noop", queue=q, dedupe_key=key)["id"]
        self.assertNotEqual(newer, tid)
        r = self.api.request("POST", "/api/tasks/%s/release" % tid)
        self.assert_error(r, 409, "wrong_state")
        self.assertIn("dedupe_key", r.json["error"]["message"])
        self.assertEqual(self.get_ok(tid)["state"], "held")


class TestDebounce(FlowTestCase):
    def test_fifty_submits_one_task_last_payload(self):
        q = self.own_queue("debounce")
        self.start_worker(q, name="debounce", concurrency=2)
        key = "d-%s" % q
        ids, statuses, last = set(), [], None
        t0 = now()
        for i in range(50):
            last = now()  # when the last submit was sent
            r = self.api.submit("sleep", {"steps": 1, "step_ms": 1, "i": i}, queue=q,
                                dedupe_key=key, debounce_ms=300, max_delay_ms=10000)
            self.assertIn(r.status, (200, 202), str(r))
            statuses.append(r.status)
            ids.add(r.json["id"])
            time.sleep(max(0, (t0 + datetime.timedelta(seconds=0.04 * (i + 1)) - now())
                           .total_seconds()))
        self.assertEqual(len(ids), 1, "one task for 50 submits")
        self.assertEqual(statuses[0], 202)
        self.assertEqual(set(statuses[1:]), {200})
        tid = ids.pop()
        self.track(tid)
        t = self.api.wait_for(tid, lambda t: t["state"] == "succeeded", timeout=15)
        self.assertEqual(t["attempts"], 1)
        self.assertEqual(t["payload"]["i"], 49, "the last submit's payload")
        started = parse_time(t["started_at"])
        self.assertGreaterEqual(started, parse_time(t["run_at"]))
        lag_ms = (started - last).total_seconds() * 1000
        self.assertGreaterEqual(lag_ms, 300, "started before the debounce after the last submit")
        self.assertLess(lag_ms, 300 + 700, "started late after the debounce")
        self.assertLess(started, parse_time(t["created_at"]) + datetime.timedelta(seconds=10))
        self.report("50 submits in %.1f s -> 1 task, started %.0f ms after the last submit "
                    "(debounce 300 ms)" % ((last - t0).total_seconds(), lag_ms))

    def test_last_payload_and_max_delay(self):
        q = self.own_queue("debmax")
        key = "m-%s" % q
        first = self.submit_ok("noop", {"n": 0}, queue=q, dedupe_key=key, debounce_ms=400,
                               max_delay_ms=1000)
        for i in range(1, 5):
            r = self.api.submit("noop", {"n": i}, queue=q, dedupe_key=key, debounce_ms=400,
                                max_delay_ms=1000)
            self.assertEqual((r.status, r.json["id"]), (200, first["id"]), str(r))
            time.sleep(0.3)
        t = self.get_ok(first["id"])
        self.assertEqual(t["payload"], {"n": 4})
        limit = parse_time(first["created_at"]) + datetime.timedelta(milliseconds=1000)
        self.assertLessEqual(parse_time(t["run_at"]), limit, "moved past max_delay_ms")
        self.start_worker(q, name="debmax", concurrency=1)
        t = self.api.wait_for(first["id"], lambda t: t["state"] == "succeeded", timeout=15)
        self.assertGreaterEqual(parse_time(t["started_at"]), parse_time(t["run_at"]))

    def test_debounce_in_batch_and_sql(self):
        q = self.own_queue("debsql")
        key = "b-%s" % q
        r = self.api.request("POST", "/api/tasks/batch", json_body=[
            {"kind": "noop", "queue": q, "payload": {"n": n}, "dedupe_key": key,
             "debounce_ms": 5000} for n in range(3)])
        self.assertEqual(r.status, 202, str(r))
        ids = set(r.json["ids"])
        self.assertEqual(len(ids), 1, str(r))
        tid = ids.pop()
        self.assertEqual(self.get_ok(tid)["payload"], {"n": 2})
        owner = self.get_ok(tid)["owner"]
        same = self.db.scalar(
            "SELECT taskq.submit('noop', '{\"n\": 9}', queue => %s, dedupe_key => %s,"
            " owner => %s, debounce_ms => 5000)", (q, key, owner))
        self.assertEqual(str(same), tid)
        self.assertEqual(self.get_ok(tid)["payload"], {"n": 9})


class TestSupersede(FlowTestCase):
    def test_running_holder_cancelled_newcomer_runs(self):
        q = self.own_queue("supersede")
        self.start_worker(q, name="supersede", concurrency=2)
        key = "s-%s" % q
        old = self.submit_ok("sleep", {"steps": 100, "step_ms": 100}, queue=q, dedupe_key=key)
        self.api.wait_for(old["id"], lambda t: t["state"] == "running", timeout=15)
        r = self.api.submit("sleep", {"steps": 1, "step_ms": 1}, queue=q, dedupe_key=key,
                            on_conflict="supersede")
        self.assertEqual(r.status, 202, str(r))
        new = self.track(r.json["id"])
        self.assertNotEqual(new, old["id"])
        o = self.api.wait_for(old["id"], lambda t: t["state"] in ("cancelled", "succeeded"),
                              timeout=15)
        n = self.api.wait_for(new, lambda t: t["state"] in ("cancelled", "succeeded",
                                                            "failed"), timeout=15)
        self.assertEqual((o["state"], n["state"]), ("cancelled", "succeeded"))
        self.assertIn("superseded", o["error"])

    def test_queued_holder_cancelled_at_once(self):
        q = self.own_queue("supq")
        key = "q-%s" % q
        old = self.submit_ok("noop", queue=q, dedupe_key=key)["id"]
        new = self.submit_ok("noop", queue=q, dedupe_key=key, on_conflict="supersede")["id"]
        self.assertEqual(self.get_ok(old)["state"], "cancelled")
        self.assertEqual(self.get_ok(new)["state"], "queued")
        # keep: the default, answered with the live holder
        r = self.api.submit("noop", queue=q, dedupe_key=key, on_conflict="keep")
        self.assertEqual((r.status, r.json["id"]), (200, new))


class TestStartBy(FlowTestCase):
    def test_no_task_starts_after_its_deadline(self):
        q = self.own_queue("startby")
        self.start_worker(q, name="startby", concurrency=4).worker_id()
        # 4 executors, 20 ms a task: about 400 start within the 2 s, the rest expire
        self.batch([{"kind": "sleep", "queue": q, "start_by_s": 2,
                     "payload": {"steps": 1, "step_ms": 20}} for _ in range(1000)])
        wait_until(lambda: self.db.scalar(
            "SELECT count(*) FROM taskq.tasks WHERE queue = %s AND state IN ('queued','running')",
            (q,)) == 0, timeout=60, what="every task started or expired")
        late = self.db.scalar(
            "SELECT count(*) FROM taskq.tasks WHERE queue = %s AND started_at >"
            " greatest(created_at, run_at) + make_interval(secs => start_by_s)", (q,))
        st = self.states(q)
        self.assertEqual(late, 0)
        self.assertGreater(st.get("cancelled", 0), 0, st)
        self.assertGreater(st.get("succeeded", 0), 0, st)
        self.assertEqual(st.get("cancelled", 0) + st.get("succeeded", 0), 1000, st)
        errors = [r["error"] for r in self.db.query(
            "SELECT DISTINCT error FROM taskq.tasks WHERE queue = %s AND state = 'cancelled'",
            (q,))]
        self.assertEqual(len(errors), 1, errors)
        self.assertIn("expired", errors[0])
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM taskq.tasks WHERE queue = %s AND state = 'cancelled'"
            " AND started_at IS NOT NULL", (q,)), 0)
        self.report("%d started in time, %d expired unstarted, 0 started late"
                    % (st.get("succeeded", 0), st.get("cancelled", 0)))


class TestBadValues(FlowTestCase):
    def test_bad_values_answer_400(self):
        cases = [
            ({"debounce_ms": -1, "dedupe_key": "a"}, "debounce_ms"),
            ({"debounce_ms": "5", "dedupe_key": "a"}, "debounce_ms"),
            ({"debounce_ms": 1.5, "dedupe_key": "a"}, "debounce_ms"),
            ({"debounce_ms": 10}, "dedupe_key"),
            ({"max_delay_ms": 10, "dedupe_key": "a"}, "max_delay_ms"),
            ({"max_delay_ms": 5, "debounce_ms": 10, "dedupe_key": "a"}, "max_delay_ms"),
            ({"max_delay_ms": -5, "debounce_ms": 10, "dedupe_key": "a"}, "max_delay_ms"),
            ({"debounce_ms": 10, "dedupe_key": "a", "delay_s": 1}, "delay_s"),
            ({"on_conflict": "replace", "dedupe_key": "a"}, "on_conflict"),
            ({"on_conflict": 1, "dedupe_key": "a"}, "on_conflict"),
            ({"on_conflict": "supersede"}, "dedupe_key"),
            ({"on_conflict": "supersede", "debounce_ms": 10, "dedupe_key": "a"}, "supersede"),
            ({"start_by_s": 0}, "start_by_s"),
            ({"start_by_s": -3}, "start_by_s"),
            ({"start_by_s": "soon"}, "start_by_s"),
        ]
        for fields, word in cases:
            with self.subTest(fields=fields):
                r = self.api.submit("noop", **fields)
                self.assert_error(r, 400, "invalid_field")
                self.assertIn(word, r.json["error"]["message"])
                r = self.api.request("POST", "/api/tasks/batch",
                                     json_body=[dict(kind="noop", **fields)])
                self.assert_error(r, 400, "invalid_field")
        with self.assertRaisesRegex(Exception, "start_by_s must be"):
            self.db.scalar("SELECT taskq.submit('noop', start_by_s => 0)")
        with self.assertRaisesRegex(Exception, "debounce_ms needs a dedupe_key"):
            self.db.scalar("SELECT taskq.submit('noop', debounce_ms => 10)")
