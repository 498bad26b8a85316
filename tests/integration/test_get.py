"""GET /api/tasks/{id}: the task JSON, ETag = version, If-None-Match -> 304, /healthz."""

from taskq_harness import TaskqTestCase, api, unique


class GetTests(TaskqTestCase):

    def test_200_with_etag(self):
        t = self.submit_ok("sleep", {"steps": 2}, queue=unique("q"))
        r = api.get(t["id"])
        self.assertEqual(r.status, 200, str(r))
        self.assert_json_response(r)
        self.assert_task_json(r.json)
        t.pop("view_token")  # only the submit's answer carries one
        # only a read of the task says where it stands in line (the submit's answer: null)
        self.assertEqual((r.json.pop("position"), t.pop("position")), (1, None))
        self.assertEqual(r.json.pop("eta_s"), t.pop("eta_s"))
        self.assertEqual(r.json, t, "GET differs from the submit answer of an untouched task")
        self.assertEqual(r.header("ETag"), '"%d"' % r.json["version"], str(r.headers))
        self.assertEqual(self.db.task(t["id"])["version"], r.json["version"])

    def test_if_none_match_304_empty_body(self):
        t = self.submit_ok("sleep", {"steps": 2}, queue=unique("q"))
        etag = api.get(t["id"]).header("ETag")
        self.assertTrue(etag, "no ETag")
        r = api.get(t["id"], headers={"If-None-Match": etag})
        self.assertEqual(r.status, 304, str(r))
        self.assertEqual(r.body, b"")

    def test_if_none_match_other_etag_200(self):
        t = self.submit_ok("sleep", {"steps": 2}, queue=unique("q"))
        r = api.get(t["id"], headers={"If-None-Match": '"%d"' % (t["version"] + 1000)})
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["id"], t["id"])

    def test_etag_changes_after_a_change(self):
        t = self.submit_ok("sleep", {"steps": 2}, queue=unique("q"))
        r1 = api.get(t["id"])
        etag1 = r1.header("ETag")
        d = api.delete(t["id"])  # a queued task: cancelled at once, a change of the row
        self.assertEqual(d.status, 200, str(d))
        r2 = api.get(t["id"], headers={"If-None-Match": etag1})
        self.assertEqual(r2.status, 200, "old ETag still matches after cancel: %s" % r2)
        self.assertEqual(r2.json["state"], "cancelled")
        self.assertNotEqual(r2.header("ETag"), etag1)
        self.assertGreater(r2.json["version"], r1.json["version"])
        self.assertEqual(r2.header("ETag"), '"%d"' % r2.json["version"])
        r3 = api.get(t["id"], headers={"If-None-Match": r2.header("ETag")})
        self.assertEqual(r3.status, 304, str(r3))

    def test_version_rises_while_running(self):
        t = self.submit_ok("sleep", {"steps": 4, "step_ms": 100})  # queue default: runs
        seen = []
        self.api.wait_for(t["id"], "succeeded", timeout=15, history=seen)
        versions = [x["version"] for x in seen]
        self.assertEqual(versions, sorted(versions), "version went down: %s" % versions)
        self.assertGreater(versions[-1], t["version"])


class HealthTests(TaskqTestCase):

    def test_healthz_200_json(self):
        r = api.healthz()
        self.assertEqual(r.status, 200, str(r))
        self.assert_json_response(r)
        self.assertEqual((r.json["status"], r.json["database"]), ("ok", "ok"))
        self.assertGreaterEqual(r.json["workers"], 1, "the stack's own worker sends heartbeats")
