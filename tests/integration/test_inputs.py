"""What every route does with the same kind of input, route by route from fcgi/routes.h.

- NotFoundTests: another owner's task and an id no task has get the same answer on every route
  that takes a task id (status, headers and body, the request id aside), so that an id never
  tells whether a task exists; the parents named in "after" likewise.
- DuplicateKeyTests: a JSON body that names a key twice in one object, at the top or nested
  (a task's payload, a batch element), is refused with 400 invalid_json naming the key, on
  every route that takes a body; json-c alone would keep the last one without a word.
- QueryTests: one rule for query parameters on every route (fcgi/query.c, each route's own in
  fcgi/params.c): a parameter the route does not take, one given twice, or a value out of its
  range answers 400 invalid_field naming it and what it must be ("wait must be an integer
  0..30"); nothing is clamped. view_token stays accepted where a view token may read.

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
        self.skip_unless_auth()
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
        ("POST", "/api/tasks/*/hold"): [("POST", "/api/tasks/{id}/hold", None)],
        ("POST", "/api/tasks/*/release"): [("POST", "/api/tasks/{id}/release", None)],
        ("POST", "/api/tasks/*/view_token"): [("POST", "/api/tasks/{id}/view_token", None),
                                              ("POST", "/api/tasks/{id}/view_token",
                                               {"ttl_s": 60, "cancel": True})],
        ("GET", "/api/tasks/*/history"): [("GET", "/api/tasks/{id}/history", None)],
        ("GET", "/api/tasks/*/output"): [("GET", "/api/tasks/{id}/output", None)],
        ("GET", "/_taskq/authorize/task/*"): [("GET", "/api/tasks/{id}/events", None)],
        ("POST", "/api/tasks/*/signals/*"): [("POST", "/api/tasks/{id}/signals/approve", None),
                                             ("POST", "/api/tasks/{id}/signals/approve",
                                              {"approved": True})],
        ("POST", "/api/tasks/*/signal_token"): [("POST", "/api/tasks/{id}/signal_token",
                                                 {"name": "approve"})],
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
        """The routes of fcgi/routes.h that read a JSON body: every POST and PUT but retry,
        hold, release, pause, resume, a breaker's reset and a schedule's run."""
        return {(m, p) for m, p, _ in routes()
                if m in ("POST", "PUT")
                and not p.endswith(("/retry", "/hold", "/release", "/pause", "/resume",
                                    "/reset", "/run"))}

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
            (("POST", "/api/tasks/*/signals/*"), "/api/tasks/%s/signals/approve" % tid,
             '{"approved":true,"approved":false}', "approved"),
            (("POST", "/api/tasks/*/signal_token"), "/api/tasks/%s/signal_token" % tid,
             '{"name":"a","name":"b"}', "name"),
            (("POST", "/api/signals/*"), "/api/signals/ts_" + "A" * 43,
             '{"approved":true,"x":{"y":1,"y":2}}', "y"),
            (("POST", "/api/tasks/bulk"), "/api/tasks/bulk",
             '{"action":"retry","ids":["%s"],"action":"cancel"}' % tid, "action"),
            (("PUT", "/api/owners/*/weight"), "/api/owners/%s/weight" % name,
             '{"weight":2,"weight":3}', "weight"),
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


class QueryTests(AuthCase):

    def setUp(self):
        super().setUp()
        done = api.submit("noop", {})
        self.assertEqual(done.status, 202, str(done))
        self.view = done.json["view_token"]
        self.done = api.wait_for(done.json["id"], "succeeded", timeout=15)

    def samples(self):
        """route → (method, path without a query) that reaches it through nginx."""
        tid, owner = self.done["id"], unique("nobody")
        return {
            ("POST", "/api/tasks"): ("POST", "/api/tasks"),
            ("POST", "/api/tasks/batch"): ("POST", "/api/tasks/batch"),
            ("GET", "/api/tasks"): ("GET", "/api/tasks"),
            ("GET", "/api/tasks/*"): ("GET", "/api/tasks/%s" % tid),
            ("DELETE", "/api/tasks/*"): ("DELETE", "/api/tasks/%s" % tid),
            ("POST", "/api/tasks/*/retry"): ("POST", "/api/tasks/%s/retry" % tid),
            ("POST", "/api/tasks/*/hold"): ("POST", "/api/tasks/%s/hold" % tid),
            ("POST", "/api/tasks/*/release"): ("POST", "/api/tasks/%s/release" % tid),
            ("POST", "/api/queues/*/pause"): ("POST", "/api/queues/%s/pause" % owner),
            ("POST", "/api/queues/*/resume"): ("POST", "/api/queues/%s/resume" % owner),
            ("POST", "/api/tasks/*/view_token"): ("POST", "/api/tasks/%s/view_token" % tid),
            ("GET", "/api/tasks/*/history"): ("GET", "/api/tasks/%s/history" % tid),
            ("POST", "/api/tasks/*/signals/*"): ("POST", "/api/tasks/%s/signals/go" % tid),
            ("POST", "/api/tasks/*/signal_token"): ("POST", "/api/tasks/%s/signal_token" % tid),
            ("POST", "/api/signals/*"): ("POST", "/api/signals/ts_" + "A" * 43),
            ("GET", "/api/queues"): ("GET", "/api/queues"),
            ("GET", "/api/rate_limits"): ("GET", "/api/rate_limits"),
            ("PUT", "/api/rate_limits/*/*"): ("PUT", "/api/rate_limits/queue/%s" % owner),
            ("DELETE", "/api/rate_limits/*/*"): ("DELETE", "/api/rate_limits/queue/%s" % owner),
            ("POST", "/api/schedules"): ("POST", "/api/schedules"),
            ("GET", "/api/schedules"): ("GET", "/api/schedules"),
            ("GET", "/api/schedules/*"): ("GET", "/api/schedules/%s" % owner),
            ("PUT", "/api/schedules/*"): ("PUT", "/api/schedules/%s" % owner),
            ("DELETE", "/api/schedules/*"): ("DELETE", "/api/schedules/%s" % owner),
            ("GET", "/api/me"): ("GET", "/api/me"),
            ("GET", "/_taskq/authorize/task/*"): ("GET", "/api/tasks/%s/events" % tid),
            ("GET", "/_taskq/authorize/stream"): ("GET", "/api/stream"),
            ("GET", "/_taskq/authorize/stream/*"): ("GET", "/api/stream/%s" % owner),
            ("GET", "/healthz"): ("GET", "/healthz"),
            ("GET", "/metrics"): ("GET", "/metrics"),
            ("GET", "/api/tasks/*/output"): ("GET", "/api/tasks/%s/output" % tid),
            ("GET", "/_taskq/authorize/out/*"): ("GET", "/api/tasks/%s/output/stream" % tid),
            ("POST", "/api/tasks/bulk"): ("POST", "/api/tasks/bulk"),
            ("GET", "/api/workers"): ("GET", "/api/workers"),
            ("GET", "/api/queues/*/series"): ("GET", "/api/queues/%s/series" % owner),
            ("GET", "/api/breakers"): ("GET", "/api/breakers"),
            ("POST", "/api/breakers/*/reset"): ("POST", "/api/breakers/%s/reset" % owner),
            ("POST", "/api/schedules/*/run"): ("POST", "/api/schedules/%s/run" % owner),
            ("GET", "/api/owners"): ("GET", "/api/owners"),
            ("PUT", "/api/owners/*/weight"): ("PUT", "/api/owners/%s/weight" % owner),
        }

    def assert_refused(self, r, *parts):
        self.assert_error(r, 400, "invalid_field")
        for part in parts:
            self.assertIn(part, r.json["error"]["message"], str(r))

    def test_every_route_refuses_a_parameter_it_does_not_take(self):
        samples = self.samples()
        self.assertEqual(set(samples), {(m, p) for m, p, _ in routes()},
                         "routes of fcgi/routes.h vs this test's requests")
        for method, path in samples.values():
            r = api.request(method, path + "?colour=red", timeout=10)
            with self.subTest(request="%s %s" % (method, path)):
                self.assert_refused(r, "unknown query parameter 'colour'", "this route takes")
        # nothing happened meanwhile: the finished task is not retried, the limit not set
        self.assertEqual(api.get(self.done["id"]).json["state"], "succeeded")
        self.report("%d routes: an unknown parameter is a 400 naming it" % len(samples))

    def test_ranges_are_refused_not_clamped(self):
        tid = self.done["id"]
        for path, msg in (("/api/tasks/%s?wait=31" % tid, "wait must be an integer 0..30"),
                          ("/api/tasks/%s?wait=-1" % tid, "wait must be an integer 0..30"),
                          ("/api/tasks/%s?wait=1000000" % tid, "wait must be an integer 0..30"),
                          ("/api/tasks/%s?wait=" % tid, "wait must be an integer 0..30"),
                          ("/api/tasks/%s?wait=1.5" % tid, "wait must be an integer 0..30"),
                          ("/api/tasks/%s?wait=1&wait=2" % tid, "'wait' is given more than once"),
                          ("/api/tasks?limit=0", "limit must be an integer 1..500"),
                          ("/api/tasks?limit=501", "limit must be an integer 1..500"),
                          ("/api/tasks?limit=abc", "limit must be an integer 1..500"),
                          ("/api/tasks?state=done", "state must be one of queued, running"),
                          ("/api/tasks?queue=a%20b", "queue must be 1-64 characters"),
                          ("/api/tasks?kind=", "kind must be 1-64 characters"),
                          ("/api/tasks?before=x", "before must be a task id"),
                          ("/api/tasks?owner=a%20b", "owner must be 1-64 characters"),
                          ("/api/tasks?%zz=1", "malformed query string"),
                          ("/api/tasks?view_token=%s" % self.view, "unknown query parameter")):
            with self.subTest(path=path):
                self.assert_refused(api.request("GET", path, timeout=10), msg)
        # the edges themselves pass: a finished task answers a long-poll at once
        for path in ("/api/tasks/%s?wait=0" % tid, "/api/tasks/%s?wait=30" % tid,
                     "/api/tasks?limit=1", "/api/tasks?limit=500&state=succeeded"):
            with self.subTest(path=path):
                r = api.request("GET", path, timeout=10)
                self.assertEqual(r.status, 200, str(r))

    def test_view_token_stays_accepted_where_a_view_token_reads(self):
        tid, vt = self.done["id"], self.view
        anon = Client(token=None)
        for path in ("/api/tasks/%s?view_token=%s" % (tid, vt),
                     "/api/tasks/%s?view_token=%s&wait=1" % (tid, vt),
                     "/api/tasks/%s/history?view_token=%s" % (tid, vt),
                     "/api/me?view_token=%s" % vt,
                     "/api/tasks/%s/events?view_token=%s" % (tid, vt)):
            with self.subTest(path=path):
                r = anon.request("GET", path, timeout=10)
                self.assertEqual(r.status, 200, str(r))
        # a token where no view token reads: refused as a parameter of that route
        r = api.request("GET", "/api/queues?view_token=%s" % vt)
        self.assert_refused(r, "unknown query parameter 'view_token'; this route takes none")
