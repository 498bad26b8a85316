"""What every route does with the same kind of input, route by route from fcgi/routes.h.

- NotFoundTests: another owner's task and an id no task has get the same answer on every route
  that takes a task id (status, headers and body, the request id aside), so that an id never
  tells whether a task exists; the parents named in "after" likewise.
- DuplicateKeyTests: a JSON body that names a key twice in one object, at the top or nested
  (a task's payload, a batch element), is refused with 400 invalid_json naming the key, on
  every route that takes a body; json-c alone would keep the last one without a word.

Needs auth on (./dev test runs the stack with TASKQ_AUTH=on, see test_auth.py).
"""

import json
import os
import re
import uuid

from taskq_harness import TOP, Client, TaskqTestCase, api, new_token, unique

ROUTES_H = os.path.join(TOP, "fcgi", "routes.h")


def routes():
    """(method, pattern, flags) of each route of fcgi/routes.h, in its order."""
    with open(ROUTES_H, encoding="utf-8") as f:
        text = f.read()
    return [(m, p, fl.strip()) for m, p, fl in
            re.findall(r'R\("([A-Z]+)", "([^"]+)", \w+, ([^,)]+)', text)]


def comparable(r):
    """A response as the tests compare them: status, headers but Date and X-Request-Id, body."""
    headers = sorted((k.lower(), v) for k, v in r.headers.items()
                     if k.lower() not in ("date", "x-request-id"))
    return r.status, headers, r.body


class AuthCase(TaskqTestCase):
    """Two owners, alice and bob, with a token each; skipped when auth is off."""

    def setUp(self):
        super().setUp()
        if Client(token=None).request("GET", "/api/me").status != 401:
            self.skipTest("auth is off on this stack")
        self.alice = Client(token=new_token(unique("alice")))
        self.bob = Client(token=new_token(unique("bob")))


class NotFoundTests(AuthCase):

    # the routes that take a task id, and the requests that reach each (through nginx: the
    # stream's authorisation is reached by subscribing to /api/tasks/{id}/events)
    ID_ROUTES = {
        ("GET", "/api/tasks/*"): [("GET", "/api/tasks/{id}", None),
                                  ("GET", "/api/tasks/{id}?wait=1", None)],
        ("DELETE", "/api/tasks/*"): [("DELETE", "/api/tasks/{id}", None)],
        ("POST", "/api/tasks/*/retry"): [("POST", "/api/tasks/{id}/retry", None)],
        ("POST", "/api/tasks/*/view_token"): [("POST", "/api/tasks/{id}/view_token", None),
                                              ("POST", "/api/tasks/{id}/view_token",
                                               {"ttl_s": 60, "cancel": True})],
        ("GET", "/api/tasks/*/history"): [("GET", "/api/tasks/{id}/history", None)],
        ("GET", "/_taskq/authorize/task/*"): [("GET", "/api/tasks/{id}/events", None)],
    }

    def test_every_task_id_route_is_covered(self):
        taking_id = {(m, p) for m, p, _ in routes()
                     if p.startswith("/api/tasks/*") or p.startswith("/_taskq/authorize/task/")}
        self.assertEqual(taking_id, set(self.ID_ROUTES),
                         "routes of fcgi/routes.h that take a task id vs this test's list")

    def test_another_owners_task_answers_as_an_unknown_id(self):
        q = self.own_queue("nf")
        r = self.alice.submit("noop", {}, queue=q, delay_s=3600)
        self.assertEqual(r.status, 202, str(r))
        theirs, unknown = r.json["id"], str(uuid.uuid4())
        admin = Client()
        n = 0
        for reqs in self.ID_ROUTES.values():
            for method, path, body in reqs:
                kw = {"timeout": 10} if body is None else {"json_body": body, "timeout": 10}
                other = self.bob.request(method, path.format(id=theirs), **kw)
                none = self.bob.request(method, path.format(id=unknown), **kw)
                by_admin = admin.request(method, path.format(id=unknown), **kw)
                with self.subTest(request="%s %s" % (method, path)):
                    self.assert_error(other, 404, "not_found")
                    self.assertEqual(comparable(other), comparable(none))
                    self.assertEqual(comparable(by_admin), comparable(none))
                n += 1
        # alice's task is untouched by all of that
        self.assertEqual(self.alice.get(theirs).json["state"], "queued")
        self.report("%d requests: another owner's task and an unknown id answer the same "
                    "bytes" % n)

    def test_parents_of_another_owner_read_as_unknown(self):
        q = self.own_queue("nf")
        r = self.alice.submit("noop", {}, queue=q, delay_s=3600)
        self.assertEqual(r.status, 202, str(r))
        theirs, unknown = r.json["id"], str(uuid.uuid4())
        for path, body in (("/api/tasks", {"kind": "noop", "queue": q, "after": ["{id}"]}),
                           ("/api/tasks/batch",
                            {"tasks": [{"kind": "noop", "queue": q, "after": ["{id}"]}]})):
            def send(tid):
                text = json.dumps(body).replace("{id}", tid)
                return self.bob.request("POST", path, body=text,
                                        headers={"Content-Type": "application/json"})
            other, none = send(theirs), send(unknown)
            with self.subTest(path=path):
                self.assert_error(other, 400, "invalid_field")
                a, b = comparable(other), comparable(none)
                self.assertEqual(a[:2], b[:2])
                self.assertEqual(a[2].replace(theirs.encode(), b"<id>"),
                                 b[2].replace(unknown.encode(), b"<id>"))


