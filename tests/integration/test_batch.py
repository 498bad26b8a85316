"""Batch submit: POST /api/tasks/batch, taskq.submit_many() in SQL, `taskq submit --file`.

Each test submits into a queue of its own that no worker serves, so what landed stays queued
to be counted (tearDown cancels it).
"""

import json
import os
import subprocess
import tempfile

from taskq_harness import ENV, Client, TaskqTestCase, new_token, unique

MAX_BATCH = int(os.environ.get("TASKQ_MAX_BATCH") or 1000)


def cli(*args, stdin=None):
    exe = os.path.join(ENV.build, "taskq")
    return subprocess.run([exe, "--db", ENV.db] + [str(a) for a in args], input=stdin,
                          capture_output=True, text=True, timeout=60)


class BatchTests(TaskqTestCase):
    def queued_in(self, queue):
        return self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s", (queue,))

    def batch(self, tasks, client=None):
        return (client or self.api).request("POST", "/api/tasks/batch", json_body=tasks)

    def test_a_full_batch_lands_whole_and_in_order(self):
        q = self.own_queue("batch")
        tasks = [{"kind": "noop", "queue": q, "payload": {"i": i}} for i in range(MAX_BATCH)]
        r = self.batch(tasks)
        self.assertEqual(r.status, 202, r)
        body = r.json
        self.assertEqual((body["count"], body["created"]), (MAX_BATCH, MAX_BATCH))
        ids = body["ids"]
        self.assertEqual(len(set(ids)), MAX_BATCH)
        self.assertEqual(self.queued_in(q), MAX_BATCH)
        rows = self.db.query("SELECT id::text AS id, (payload->>'i')::int AS i FROM taskq.tasks"
                             " WHERE queue = %s", (q,))
        index_of = {row["id"]: row["i"] for row in rows}
        self.assertEqual([index_of[t] for t in ids], list(range(MAX_BATCH)))
        # {"tasks": [...]} is the same
        r = self.batch({"tasks": [{"kind": "noop", "queue": q}]})
        self.assertEqual((r.status, r.json["count"]), (202, 1))

    def test_one_bad_element_lands_nothing_and_names_its_index(self):
        q = self.own_queue("batch")
        good = {"kind": "noop", "queue": q}
        cases = [
            (500, {"kind": "no_such_kind", "queue": q}, "unknown_kind"),
            (7, {"kind": "noop", "queue": q, "priority": "high"}, "invalid_field"),
            (999, {"kind": "noop", "queue": q, "max_attempts": 0}, "invalid_field"),
            (0, {"kind": "noop", "queue": "bad queue name!"}, "invalid_field"),
            (3, ["not", "an", "object"], "invalid_field"),
            (42, {"kind": "noop", "queue": q, "payload": "not an object"}, "invalid_field"),
        ]
        for index, bad, code in cases:
            tasks = [dict(good, payload={"i": i}) for i in range(1000)]
            tasks[index] = bad
            r = self.batch(tasks)
            self.assert_error(r, 400, code)
            self.assertEqual(r.json["error"]["index"], index, r)
            self.assertTrue(r.json["error"]["message"].startswith("tasks[%d]: " % index), r)
        self.assertEqual(self.queued_in(q), 0)

    def test_shapes_and_sizes_refused(self):
        q = self.own_queue("batch")
        self.assert_error(self.batch([]), 400, "invalid_field")
        self.assert_error(self.batch({"kind": "noop"}), 400, "invalid_field")
        self.assert_error(self.batch({"tasks": [], "more": 1}), 400, "invalid_field")
        self.assert_error(self.batch("tasks"), 400, "invalid_field")
        r = self.batch([{"kind": "noop", "queue": q}] * (MAX_BATCH + 1))
        self.assert_error(r, 413, "too_large")
        r = self.api.request("POST", "/api/tasks/batch", body=b'[{"kind":"noop"},',
                             headers={"Content-Type": "application/json"})
        self.assert_error(r, 400, "invalid_json")
        self.assertEqual(self.queued_in(q), 0)

    def test_dedupe_keys_inside_a_batch_and_against_live_tasks(self):
        q = self.own_queue("batch")
        key = unique("dk")
        first = self.submit_ok("noop", {}, queue=q, dedupe_key=key)
        r = self.batch([{"kind": "noop", "queue": q, "dedupe_key": key},
                        {"kind": "noop", "queue": q, "dedupe_key": key + "-b"},
                        {"kind": "noop", "queue": q, "dedupe_key": key + "-b"},
                        {"kind": "noop", "queue": q}])
        self.assertEqual(r.status, 202, r)
        ids = r.json["ids"]
        self.assertEqual(ids[0], first["id"])
        self.assertEqual(ids[1], ids[2])
        self.assertEqual(r.json["created"], 2)
        self.assertEqual(self.queued_in(q), 3)
        # all duplicates: 200, nothing new
        r = self.batch([{"kind": "noop", "queue": q, "dedupe_key": key}])
        self.assertEqual((r.status, r.json["created"], r.json["ids"]), (200, 0, [first["id"]]))

    def test_payloads_are_kept_exactly(self):
        q = self.own_queue("batch")
        text = ('[{"kind":"noop","queue":"%s","payload":{"a":1.10,"b":0.1,"c":12345678901234567,'
                '"d":-0.0,"e":1e300,"s":"quote \\" backslash \\\\ \\u00e9 \\ud83d\\ude00",'
                '"n":null,"l":[true,false,{}]}}]' % q)
        r = self.api.request("POST", "/api/tasks/batch", body=text.encode(),
                             headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 202, r)
        single = self.api.request("POST", "/api/tasks", body=text[1:-1].encode(),
                                  headers={"Content-Type": "application/json"})
        self.assertEqual(single.status, 202, single)
        a = self.get_ok(r.json["ids"][0])["payload"]
        b = self.get_ok(single.json["id"])["payload"]
        self.assertEqual(a, b)
        same = self.db.scalar("SELECT a.payload = b.payload FROM taskq.tasks a, taskq.tasks b"
                              " WHERE a.id = %s AND b.id = %s", (r.json["ids"][0], single.json["id"]))
        self.assertTrue(same)

    def test_an_owner_batch_is_its_own_and_within_its_limits(self):
        q = self.own_queue("batch")
        owner = unique("bo")
        c = Client(token=new_token(owner))
        r = self.batch([{"kind": "noop", "queue": q}] * 10, client=c)
        self.assertEqual(r.status, 202, r)
        owners = self.db.query("SELECT DISTINCT owner FROM taskq.tasks WHERE queue = %s", (q,))
        self.assertEqual([o["owner"] for o in owners], [owner])
        # the test stack lets an owner hold 500 unfinished tasks: a batch past it lands nothing
        r = self.batch([{"kind": "noop", "queue": q}] * 491, client=c)
        self.assertEqual(r.status, 429, r)
        self.assertIn(r.json["error"]["code"], ("too_many_unfinished", "rate_limited"))
        self.assertEqual(self.queued_in(q), 10)
        # another owner cannot see them
        other = Client(token=new_token(unique("bo")))
        some_id = self.db.scalar("SELECT id::text FROM taskq.tasks WHERE queue = %s LIMIT 1", (q,))
        self.assertEqual(other.get(some_id).status, 404)


