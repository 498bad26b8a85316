"""GET /api/tasks/{id}: the task JSON, ETag = version, If-None-Match -> 304, /healthz."""

import re
import time

from taskq_harness import Client, TaskqTestCase, api, unique, wait_until


def memory_304s():
    text = Client().request("GET", "/metrics").body.decode()
    m = re.search(r'^taskq_http_not_modified_total\{source="memory"\} (\d+)$', text, re.M)
    return int(m.group(1)) if m else 0


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


class NotModifiedFromMemoryTests(TaskqTestCase):
    """taskq-fcgi answers a 304 for a task whose current version it knows without a query
    (fcgi/fresh.c); every change, by this process, by SQL or by a worker, ends those 304s."""

    def finished_etag(self):
        t = self.submit_ok("noop", {})
        self.api.wait_for(t["id"], "succeeded", timeout=15)
        r = api.get(t["id"])
        self.assertEqual(r.status, 200, str(r))
        return t["id"], r.header("ETag")

    def test_a_finished_task_is_not_modified_without_a_query(self):
        tid, etag = self.finished_etag()
        before = memory_304s()
        for _ in range(5):
            r = api.get(tid, headers={"If-None-Match": etag})
            self.assertEqual(r.status, 304, str(r))
            self.assertEqual(r.header("ETag"), etag)
        self.assertGreaterEqual(memory_304s() - before, 5)

    def test_a_retry_here_is_seen_by_the_next_read(self):
        tid, etag = self.finished_etag()
        self.assertEqual(api.get(tid, headers={"If-None-Match": etag}).status, 304)
        self.db.query("UPDATE taskq.tasks SET state = 'failed', error = 'x', "
                      "version = version + 1 WHERE id = %s", (tid,))
        # the SQL change is heard (NOTIFY) a moment later; the retry over HTTP at once
        wait_until(lambda: api.get(tid, headers={"If-None-Match": etag}).status == 200,
                        timeout=2, what="a change made in SQL ending the 304s")
        etag = api.get(tid).header("ETag")
        self.assertEqual(api.get(tid, headers={"If-None-Match": etag}).status, 304)
        self.assertEqual(api.retry(tid).status, 200)
        r = api.get(tid, headers={"If-None-Match": etag})
        self.assertEqual(r.status, 200, "the retry's own process answered 304: %s" % r)

    def test_a_workers_progress_ends_the_304s_within_milliseconds(self):
        t = self.submit_ok("sleep", {"steps": 30, "step_ms": 100})
        self.api.wait_for(t["id"], "running", timeout=15)
        r = api.get(t["id"])
        etag = r.header("ETag")
        t0 = time.monotonic()
        while api.get(t["id"], headers={"If-None-Match": etag}).status == 304:
            self.assertLess(time.monotonic() - t0, 2.0, "a running task stayed 304 for 2 s")
            time.sleep(0.005)
        api.delete(t["id"])


class HealthTests(TaskqTestCase):

    def test_healthz_200_json(self):
        r = api.healthz()
        self.assertEqual(r.status, 200, str(r))
        self.assert_json_response(r)
        self.assertEqual((r.json["status"], r.json["database"]), ("ok", "ok"))
        self.assertGreaterEqual(r.json["workers"], 1, "the stack's own worker sends heartbeats")