class DuplicateKeyTests(TaskqTestCase):

    def body_routes(self):
        """The routes of fcgi/routes.h that read a JSON body: every POST and PUT but retry."""
        return {(m, p) for m, p, _ in routes()
                if m in ("POST", "PUT") and not p.endswith("/retry")}

    def cases(self, q, tid, name):
        """(route, method, path, body text, the repeated key) for each route that reads a
        body: a repeat at the top, and one nested where the body has objects inside."""
        task = '"kind":"noop","queue":"%s","delay_s":3600' % q
        sched = '"cron":"@every 1h","kind":"noop","queue":"%s"' % q
        return [
            (("POST", "/api/tasks"), "/api/tasks",
             '{%s,"priority":1,"priority":9}' % task, "priority"),
            (("POST", "/api/tasks"), "/api/tasks",
             '{%s,"payload":{"a":{"b":1,"c":[],"b":2}}}' % task, "b"),
            (("POST", "/api/tasks/batch"), "/api/tasks/batch",
             '{"tasks":[{%s}],"tasks":[{%s},{%s}]}' % (task, task, task), "tasks"),
            (("POST", "/api/tasks/batch"), "/api/tasks/batch",
             '{"tasks":[{%s},{%s,"queue":"%s"}]}' % (task, task, q), "queue"),
            (("POST", "/api/tasks/batch"), "/api/tasks/batch",
             '[{%s,"payload":{"x":[{"y":1,"y":1}]}}]' % task, "y"),
            (("POST", "/api/tasks/*/view_token"), "/api/tasks/%s/view_token" % tid,
             '{"ttl_s":60,"cancel":false,"cancel":true}', "cancel"),
            (("POST", "/api/schedules"), "/api/schedules",
             '{"name":"%s",%s,"cron":"@every 1s"}' % (name, sched), "cron"),
            (("POST", "/api/schedules"), "/api/schedules",
             '{"name":"%s",%s,"payload":{"k":1,"k":2}}' % (name, sched), "k"),
            (("PUT", "/api/schedules/*"), "/api/schedules/%s" % name,
             '{%s,"kind":"sleep"}' % sched, "kind"),
            (("PUT", "/api/rate_limits/*/*"), "/api/rate_limits/queue/%s" % q,
             '{"max_starts":5,"per_s":1,"max_starts":500}', "max_starts"),
        ]

    def undo(self, path, r, name):
        """Removes what a request that should have been refused made."""
        if r.status not in (200, 201, 202):
            return
        if "/schedules" in path:
            api.request("DELETE", "/api/schedules/%s" % name)
        elif "/rate_limits" in path:
            api.request("DELETE", path)

    def test_every_body_route_refuses_a_key_named_twice(self):
        q = self.own_queue("dup")
        tid = self.submit_ok("noop", {}, queue=q, delay_s=3600)["id"]
        name = unique("dup")
        cases = self.cases(q, tid, name)
        self.assertEqual({c[0] for c in cases}, self.body_routes(),
                         "routes of fcgi/routes.h that read a body vs this test's cases")
        before = self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s", (q,))
        for route, path, text, key in cases:
            r = api.request(route[0], path, body=text.encode(),
                            headers={"Content-Type": "application/json"})
            self.undo(path, r, name)
            with self.subTest(request="%s %s %s" % (route[0], path, text)):
                self.assert_error(r, 400, "invalid_json")
                self.assertIn("duplicate key '%s'" % key, r.json["error"]["message"])
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s",
                                        (q,)), before, "a refused body made tasks")
        self.assertEqual(api.request("GET", "/api/schedules/%s" % name).status, 404)
        self.report("%d bodies, %d routes: each refused, the key named" % (
            len(cases), len(self.body_routes())))

    def test_the_same_key_in_different_objects_is_fine(self):
        q = self.own_queue("dup")
        body = ('{"kind":"noop","queue":"%s","delay_s":3600,"payload":{"kind":{"kind":1},'
                '"l":[{"queue":1},{"queue":2}]}}' % q)
        r = api.request("POST", "/api/tasks", body=body.encode(),
                        headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 202, str(r))
        self.track(r.json["id"])
        self.assertEqual(r.json["payload"], {"kind": {"kind": 1}, "l": [{"queue": 1},
                                                                        {"queue": 2}]})
