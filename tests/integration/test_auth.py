"""Bearer tokens and owners: 401 without a valid token, owners see and act on their own tasks
only (API, streams, feeds), admins see all, revocation and expiry honoured within seconds,
cookies authorise reads only, per-owner limits (rate, unfinished) answer 429, and owners take
turns in a queue (fair queueing at submit).

The test stack runs taskq-fcgi with auth on and TASKQ_OWNER_RATE / TASKQ_OWNER_BURST set by
./dev test, and every owner's cap on unfinished tasks (taskq.owner_caps, row "*") at 500
(see tools/dev/test.sh); $TASKQ_TOKEN is an admin's.
"""

import os
import re
import subprocess
import threading
import time

from taskq_harness import (ENV, TOP, Client, HarnessError, TaskqTestCase, new_token, unique,
                           wait_until)
from test_streams import Sse, ws_frames

RATE = int(os.environ.get("TASKQ_OWNER_RATE") or 200)
BURST = int(os.environ.get("TASKQ_OWNER_BURST") or 1000)
SUBMITTERS = 4  # concurrent clients of the rate-limited owner


def revoke(which):
    exe = os.path.join(ENV.build, "taskq")
    return subprocess.run([exe, "--db", ENV.db, "token", "revoke", which],
                          capture_output=True, text=True, timeout=30)


