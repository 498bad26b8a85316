"""Per-task view tokens: the 202 answer carries one, SQL mints the same bytes
(taskq.view_token()), and its bearer reads, follows and (only when the token says so) cancels
that one task: another task, the list, the queues, submits and retries answer 403; a forged,
malformed or expired token 401; a key rotation keeps old tokens valid until their key is
deleted. The signature is checked here with Python's own HMAC against the stored key.

Needs auth on (the test stack's default; skipped otherwise).
"""

import base64
import hashlib
import hmac
import os
import struct
import time
import uuid

from taskq_harness import ENV, Client, TaskqTestCase, new_token, unique, wait_until
from test_streams import Sse


def decode(tok):
    """(version, key id, flags, expiry, task id, mac, message) of a view token."""
    raw = base64.urlsafe_b64decode(tok[3:] + "=")
    msg, mac = raw[:27], raw[27:]
    version, key_id, flags = msg[0], msg[1], msg[2]
    (expires,) = struct.unpack(">q", msg[3:11])
    return version, key_id, flags, expires, str(uuid.UUID(bytes=msg[11:27])), mac, msg


class ViewTokenTests(TaskqTestCase):

    def setUp(self):
        super().setUp()
        self.skip_unless_auth()
        self.owner = Client(token=new_token(unique("app")))

    def submit(self, **fields):
        r = self.owner.submit("sleep", {"steps": 3, "step_ms": 200}, **fields)
        self.assertEqual(r.status, 202, str(r))
        self.track(r.json["id"])
        return r.json

    def viewer(self, tok):
        return Client(token=tok)

    def check_signature(self, tok, task_id, cancel=False):
        version, key_id, flags, expires, tid, mac, msg = decode(tok)
        self.assertEqual((version, flags, tid), (1, 1 if cancel else 0, task_id))
        secret = bytes(self.db.scalar("SELECT secret FROM taskq.view_keys WHERE id = %s",
                                      (key_id,)))
        self.assertEqual(mac, hmac.new(secret, msg, hashlib.sha256).digest())
        return expires

    def test_submit_answer_carries_a_read_only_token(self):
        t = self.submit()
        tok = t["view_token"]
        self.assertTrue(tok.startswith("tv_") and len(tok) == 82, tok)
        expires = self.check_signature(tok, t["id"])
        self.assertAlmostEqual(expires, time.time() + 3600, delta=30)
        v = self.viewer(tok)
        r = v.get(t["id"])
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["id"], t["id"])
        # ETag, 304 and the long-poll work for the viewer too
        r2 = v.get(t["id"], headers={"If-None-Match": r.header("ETag")})
        self.assertIn(r2.status, (200, 304), str(r2))
        self.assertEqual(v.request("GET", "/api/tasks/%s/history" % t["id"]).status, 200)
        me = v.request("GET", "/api/me")
        self.assertEqual(me.status, 200, str(me))
        self.assertEqual(me.json["view"]["task"], t["id"])
        self.assertFalse(me.json["view"]["cancel"])
        self.assertFalse(me.json["admin"])
        # the query parameter works without any header
        anon = Client(token=None)
        r = anon.request("GET", "/api/tasks/%s?view_token=%s&wait=0" % (t["id"], tok))
        self.assertEqual(r.status, 200, str(r))

    def test_a_token_reads_its_task_and_nothing_else(self):
        a, b = self.submit(), self.submit()
        v = self.viewer(a["view_token"])
        self.assert_error(v.get(b["id"]), 403, "forbidden")
        self.assert_error(v.request("GET", "/api/tasks/%s/history" % b["id"]), 403, "forbidden")
        for method, path in (("GET", "/api/tasks"), ("GET", "/api/queues"),
                             ("GET", "/api/schedules"), ("GET", "/api/rate_limits"),
                             ("POST", "/api/tasks/%s/retry" % a["id"]),
                             ("POST", "/api/tasks/%s/view_token" % a["id"]),
                             ("DELETE", "/api/tasks/%s" % a["id"]),
                             ("GET", "/api/stream")):
            r = v.request(method, path)
            self.assertIn(r.status, (403,), "%s %s: %s" % (method, path, r))
        r = v.submit("noop", {})
        self.assert_error(r, 403, "forbidden")
        r = v.request("POST", "/api/tasks/batch", json_body={"tasks": [{"kind": "noop"}]})
        self.assert_error(r, 403, "forbidden")
        # the query parameter on another task's URL
        r = Client(token=None).request("GET", "/api/tasks/%s?view_token=%s" % (b["id"], a["view_token"]))
        self.assert_error(r, 403, "forbidden")
        # a view token is not a bearer token for the live feeds
        owner_feed = "/api/stream/%s" % "x"
        self.assertIn(v.request("GET", owner_feed).status, (401, 403))

    def test_forged_malformed_and_expired_tokens_are_401(self):
        t = self.submit()
        tok = t["view_token"]
        flipped = tok[:40] + ("A" if tok[40] != "A" else "B") + tok[41:]
        _, key_id, _, _, _, _, msg = decode(tok)
        # the same claims with cancel set, keeping the old MAC
        raw = base64.urlsafe_b64decode(tok[3:] + "=")
        forged = "tv_" + base64.urlsafe_b64encode(raw[:2] + b"\x01" + raw[3:]).decode().rstrip("=")
        for bad in (flipped, forged, tok[:-1], tok + "A", "tv_", "tv_" + "A" * 79,
                    "tv_'; DROP TABLE taskq.view_keys; --", tok.replace("tv_", "tq_")):
            r = self.viewer(bad).get(t["id"])
            self.assert_error(r, 401, "invalid_token")
        r = self.viewer(forged).request("DELETE", "/api/tasks/%s" % t["id"])
        self.assert_error(r, 401, "invalid_token")
        short = self.db.scalar("SELECT taskq.view_token(%s::uuid, '1 second')", (t["id"],))
        self.assertEqual(self.viewer(short).get(t["id"]).status, 200)
        time.sleep(2.1)
        self.assert_error(self.viewer(short).get(t["id"]), 401, "invalid_token")

    def test_sql_mints_the_same_tokens(self):
        t = self.submit()
        tok = self.db.scalar("SELECT taskq.view_token(%s::uuid, interval '10 minutes', true)",
                             (t["id"],))
        expires = self.check_signature(tok, t["id"], cancel=True)
        self.assertAlmostEqual(expires, time.time() + 600, delta=30)
        v = self.viewer(tok)
        self.assertEqual(v.get(t["id"]).status, 200)
        r = v.request("DELETE", "/api/tasks/%s" % t["id"])
        self.assertIn(r.status, (200, 202), str(r))
        wait_until(lambda: self.db.task(t["id"])["state"] == "cancelled", 10, "cancelled")
        # an unknown task, a lifetime that is not positive
        for sql, params in (("SELECT taskq.view_token(%s::uuid)", (str(uuid.uuid4()),)),
                            ("SELECT taskq.view_token(%s::uuid, interval '0')", (t["id"],))):
            with self.assertRaises(Exception):
                self.db.scalar(sql, params)

    def test_owner_mints_tokens_over_http(self):
        t = self.submit()
        path = "/api/tasks/%s/view_token" % t["id"]
        r = self.owner.request("POST", path, json_body={"ttl_s": 120, "cancel": True})
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["task"], t["id"])
        self.assertTrue(r.json["cancel"])
        self.assertTrue(r.json["expires_at"].endswith("Z"))
        expires = self.check_signature(r.json["view_token"], t["id"], cancel=True)
        self.assertAlmostEqual(expires, time.time() + 120, delta=30)
        r = self.owner.request("POST", path)  # no body: the defaults
        self.assertEqual(r.status, 200, str(r))
        self.assertFalse(r.json["cancel"])
        # a read-only token may not cancel; the cancel one may
        self.assert_error(self.viewer(r.json["view_token"]).request("DELETE", "/api/tasks/%s" % t["id"]),
                          403, "forbidden")
        for body in ({"ttl_s": 0}, {"ttl_s": "60"}, {"ttl_s": 10 ** 9}, {"cancel": "yes"},
                     {"ttl": 5}, [1], {"ttl_s": 1.5}):
            self.assert_error(self.owner.request("POST", path, json_body=body), 400,
                              "invalid_field")
        # another owner cannot mint for this task (it does not exist for them)
        other = Client(token=new_token(unique("other")))
        self.assert_error(other.request("POST", path), 404, "not_found")
        self.assert_error(self.owner.request("POST", "/api/tasks/nope/view_token"), 400,
                          "invalid_id")

    def test_stream_with_the_query_parameter(self):
        t = self.submit()
        s = Sse("/api/tasks/%s/events?view_token=%s" % (t["id"], t["view_token"]), token="")
        try:
            self.assertEqual(s.status, 200)
            states = [d["state"] for _, d, _ in
                      s.events(lambda d: d["state"] in ("succeeded", "failed", "cancelled"))]
            self.assertEqual(states[-1], "succeeded", states)
        finally:
            s.close()
        other = self.submit()
        s = Sse("/api/tasks/%s/events?view_token=%s" % (other["id"], t["view_token"]), token="")
        try:
            self.assertEqual(s.status, 403)
        finally:
            s.close()
        s = Sse("/api/tasks/%s/events?view_token=tv_forged" % t["id"], token="")
        try:
            self.assertEqual(s.status, 401)
        finally:
            s.close()
        # the access log keeps the token's place, not the token
        log = open(os.path.join(ENV.var, "log", "nginx-access.log"), encoding="utf-8").read()
        self.assertNotIn(t["view_token"], log)

    def test_key_rotation_keeps_old_tokens_until_the_key_is_deleted(self):
        t = self.submit()
        old = t["view_token"]
        old_key = decode(old)[1]
        try:
            new_key = self.db.scalar("SELECT taskq.view_key_rotate()")
            self.assertNotEqual(new_key, old_key)
            fresh = wait_until(lambda: (lambda j: decode(j["view_token"])[1] == new_key and j)(
                self.submit()), 10, "a token signed with the new key")
            self.assertEqual(self.viewer(fresh["view_token"]).get(fresh["id"]).status, 200)
            self.assertEqual(self.viewer(old).get(t["id"]).status, 200)
            self.db.query("DELETE FROM taskq.view_keys WHERE id = %s RETURNING id", (old_key,))
            wait_until(lambda: self.viewer(old).get(t["id"]).status == 401, 10,
                       "the deleted key's token refused")
            self.assertEqual(self.viewer(fresh["view_token"]).get(fresh["id"]).status, 200)
        finally:
            if not self.db.query("SELECT 1 FROM taskq.view_keys"):
                self.db.scalar("SELECT taskq.view_key_rotate()")
