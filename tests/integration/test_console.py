"""The console's routes: GET /api/workers, GET /api/queues/{name}/series (and the rollup that
feeds it), GET /api/breakers, POST /api/breakers/{host}/reset, POST /api/schedules/{name}/run,
POST /api/tasks/bulk, and the search parameters of GET /api/tasks (id_prefix, created_after,
created_before, payload, worker, parent, waiting): answers, bad inputs (clear 400s), admin
routes refused to owners (403) and owner-scoped bulk actions. (Read-only tokens on every route
that changes something: test_auth.ReadOnlyTokenTests, from the route table.)

Every test uses its own queue, which no worker serves, so its tasks stay queued.
"""

import datetime
import json
import urllib.parse

from taskq_harness import Client, ENV, TaskqTestCase, api, db, new_token, unique

ADMIN_GETS = ("/api/workers", "/api/queues/default/series?range=1h", "/api/breakers")
ADMIN_POSTS = ("/api/breakers/x.invalid/reset", "/api/schedules/nope/run")


def ago(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class ConsoleTests(TaskqTestCase):

    def make(self, q, n, payload=lambda i: {"i": i}, **kw):
        return [self.submit_ok("noop", payload(i), queue=q, **kw)["id"] for i in range(n)]

    def get_ok(self, path):
        r = api.request("GET", path)
        self.assertEqual(r.status, 200, str(r))
        return r.json

    def test_workers_lists_the_fleet(self):
        ws = self.get_ok("/api/workers")["workers"]
        self.assertTrue(ws, "no worker")
        w = ws[0]
        self.assertEqual(set(w), {"id", "host", "pid", "version", "queues", "concurrency", "running",
                                  "started_at", "last_seen", "last_seen_s", "stale",
                                  "finished_per_min"})
        self.assertFalse(w["stale"], w)

    def test_search_by_id_prefix_time_and_payload(self):
        q = self.own_queue("cs")
        ids = self.make(q, 6, payload=lambda i: {"user": i % 2, "n": i})
        # payload containment, scoped to the queue and a time range
        page = api.list(queue=q, created_after=ago(120), payload=json.dumps({"user": 1})).json
        self.assertEqual([t["id"] for t in page["tasks"]], [ids[5], ids[3], ids[1]])
        # a time range that ends before them finds none
        self.assertEqual(api.list(queue=q, created_before=ago(600)).json["tasks"], [])
        # an id prefix (dashes optional, any case)
        prefix = ids[2].replace("-", "")[:20].upper()
        found = [t["id"] for t in api.list(queue=q, id_prefix=prefix).json["tasks"]]
        self.assertIn(ids[2], found)
        self.assertTrue(all(i.replace("-", "").startswith(prefix.lower()) for i in found), found)

    def test_bad_search_values_are_clear_400s(self):
        for params, word in (({"payload": '{"a":1}'}, "queue"),
                             ({"queue": "x", "created_after": ago(60), "payload": "[1]"}, "payload"),
                             ({"queue": "x", "created_after": ago(60), "payload": "{nope"}, "payload"),
                             ({"created_after": "yesterday"}, "created_after"),
                             ({"created_before": "2026-13-01T00:00:00Z"}, "created_before"),
                             ({"id_prefix": "xyz"}, "id_prefix"),
                             ({"id_prefix": "0" * 33}, "id_prefix"),
                             ({"waiting": "forever"}, "waiting"),
                             ({"parent": "not-a-uuid"}, "parent")):
            r = api.list(**params)
            self.assert_error(r, 400, "invalid_field")
            self.assertIn(word, r.json["error"]["message"], params)

    def test_waiting_views_and_children(self):
        q = self.own_queue("cw")
        delayed = self.submit_ok("noop", {}, queue=q, delay_s=3600)["id"]
        parent = self.submit_ok("noop", {}, queue=q, delay_s=3600)["id"]
        child = self.submit_ok("noop", {}, queue=q, after=[parent])["id"]
        ids = lambda **kw: [t["id"] for t in api.list(queue=q, **kw).json["tasks"]]
        self.assertEqual(ids(waiting="delayed"), [parent, delayed])
        self.assertEqual(ids(waiting="blocked"), [child])
        self.assertEqual(ids(waiting="retrying"), [])
        self.assertEqual(ids(parent=parent), [child])

    def test_bulk_by_ids_and_by_filter(self):
        q = self.own_queue("cb")
        ids = self.make(q, 5, delay_s=3600)
        r = api.request("POST", "/api/tasks/bulk", json_body={"action": "run_now", "ids": ids[:2]})
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["outcomes"], {"queued": 2})
        self.assertEqual([t["id"] for t in r.json["tasks"]], ids[:2])
        self.assertIsNone(r.json["next"])
        # a filter, page by page: 2 at a time
        seen, before = [], None
        while True:
            f = {"queue": q, "limit": 2}
            if before:
                f["before"] = before
            r = api.request("POST", "/api/tasks/bulk", json_body={"action": "cancel", "filter": f})
            self.assertEqual(r.status, 200, str(r))
            seen += [t["id"] for t in r.json["tasks"]]
            before = r.json["next"]
            if not before:
                break
        self.assertEqual(seen, ids[::-1])
        self.assertEqual(db().count_state(ids, "cancelled"), 5)
        r = api.request("POST", "/api/tasks/bulk", json_body={"action": "delete", "ids": ids})
        self.assertEqual(r.json["outcomes"], {"deleted": 5}, str(r))
        self.assertEqual(api.get(ids[0]).status, 404)

    def test_bulk_refuses_bad_bodies(self):
        tid = self.submit_ok("noop", {}, queue=self.own_queue("cx"), delay_s=3600)["id"]
        for body, code in (({"action": "retry"}, "invalid_field"),
                           ({"action": "explode", "ids": [tid]}, "invalid_field"),
                           ({"action": "retry", "ids": [tid], "filter": {}}, "invalid_field"),
                           ({"action": "retry", "ids": []}, "invalid_field"),
                           ({"action": "retry", "ids": [tid] * 1001}, "invalid_field"),
                           ({"action": "retry", "ids": [tid, "nope"]}, "invalid_id"),
                           ({"action": "retry", "filter": {"colour": "red"}}, "invalid_field"),
                           ({"action": "retry", "filter": {"state": "asleep"}}, "invalid_field"),
                           ({"action": "retry", "filter": {"state": ["failed"]}}, "invalid_field"),
                           ({"action": "retry", "filter": {"payload": {"a": 1}}}, "invalid_field")):
            r = api.request("POST", "/api/tasks/bulk", json_body=body)
            self.assert_error(r, 400, code)
        r = api.request("POST", "/api/tasks/bulk", json_body={"action": "retry", "ids": [tid, "nope"]})
        self.assertEqual(r.json["error"].get("index"), 1, str(r))

    def test_series_from_the_rollup(self):
        q = self.own_queue("cr")
        self.make(q, 3, delay_s=3600)
        db().query("SELECT taskq.rollup_minutes(7, true)")
        pts = self.get_ok("/api/queues/%s/series?range=1h" % q)["points"]
        self.assertEqual(len(pts), 1, pts)
        self.assertEqual(pts[0]["queued"], 3)
        self.assertEqual(pts[0]["started"], 0)
        day = self.get_ok("/api/queues/%s/series?range=1d" % q)["points"]
        self.assertEqual(day[-1]["queued"], 3)
        self.assertEqual(self.get_ok("/api/queues/%s/series" % unique("none"))["points"], [])
        self.assert_error(api.request("GET", "/api/queues/%s/series?range=2d" % q), 400,
                          "invalid_field")
        self.assert_error(api.request("GET", "/api/queues/bad!name/series"), 400, "invalid_field")

    def test_breakers_list_and_reset(self):
        host = unique("cb") + ".invalid"
        db().query("INSERT INTO taskq.breakers (host, state, failures, last_error, opened_at,"
                   " cooldown_s, retry_at, trips) VALUES (%s, 'open', 5, 'HTTP 503', now(), 600,"
                   " now() + interval '10 minutes', 1)", (host,))
        try:
            bs = {b["host"]: b for b in self.get_ok("/api/breakers")["breakers"]}
            self.assertEqual(bs[host]["state"], "open")
            r = api.request("POST", "/api/breakers/%s/reset" % host)
            self.assertEqual((r.status, r.json), (200, {"host": host, "was_unhealthy": True,
                                                        "state": "closed"}))
            self.assertEqual(db().scalar("SELECT state::text FROM taskq.breakers WHERE host = %s",
                                         (host,)), "closed")
            self.assert_error(api.request("POST", "/api/breakers/none.invalid/reset"), 404,
                              "not_found")
        finally:
            db().query("DELETE FROM taskq.breakers WHERE host = %s", (host,))

    def test_schedule_run_now(self):
        name = unique("cs")
        q = self.own_queue("csq")
        r = api.request("POST", "/api/schedules", json_body={"name": name, "cron": "0 0 1 1 *",
                                                             "kind": "noop", "queue": q})
        self.assertEqual(r.status, 201, str(r))
        try:
            r = api.request("POST", "/api/schedules/%s/run" % name)
            self.assertEqual(r.status, 202, str(r))
            self.assertEqual(api.get(r.json["task"]).json["queue"], q)
            api.request("PUT", "/api/schedules/%s" % name,
                        json_body={"cron": "0 0 1 1 *", "kind": "noop", "queue": q, "enabled": False})
            self.assert_error(api.request("POST", "/api/schedules/%s/run" % name), 409,
                              "wrong_state")
            self.assert_error(api.request("POST", "/api/schedules/%s/run" % unique("no")), 404,
                              "not_found")
        finally:
            api.request("DELETE", "/api/schedules/%s" % name)

    def test_admin_routes_refuse_owners_and_bulk_is_owner_scoped(self):
        self.skip_unless_auth()
        alice = Client(token=new_token(unique("alice")))
        bob = Client(token=new_token(unique("bob")))
        for path in ADMIN_GETS:
            self.assert_error(alice.request("GET", path), 403, "forbidden")
        for path in ADMIN_POSTS:
            self.assert_error(alice.request("POST", path), 403, "forbidden")
        q = self.own_queue("co")
        mine = alice.submit("noop", {}, queue=q, delay_s=3600).json["id"]
        theirs = bob.submit("noop", {}, queue=q, delay_s=3600).json["id"]
        r = alice.request("POST", "/api/tasks/bulk", json_body={"action": "cancel", "ids": [mine, theirs]})
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual({t["id"]: t["outcome"] for t in r.json["tasks"]},
                         {mine: "cancelled", theirs: "not_found"})
        r = alice.request("POST", "/api/tasks/bulk", json_body={"action": "run_now", "filter": {"queue": q}})
        self.assertEqual(r.json["matched"], 1, str(r))   # its own (cancelled) task only
        self.assertEqual(api.get(theirs).json["state"], "queued")