class AuthTests(TaskqTestCase):

    def setUp(self):
        super().setUp()
        self.skip_unless_auth()
        self.alice_owner, self.bob_owner = unique("alice"), unique("bob")
        self.alice = Client(token=new_token(self.alice_owner))
        self.bob = Client(token=new_token(self.bob_owner))

    def alice_task(self, payload=None, **fields):
        r = self.alice.submit("sleep", payload or {"steps": 1, "step_ms": 10}, **fields)
        self.assertEqual(r.status, 202, str(r))
        self.assertEqual(r.status, 202, str(r))
        self.track(r.json["id"])
        return r.json

    def test_no_token_is_401_with_www_authenticate(self):
        anon = Client(token=None)
        for method, path in (("GET", "/api/tasks"), ("GET", "/api/queues"), ("GET", "/api/me"),
                             ("POST", "/api/tasks"),
                             ("GET", "/api/tasks/01234567-89ab-7def-8123-456789abcdef")):
            r = anon.request(method, path, json_body={"kind": "noop"} if method == "POST" else None)
            self.assert_error(r, 401, "unauthorized")
            self.assertIn("Bearer", r.header("WWW-Authenticate", ""), str(r))
        self.assertEqual(anon.request("GET", "/healthz").status, 200)

    def test_bad_tokens_are_401_invalid_token(self):
        for tok in ("tq_" + "A" * 43, "tq_short", "x" * 46, "tq_" + "!" * 43,
                    "'; DROP TABLE taskq.tokens; --"):
            r = Client(token=tok).request("GET", "/api/me")
            self.assert_error(r, 401, "invalid_token")
        r = Client(token=None).request("GET", "/api/me", headers={"Authorization": "Basic YTpi"})
        self.assert_error(r, 401, "invalid_token")

    def test_me_says_who(self):
        me = self.alice.request("GET", "/api/me").json
        self.assertEqual(me, {"owner": self.alice_owner, "admin": False, "read_only": False,
                              "auth": True})
        self.assertTrue(Client().request("GET", "/api/me").json["admin"])

    def test_owner_sees_and_acts_on_its_own_tasks_only(self):
        t = self.alice_task({"steps": 50, "step_ms": 100})
        tid = t["id"]
        self.assertEqual(t["owner"], self.alice_owner)
        # bob: as if the task did not exist, for every verb
        self.assert_error(self.bob.get(tid), 404, "not_found")
        self.assert_error(self.bob.request("GET", "/api/tasks/%s/history" % tid), 404, "not_found")
        self.assert_error(self.bob.request("DELETE", "/api/tasks/%s" % tid), 404, "not_found")
        self.assert_error(self.bob.request("POST", "/api/tasks/%s/retry" % tid), 404, "not_found")
        ids = [x["id"] for x in self.bob.request("GET", "/api/tasks?limit=500").json["tasks"]]
        self.assertNotIn(tid, ids)
        # asking for alice's list as bob still lists bob's
        r = self.bob.request("GET", "/api/tasks?owner=%s" % self.alice_owner)
        self.assertEqual(r.json["tasks"], [])
        self.assertEqual(self.bob.request("GET", "/api/queues").json["queues"], [])
        # alice and the admin see it; alice may cancel it
        self.assertEqual(self.alice.get(tid).status, 200)
        self.assertEqual(Client().get(tid).status, 200)
        ids = [x["id"] for x in Client().request(
            "GET", "/api/tasks?owner=%s" % self.alice_owner).json["tasks"]]
        self.assertEqual(ids, [tid])
        q = self.alice.request("GET", "/api/queues").json["queues"]
        self.assertEqual(sum(sum(x["counts"].values()) for x in q), 1, repr(q))
        self.assertIn(self.alice.request("DELETE", "/api/tasks/%s" % tid).status, (200, 202))
        self.report("another owner's task answers 404 on GET, history, DELETE, retry; lists "
                    "and queue counts are the owner's own")

    def test_cookie_authorises_reads_only(self):
        tok = new_token(self.alice_owner)
        tid = self.alice_task()["id"]
        anon = Client(token=None)
        cookie = {"Cookie": "theme=dark; taskq_token=%s" % tok}
        self.assertEqual(anon.request("GET", "/api/tasks/%s" % tid, headers=cookie).status, 200)
        r = anon.request("DELETE", "/api/tasks/%s" % tid, headers=cookie)
        self.assert_error(r, 401, "unauthorized")
        r = anon.request("POST", "/api/tasks", json_body={"kind": "noop"}, headers=cookie)
        self.assert_error(r, 401, "unauthorized")

    def test_revocation_is_honoured_within_seconds(self):
        owner = unique("rev")
        tok = new_token(owner)
        c = Client(token=tok)
        self.assertEqual(c.request("GET", "/api/me").status, 200)  # now cached
        prefix = tok[:10]
        r = revoke(prefix)
        self.assertEqual(r.returncode, 0, r.stderr)
        t0 = time.monotonic()
        wait_until(lambda: c.request("GET", "/api/me").status == 401, timeout=10,
                   what="the revoked token refused")
        took = time.monotonic() - t0
        self.report("revoked token refused after %.0f ms" % (took * 1000))
        self.assertLess(took, 6.0)

    def test_expired_token_is_refused(self):
        c = Client(token=new_token(unique("exp"), "--expires", "2"))
        self.assertEqual(c.request("GET", "/api/me").status, 200)
        wait_until(lambda: c.request("GET", "/api/me").status == 401, timeout=10,
                   what="the expired token refused")

    def test_streams_of_another_owner_are_refused(self):
        tid = self.alice_task({"steps": 3, "step_ms": 100})["id"]
        probe = Sse("/api/tasks/%s/events" % tid, token=self.bob.token)
        self.assertEqual(probe.status, 404)
        probe.close()
        for path, token, want in (("/api/stream", self.alice.token, 403),
                                  ("/api/stream/%s" % self.alice_owner, self.bob.token, 403),
                                  ("/api/stream/%s" % self.alice_owner, "", 401),
                                  ("/api/tasks/%s/events" % tid, "", 401)):
            s = Sse(path, token=token)
            self.assertEqual(s.status, want, path)
            s.close()
        with self.assertRaises(AssertionError):
            for _ in ws_frames("/api/tasks/%s/events" % tid, lambda d: True, token=self.bob.token):
                pass
        s = Sse("/api/tasks/%s/events" % tid, token=self.alice.token)
        self.assertEqual(s.status, 200)
        last = [d for _, d, _ in s.events(lambda d: d["state"] == "succeeded")][-1]
        s.close()
        self.assertEqual(last["state"], "succeeded")

    def test_owner_feed_carries_only_its_owner(self):
        feed = Sse("/api/stream/%s" % self.alice_owner, token=self.alice.token)
        self.assertEqual(feed.status, 200)
        time.sleep(0.3)
        b = self.bob.submit("sleep", {"steps": 2, "step_ms": 50})
        self.track(b.json["id"])
        a = self.alice_task({"steps": 2, "step_ms": 50})["id"]
        seen = set()
        for _, data, _ in feed.events(lambda d: any(
                t["id"] == a and t["state"] == "succeeded" for t in d["tasks"]), timeout=20):
            seen.update((t["id"], t["owner"]) for t in data["tasks"])
        feed.close()
        self.assertIn((a, self.alice_owner), seen)
        self.assertEqual({o for _, o in seen}, {self.alice_owner})


