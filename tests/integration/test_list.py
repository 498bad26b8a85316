"""GET /api/tasks: newest first, filters, keyset pagination, bad parameters.

Every test uses its own queue, which no worker serves, so its tasks stay queued unless the test
changes them, and no test depends on what else is in the table.
"""

import uuid

from taskq_harness import TaskqTestCase, api, unique


class ListTests(TaskqTestCase):

    def make(self, n, queue, kind="noop"):
        return [self.submit_ok(kind, {"i": i}, queue=queue)["id"] for i in range(n)]

    def list_ok(self, **params):
        r = api.list(**params)
        self.assertEqual(r.status, 200, str(r))
        self.assert_json_response(r)
        self.assertIsInstance(r.json.get("tasks"), list, str(r))
        self.assertIn("next", r.json, str(r))
        return r.json

    def test_newest_first_with_full_task_json(self):
        q = unique("q")
        ids = self.make(5, q)
        page = self.list_ok(queue=q)
        self.assertEqual([t["id"] for t in page["tasks"]], ids[::-1])
        self.assertIsNone(page["next"])
        for t in page["tasks"]:
            self.assert_task_json(t)
            self.assertEqual(t["queue"], q)
        self.assertEqual(page["tasks"][0]["payload"], {"i": 4})

    def test_filter_by_state(self):
        q = unique("q")
        ids = self.make(5, q)
        for tid in (ids[1], ids[3]):
            self.assertEqual(api.delete(tid).status, 200)
        self.assertEqual([t["id"] for t in self.list_ok(queue=q, state="cancelled")["tasks"]],
                         [ids[3], ids[1]])
        self.assertEqual([t["id"] for t in self.list_ok(queue=q, state="queued")["tasks"]],
                         [ids[4], ids[2], ids[0]])
        self.assertEqual(self.list_ok(queue=q, state="running")["tasks"], [])

    def test_filter_by_state_across_queues(self):
        q = unique("q")
        ids = self.make(2, q)
        self.assertEqual(api.delete(ids[0]).status, 200)
        page = self.list_ok(state="cancelled", limit=500)
        self.assertTrue(all(t["state"] == "cancelled" for t in page["tasks"]))
        self.assertIn(ids[0], [t["id"] for t in page["tasks"]])

    def test_filter_by_kind(self):
        q = unique("q")
        noops = self.make(3, q, "noop")
        sleeps = self.make(2, q, "sleep")
        self.assertEqual([t["id"] for t in self.list_ok(queue=q, kind="sleep")["tasks"]],
                         sleeps[::-1])
        self.assertEqual([t["id"] for t in self.list_ok(queue=q, kind="noop")["tasks"]],
                         noops[::-1])
        both = self.list_ok(queue=q, kind="sleep", state="queued")["tasks"]
        self.assertEqual(len(both), 2)

    def test_filter_by_queue_excludes_others(self):
        q1, q2 = unique("q"), unique("q")
        a = self.make(2, q1)
        b = self.make(2, q2)
        self.assertEqual([t["id"] for t in self.list_ok(queue=q1)["tasks"]], a[::-1])
        self.assertEqual([t["id"] for t in self.list_ok(queue=q2)["tasks"]], b[::-1])
        self.assertEqual(self.list_ok(queue=unique("empty"))["tasks"], [])

    def test_keyset_pagination_walks_every_task_once(self):
        q = unique("q")
        ids = self.make(23, q)
        seen, pages, before = [], 0, None
        while True:
            page = self.list_ok(queue=q, limit=5, before=before)
            pages += 1
            self.assertLessEqual(len(page["tasks"]), 5)
            seen += [t["id"] for t in page["tasks"]]
            if page["next"] is None:
                break
            self.assertEqual(page["next"], page["tasks"][-1]["id"], "next is not the last id")
            before = page["next"]
            self.assertLess(pages, 10, "pagination does not end")
        self.assertEqual(len(seen), len(set(seen)), "duplicates across pages")
        self.assertEqual(seen, ids[::-1], "pages skip or reorder tasks")
        self.assertEqual(pages, 5)

    def test_before_excludes_that_id_and_newer(self):
        q = unique("q")
        ids = self.make(4, q)
        page = self.list_ok(queue=q, before=ids[2])
        self.assertEqual([t["id"] for t in page["tasks"]], [ids[1], ids[0]])

    def test_default_limit_50(self):
        q = unique("q")
        ids = self.make(52, q)
        page = self.list_ok(queue=q)
        self.assertEqual(len(page["tasks"]), 50)
        self.assertEqual(page["next"], ids[2])
        rest = self.list_ok(queue=q, before=page["next"])
        self.assertEqual([t["id"] for t in rest["tasks"]], [ids[1], ids[0]])
        self.assertIsNone(rest["next"])

    def test_limit_bounds_accepted(self):
        q = unique("q")
        ids = self.make(2, q)
        self.assertEqual([t["id"] for t in self.list_ok(queue=q, limit=1)["tasks"]], [ids[1]])
        self.assertEqual(len(self.list_ok(queue=q, limit=500)["tasks"]), 2)

    def test_bad_parameters_400(self):
        cases = [dict(state="bogus"), dict(state="queued'--"), dict(limit=0),
                 dict(limit=100000), dict(limit=501), dict(limit=-1), dict(limit="abc"),
                 dict(limit="5x"), dict(before="not-a-uuid"), dict(before="12345")]
        for params in cases:
            with self.subTest(**params):
                self.assert_error(api.list(**params), 400, "invalid_field")

    def test_before_unknown_but_valid_uuid_is_fine(self):
        r = api.list(before=str(uuid.UUID(int=0)))
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["tasks"], [])
