"""POST /api/tasks: the 202 answer, defaults, every optional field, dedupe (also under races)."""

import datetime
import threading

from taskq_harness import TaskqTestCase, api, parse_time, unique, FINAL_STATES


class SubmitTests(TaskqTestCase):

    def test_202_and_location(self):
        q = unique("q")
        r = api.submit("noop", {}, queue=q)
        self.assertEqual(r.status, 202, str(r))
        self.assert_json_response(r)
        t = r.json
        self.track(t["id"])
        self.assert_task_json(t)
        self.assertEqual(r.header("Location"), "/api/tasks/%s" % t["id"], str(r.headers))
        self.assertEqual(t["state"], "queued")
        self.assertEqual(t["kind"], "noop")
        self.assertEqual(t["queue"], q)
        # the Location answers with the same task
        g = api.get(t["id"])
        self.assertEqual(g.status, 200, str(g))
        self.assertEqual(g.json["id"], t["id"])

    def test_defaults(self):
        r = api.submit("sleep", delay_s=3600)  # delayed: stays queued while we look at it
        self.assertEqual(r.status, 202, str(r))
        t = r.json
        self.track(t["id"])
        self.assert_task_json(t)
        expected = {"queue": "default", "priority": 0, "max_attempts": 3, "progress": 0,
                    "payload": {}, "attempts": 0, "cancel_requested": False, "state": "queued",
                    "result": None, "error": None, "message": None, "started_at": None,
                    "finished_at": None, "timeout_s": None, "dedupe_key": None,
                    "concurrency_key": None}
        self.assertEqual({k: t[k] for k in expected}, expected)
        row = self.db.task(t["id"])
        self.assertIsNotNone(row, "no row in taskq.tasks for %s" % t["id"])
        self.assertEqual((row["queue"], row["priority"], row["max_attempts"], row["payload"],
                          row["state"]), ("default", 0, 3, {}, "queued"))
        self.assertEqual(row["version"], t["version"])

    def test_optional_fields_stored_and_echoed(self):
        q, dk, ck = unique("q"), unique("dedupe"), unique("conc")
        payload = {"steps": 2, "step_ms": 5, "note": "x"}
        r = api.submit("sleep", payload, queue=q, priority=-7, delay_s=120, max_attempts=5,
                       timeout_s=42, dedupe_key=dk, concurrency_key=ck)
        self.assertEqual(r.status, 202, str(r))
        t = r.json
        self.track(t["id"])
        self.assert_task_json(t)
        sent = {"kind": "sleep", "payload": payload, "queue": q, "priority": -7,
                "max_attempts": 5, "timeout_s": 42, "dedupe_key": dk, "concurrency_key": ck}
        self.assertEqual({k: t[k] for k in sent}, sent)
        delay = parse_time(t["run_at"]) - parse_time(t["created_at"])
        self.assertTrue(datetime.timedelta(seconds=119) <= delay <= datetime.timedelta(
            seconds=121), "run_at - created_at = %s, want ~120 s" % delay)
        row = self.db.task(t["id"])
        self.assertEqual({k: row[k] for k in sent}, sent)
        self.assertGreater(row["run_at"], row["created_at"] + datetime.timedelta(seconds=119))
        self.assertTrue(t.pop("view_token").startswith("tv_"))
        self.assertEqual(self.get_ok(t["id"]), t)

    def test_boundary_values_accepted(self):
        q = unique("q")
        cases = [dict(priority=1000), dict(priority=-1000), dict(max_attempts=1),
                 dict(max_attempts=100), dict(timeout_s=1), dict(timeout_s=86400),
                 dict(timeout_s=None), dict(delay_s=0), dict(delay_s=0.25),
                 dict(queue="A-z_0.9:" + "x" * 56), dict(dedupe_key="d" * 200)]
        for fields in cases:
            fields.setdefault("queue", q)
            if "dedupe_key" in fields:
                fields["dedupe_key"] = unique("d")[:14] + "d" * 186
            with self.subTest(**fields):
                r = api.submit("noop", {}, **fields)
                self.assertEqual(r.status, 202, str(r))
                self.track(r.json["id"])
                for k, v in fields.items():
                    if k != "delay_s":
                        self.assertEqual(r.json[k], v, str(r))

    def test_content_type_with_charset(self):
        r = api.request("POST", "/api/tasks", body='{"kind":"noop","queue":"%s"}' % unique("q"),
                        headers={"Content-Type": "application/json; charset=utf-8"})
        self.assertEqual(r.status, 202, str(r))
        self.track(r.json["id"])

    def test_trailing_whitespace_accepted(self):
        r = api.request("POST", "/api/tasks",
                        body=' \n{"kind":"noop","queue":"%s"}\r\n\t ' % unique("q"),
                        headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 202, str(r))
        self.track(r.json["id"])

    def test_ids_are_time_ordered(self):
        q = unique("q")
        ids = [self.submit_ok("noop", {}, queue=q)["id"] for _ in range(5)]
        self.assertEqual(ids, sorted(ids), "ids of successive submits are not ascending")
        self.assertEqual(len(set(ids)), 5)

    def test_dedupe_live_duplicate_answers_200_same_task(self):
        q, dk = unique("q"), unique("dk")
        first = self.submit_ok("noop", {"n": 1}, queue=q, dedupe_key=dk)
        r = api.submit("noop", {"n": 2}, queue=q, dedupe_key=dk)
        self.assertEqual(r.status, 200, str(r))
        self.assert_task_json(r.json)
        self.assertEqual(r.json["id"], first["id"])
        self.assertEqual(r.json["payload"], {"n": 1}, "the existing task must be returned")
        n = self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE dedupe_key = %s", (dk,))
        self.assertEqual(n, 1)

    def test_dedupe_key_free_again_after_task_finished(self):
        dk = unique("dk")
        first = self.submit_ok("noop", {}, dedupe_key=dk)  # queue default: the worker runs it
        self.api.wait_for(first["id"], "succeeded", timeout=15)
        r = api.submit("noop", {}, dedupe_key=dk)
        self.assertEqual(r.status, 202, str(r))
        self.track(r.json["id"])
        self.assertNotEqual(r.json["id"], first["id"])

    def test_dedupe_key_free_again_after_cancel(self):
        q, dk = unique("q"), unique("dk")
        first = self.submit_ok("noop", {}, queue=q, dedupe_key=dk)
        self.assertEqual(api.delete(first["id"]).status, 200)
        r = api.submit("noop", {}, queue=q, dedupe_key=dk)
        self.assertEqual(r.status, 202, str(r))
        self.track(r.json["id"])
        self.assertNotEqual(r.json["id"], first["id"])

    def test_dedupe_20_concurrent_submits_make_one_row(self):
        q, dk = unique("q"), unique("dk")
        n = 20
        barrier = threading.Barrier(n)
        answers = [None] * n

        def one(i):
            try:
                barrier.wait(timeout=10)
                answers[i] = api.submit("sleep", {"steps": 1}, queue=q, dedupe_key=dk)
            except Exception as e:  # reported below with the others
                answers[i] = e

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        errors = [a for a in answers if not hasattr(a, "status")]
        if errors:
            self.fail("%d of %d requests failed, first: %s" % (len(errors), n, errors[0]))
        for a in answers:
            if a.status in (200, 202):
                self.track(a.json["id"])
        statuses = sorted(a.status for a in answers)
        self.assertEqual(statuses, [200] * (n - 1) + [202],
                         "; ".join(str(a) for a in answers if a.status not in (200, 202))[:800])
        self.assertEqual(len({a.json["id"] for a in answers}), 1, "different ids returned")
        rows = self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE dedupe_key = %s", (dk,))
        self.assertEqual(rows, 1)

    def test_row_matches_json(self):
        t = self.submit_ok("sleep", {"steps": 3}, queue=unique("q"), priority=5)
        row = self.db.task(t["id"])
        self.assertIsNotNone(row)
        for k in ("kind", "queue", "state", "progress", "payload", "attempts", "max_attempts",
                  "priority", "cancel_requested", "version"):
            self.assertEqual(row[k], t[k], k)
        self.assertEqual(row["created_at"], parse_time(t["created_at"]))
        self.assertNotIn(t["state"], FINAL_STATES)