def route_table():
    """(method, pattern) of every route of fcgi/routes.h, the table taskq-fcgi is built from."""
    with open(os.path.join(TOP, "fcgi", "routes.h")) as f:
        return re.findall(r'R\("([A-Z]+)", "([^"]+)"', f.read())


class ReadOnlyTokenTests(TaskqTestCase):
    """A read-only token (taskq token create NAME --read-only) sees what an admin sees and
    changes nothing: 403 on every route that is not a read, route by route from the table."""

    def setUp(self):
        super().setUp()
        self.skip_unless_auth()
        self.viewer = Client(token=new_token(unique("viewer"), "--read-only"))
        self.alice = Client(token=new_token(unique("alice")))

    def test_it_sees_everything(self):
        r = self.alice.submit("noop", {})
        self.assertEqual(r.status, 202, str(r))
        tid = self.track(r.json["id"])
        self.assertEqual(self.viewer.request("GET", "/api/tasks/" + tid).status, 200)
        ids = [t["id"] for t in self.viewer.request("GET", "/api/tasks?limit=500").json["tasks"]]
        self.assertIn(tid, ids)
        me = self.viewer.request("GET", "/api/me").json
        self.assertTrue(me["admin"] and me["read_only"], me)
        for path in ("/api/queues", "/api/rate_limits", "/api/schedules", "/metrics"):
            self.assertEqual(self.viewer.request("GET", path).status, 200, path)

    def test_every_route_that_changes_something_is_403(self):
        r = self.alice.submit("sleep", {"steps": 1, "step_ms": 10})
        tid = self.track(r.json["id"])
        changing = [(m, p) for m, p in route_table() if m not in ("GET", "HEAD")]
        self.assertGreaterEqual(len(changing), 10, changing)
        for method, pattern in changing:
            path = pattern.replace("*", tid, 1).replace("*", "x")
            body = {"kind": "noop"} if method in ("POST", "PUT") else None
            if pattern == "/api/tasks/batch":
                body = {"tasks": [{"kind": "noop"}]}
            r = self.viewer.request(method, path, json_body=body)
            self.assert_error(r, 403, "forbidden")
            self.assertIn("read-only", r.json["error"]["message"], (method, path))
        # nothing changed: the task was neither cancelled nor retried, no task was added
        self.assertFalse(Client().get(tid).json["cancel_requested"])

    def test_the_cli_reads_and_refuses_changes(self):
        exe = os.path.join(ENV.build, "taskq")
        tok = new_token(unique("viewer"), "--read-only")
        env = dict(os.environ, TASKQ_TOKEN=tok)
        for args, code in ((["list", "--limit", "1"], 0), (["token", "list"], 0),
                           (["stats"], 0), (["submit", "noop"], 77),
                           (["token", "create", "x"], 77), (["limit", "list"], 0)):
            r = subprocess.run([exe, "--db", ENV.db] + args, env=env, capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(r.returncode, code, (args, r.stderr))
            if code:
                self.assertIn("read-only", r.stderr)
        listed = subprocess.run([exe, "--db", ENV.db, "token", "list"], capture_output=True,
                                text=True, timeout=30).stdout
        self.assertIn(" read-only ", listed)
        r = subprocess.run([exe, "--db", ENV.db, "token", "create", "x", "--admin",
                            "--read-only"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 64, r.stderr)


class OwnerLimitTests(TaskqTestCase):
    """Limits apply to owners' tokens (admins are exempt)."""

    def setUp(self):
        super().setUp()
        self.skip_unless_auth()

    def test_submit_rate_is_limited_per_owner(self):
        token = new_token(unique("rate"))
        other = Client(token=new_token(unique("calm")))
        q = self.own_queue()
        codes, retry_after, lock = {}, [None], threading.Lock()
        ids, bad = [], []

        # SUBMITTERS clients of one owner at once: on a loaded machine one client alone may
        # submit slower than the owner's rate, and then no 429 ever comes
        def submitter():
            c = Client(token=token, keepalive=True)
            while True:
                with lock:
                    if codes.get(429) or sum(codes.values()) >= 5 * BURST:
                        return
                r = c.submit("noop", {})
                with lock:
                    codes[r.status] = codes.get(r.status, 0) + 1
                    if r.status == 202:
                        ids.append(r.json["id"])
                    elif r.status == 429:
                        if r.json["error"]["code"] != "rate_limited":
                            bad.append(str(r))
                        retry_after[0] = r.header("Retry-After")

        t0 = time.monotonic()
        # noops on the served queue finish at once: the unfinished cap stays out of the way
        threads = [threading.Thread(target=submitter) for _ in range(SUBMITTERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
        for i in ids:
            self.track(i)
        self.assertEqual(bad, [])
        retry_after = retry_after[0]
        self.assertGreater(codes.get(429, 0), 0, repr(codes))
        self.assertGreaterEqual(codes.get(202, 0), BURST, repr(codes))
        self.assertLessEqual(codes.get(202, 0), BURST + RATE * elapsed + 1, repr(codes))
        self.assertIsNotNone(retry_after)
        # another owner is not slowed by the first one's limit
        r = other.submit("noop", {}, queue=q, delay_s=3600)
        self.assertEqual(r.status, 202, str(r))
        self.track(r.json["id"])
        self.report("owner rate %d/s burst %d: %d accepted in %.2f s, then 429 (Retry-After %s)"
                    % (RATE, BURST, codes.get(202, 0), elapsed, retry_after))

    def test_unfinished_tasks_are_capped_per_owner(self):
        # every owner's cap (taskq.owner_caps; the test stack's is 500)
        cap = self.db.scalar(
            "SELECT max_unfinished FROM taskq.owner_caps WHERE owner = '*'") or 10 ** 9
        if cap > 2000:
            self.skipTest("cap too high to reach in a test")
        owner = unique("cap")
        c = Client(token=new_token(owner), keepalive=True)
        q = self.own_queue()
        created, refused = 0, None
        deadline = time.monotonic() + 60
        while refused is None and time.monotonic() < deadline:
            r = c.submit("noop", {}, queue=q, delay_s=3600)
            if r.status == 202:
                created += 1
                self.track(r.json["id"])
            elif r.json["error"]["code"] == "rate_limited":
                time.sleep(float(r.header("Retry-After", "1")) / 4)
            else:
                refused = r
        self.assertIsNotNone(refused, "never refused after %d tasks" % created)
        self.assert_error(refused, 429, "too_many_unfinished")
        # never under the cap; over it at most by what concurrent submits add (none here: the
        # database holds it on every insert, so one client gets exactly the cap)
        self.assertGreaterEqual(created, cap)
        self.assertLessEqual(created, cap + RATE + BURST)
        self.assertEqual(created, cap)
        self.report("cap %d unfinished: refused after %d" % (cap, created))


class FairnessTests(TaskqTestCase):

    def setUp(self):
        super().setUp()
        self.skip_unless_auth()

    def flood_then_late(self, q, n_flood, step_ms, **fields):
        """n_flood sleep tasks from one owner, then 10 from another, drained by 2 executors;
        returns the positions at which the late owner's tasks started."""
        flood_owner, late_owner = unique("flood"), unique("late")
        flood = Client(token=new_token(flood_owner), keepalive=True)
        late = Client(token=new_token(late_owner), keepalive=True)
        late_ids = []
        for client, n in ((flood, n_flood), (late, 10)):
            for _ in range(n):
                r = client.submit("sleep", {"steps": 1, "step_ms": step_ms}, queue=q, **fields)
                self.assertEqual(r.status, 202, str(r))
                self.track(r.json["id"])
                if client is late:
                    late_ids.append(r.json["id"])
        self.start_worker(q, concurrency=2)
        wait_until(lambda: self.db.scalar(
            "SELECT count(*) FROM taskq.tasks WHERE id = ANY(%s::uuid[]) AND state = 'succeeded'",
            (late_ids,)) == len(late_ids), timeout=60, what="the late owner's tasks done")
        order = self.db.query(
            "SELECT owner FROM taskq.tasks WHERE queue = %s AND started_at IS NOT NULL "
            "ORDER BY started_at, id", (q,))
        return [i for i, row in enumerate(order) if row["owner"] == late_owner]

    def test_a_flood_from_one_owner_does_not_starve_another(self):
        n_flood = min(300, BURST)
        positions = self.flood_then_late(self.own_queue("fair"), n_flood, 20)
        self.report("flood of %d from one owner, then 10 from another: the late owner's tasks "
                    "started at positions %s (without fair queueing they would start at %d+)"
                    % (n_flood, positions, n_flood))
        # owners alternate: the late owner's 10 tasks start among the first ~20 + slack
        self.assertLess(max(positions), 40, positions)

    def test_keyed_floods_from_two_owners_interleave(self):
        """Tasks of one concurrency key run one at a time, in the key's own order (priority,
        run_at): that line is fair across owners too."""
        n_flood = min(30, BURST)
        positions = self.flood_then_late(self.own_queue("fairkey"), n_flood, 5,
                                         concurrency_key=unique("fk"))
        self.report("keyed flood of %d from one owner, then 10 from another, one key: the late "
                    "owner's tasks started at positions %s (in submit order: %d+)"
                    % (n_flood, positions, n_flood))
        # owners alternate within the key: the late owner's 10 start among the first ~20
        self.assertLess(max(positions), 25, positions)


class NginxLimitTests(TaskqTestCase):
    """The shipped nginx site limits submits per client address (loopback is exempt, so this
    test comes from 127.0.0.2) and tags every response with X-Request-Id."""

    def test_submits_from_one_address_are_rate_limited_by_nginx(self):
        import http.client
        import json
        host, port = Client().host, Client().port
        conn = http.client.HTTPConnection(host, port, timeout=10, source_address=("127.0.0.2", 0))
        body = json.dumps({"kind": "noop", "payload": {}, "queue": self.own_queue(),
                           "delay_s": 3600})
        hdrs = {"Content-Type": "application/json", "Authorization": "Bearer " + ENV.token}
        codes, limited = {}, None
        try:
            for _ in range(300):
                conn.request("POST", "/api/tasks", body=body, headers=hdrs)
                r = conn.getresponse()
                data = r.read()
                codes[r.status] = codes.get(r.status, 0) + 1
                if r.status == 429 and limited is None:
                    limited = (json.loads(data), r.getheader("Retry-After"))
        finally:
            conn.close()
        self.assertIsNotNone(limited, repr(codes))
        self.assertEqual(limited[0]["error"]["code"], "rate_limited")
        self.assertEqual(limited[1], "1")
        self.assertGreaterEqual(codes.get(202, 0), 100, repr(codes))
        self.report("300 submits at once from 127.0.0.2: %r" % codes)

    def test_request_id_is_passed_through_or_made(self):
        r = Client().request("GET", "/api/me", headers={"X-Request-Id": "abc-123"})
        self.assertEqual(r.header("X-Request-Id"), "abc-123")
        r = Client().request("GET", "/api/me", headers={"X-Request-Id": "bad id\"<>"})
        self.assertRegex(r.header("X-Request-Id", ""), r"^[0-9a-f]{32}$")
        r = Client(token=None).request("GET", "/api/me")
        self.assertRegex(r.header("X-Request-Id", ""), r"^[0-9a-f]{32}$")