class BatchSqlAndCliTests(TaskqTestCase):
    def test_sql_submit_many(self):
        q = self.own_queue("batch")
        tasks = json.dumps([{"kind": "noop", "queue": q, "payload": {"i": i}} for i in range(50)])
        rows = self.db.query("SELECT ord, id::text, created FROM taskq.submit_many(%s::jsonb, 'sqlowner')",
                             (tasks,))
        self.assertEqual([r["ord"] for r in rows], list(range(50)))
        self.assertTrue(all(r["created"] for r in rows))
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s"
                                        " AND owner = 'sqlowner'", (q,)), 50)
        bad = json.dumps([{"kind": "noop", "queue": q}, {"kind": "no_such_kind", "queue": q}])
        with self.assertRaises(Exception) as cm:
            self.db.query("SELECT * FROM taskq.submit_many(%s::jsonb)", (bad,))
        self.assertIn("tasks[1]: unknown task kind", str(cm.exception))
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s", (q,)), 50)

    def test_cli_submit_file(self):
        q = self.own_queue("batch")
        lines = [json.dumps({"kind": "noop", "queue": q, "payload": {"i": i}}) for i in range(2500)]
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write("\n".join(lines[:1200]) + "\n\n" + "\n".join(lines[1200:]) + "\n")
        try:
            r = cli("submit", "--file", f.name)
            self.assertEqual(r.returncode, 0, r.stderr)
            ids = r.stdout.split()
            self.assertEqual(len(ids), 2500)
            got = {row["id"]: row["i"] for row in self.db.query(
                "SELECT id::text AS id, (payload->>'i')::int AS i FROM taskq.tasks WHERE queue = %s",
                (q,))}
            self.assertEqual([got[i] for i in ids], list(range(2500)))
            self.assertIn("2500 tasks, 2500 new", r.stderr)
        finally:
            os.unlink(f.name)
        # a bad line anywhere: nothing lands, the line is named
        q2 = self.own_queue("batch")
        text = "\n".join([json.dumps({"kind": "noop", "queue": q2})] * 1500
                         + ['{"kind": "noop", "queue": "%s", "priority": 5000}' % q2]) + "\n"
        r = cli("submit", "--file", "-", stdin=text)
        self.assertEqual(r.returncode, 65, r.stderr)  # EX_DATAERR: a value refused
        self.assertIn("line 1501:", r.stderr)
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s", (q2,)), 0)
        r = cli("submit", "--file", "-", stdin="not json\n")
        self.assertEqual(r.returncode, 65)
        self.assertIn("line 1:", r.stderr)
