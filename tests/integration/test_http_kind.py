"""The http kind (libcurl) and completion webhooks, against a small HTTP server of the test's own
on loopback. The test stack's worker runs with TASKQ_HTTP_ALLOW='*,127.0.0.1/32', a 256 KiB
response cap, a header set "testauth" and the webhook secret 'taskq-test-secret' (see
tools/dev/test.sh)."""

import hashlib
import hmac
import json
import time
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from taskq_harness import TaskqTestCase, unique
from taskq_httpd import KeyedLog, QuietHandler, serve

MAX_BODY = 262144
SECRET = b"taskq-test-secret"
FINAL = ("succeeded", "failed", "cancelled")
REC = KeyedLog()  # what the test servers saw, per test key


class Handler(QuietHandler):
    def _dispatch(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        key = q.get("k", "")
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        REC.add(key, {"at": time.time(), "path": u.path, "method": self.command,
                      "headers": dict(self.headers), "body": body,
                      "client": self.client_address[0], "server": self.server.server_address[0]})
        hits = len(REC.get(key))
        if u.path == "/json":
            return self.send(200, b'{"ok":true,"n":42,"s":"quote \\" and \\u00e9"}', "application/json")
        if u.path == "/text":
            return self.send(200, b"hello from the test server", "text/plain; charset=utf-8")
        if u.path.startswith("/status/"):
            return self.send(int(u.path.split("/")[2]), b"status body " + u.path.encode())
        if u.path == "/429":
            if hits == 1:
                return self.send(429, b"slow down", headers=[("Retry-After", q.get("after", "2"))])
            return self.send(200, b'{"ok":true}', "application/json")
        if u.path == "/slow":
            time.sleep(float(q.get("s", "5")))
            return self.send(200, b"late")
        if u.path == "/big":
            total, chunk, pause = int(q.get("n", "600000")), 16384, float(q.get("pause", "0.02"))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(total))
            self.end_headers()
            sent = 0
            try:
                while sent < total:
                    part = min(chunk, total - sent)
                    self.wfile.write(b"x" * part)
                    self.wfile.flush()
                    sent += part
                    time.sleep(pause)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return None
        if u.path == "/redirect":
            return self.send(302, b"", headers=[("Location", q["to"])])
        if u.path == "/echo":
            out = {"method": self.command, "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": body.decode("utf-8", "replace")}
            return self.send(200, json.dumps(out).encode(), "application/json")
        if u.path == "/hook":
            fails = int(q.get("fail", "0"))
            return self.send(500 if hits <= fails else 200, b"ok")
        return self.send(404, b"no route")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _dispatch


class Servers:
    main = None
    other = None  # on 127.0.0.2: loopback the worker is NOT allowed to reach

    @classmethod
    def up(cls):
        if cls.main is None:
            cls.main = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            cls.other = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
            for s in (cls.main, cls.other):
                serve(s)
        return cls.main.server_address[1], cls.other.server_address[1]


class HttpKindTests(TaskqTestCase):

    def setUp(self):
        super().setUp()
        self.port, self.other_port = Servers.up()
        self.key = unique("k")

    def url(self, path, **q):
        q.setdefault("k", self.key)
        return "http://127.0.0.1:%d%s?%s" % (self.port, path, "&".join("%s=%s" % kv for kv in q.items()))

    def run_http(self, payload, timeout=30, **fields):
        t = self.submit_ok("http", payload, **fields)
        return self.api.wait_for(t["id"], FINAL, timeout=timeout)

    def test_200_json_body_is_parsed(self):
        done = self.run_http({"url": self.url("/json")})
        self.assertEqual(done["state"], "succeeded", done.get("error"))
        res = done["result"]
        self.assertEqual(res["status"], 200)
        self.assertEqual(res["body"], {"ok": True, "n": 42, "s": 'quote " and \u00e9'})
        self.assertEqual(res["headers"]["content-type"], "application/json")
        self.assertFalse(res["truncated"])

    def test_200_text_body_is_a_string(self):
        done = self.run_http({"url": self.url("/text"), "method": "GET"})
        self.assertEqual(done["state"], "succeeded", done.get("error"))
        self.assertEqual(done["result"]["body"], "hello from the test server")

    def test_404_fails_without_retry(self):
        done = self.run_http({"url": self.url("/status/404")}, max_attempts=3)
        self.assertEqual(done["state"], "failed")
        self.assertEqual(done["attempts"], 1)
        self.assertIn("HTTP 404", done["error"])
        self.assertIn("status body", done["error"])
        self.assertEqual(len(REC.get(self.key)), 1)

    def test_500_is_retried_then_fails(self):
        done = self.run_http({"url": self.url("/status/500")}, max_attempts=2)
        self.assertEqual(done["state"], "failed")
        self.assertEqual(done["attempts"], 2)
        self.assertIn("HTTP 500", done["error"])
        self.assertEqual(len(REC.get(self.key)), 2)

    def test_429_honours_retry_after(self):
        done = self.run_http({"url": self.url("/429", after="2")}, max_attempts=3)
        self.assertEqual(done["state"], "succeeded", done.get("error"))
        hits = REC.get(self.key)
        self.assertEqual(len(hits), 2)
        gap = hits[1]["at"] - hits[0]["at"]
        self.assertGreaterEqual(gap, 1.9, "retried %.2f s after a Retry-After: 2" % gap)
        self.report("retry %.2f s after Retry-After: 2" % gap)

    def test_slow_response_hits_the_timeout(self):
        start = time.time()
        done = self.run_http({"url": self.url("/slow", s="6"), "timeout_s": 1}, max_attempts=1)
        self.assertEqual(done["state"], "failed")
        self.assertRegex(done["error"], "(?i)time")
        self.assertLess(time.time() - start, 5.5)

    def test_big_download_progress_and_truncation(self):
        t = self.submit_ok("http", {"url": self.url("/big", n="600000", pause="0.1")})
        seen = []
        done = self.api.wait_for(t["id"], FINAL, timeout=30, history=seen)
        self.assertEqual(done["state"], "succeeded", done.get("error"))
        self.assertTrue(done["result"]["truncated"])
        self.assertEqual(done["result"]["bytes"], MAX_BODY)
        self.assertEqual(len(done["result"]["body"]), MAX_BODY)
        mids = sorted({x["progress"] for x in seen if 0 < x["progress"] < 100})
        self.assertGreaterEqual(len(mids), 2, "progress seen while downloading: %s" % mids)
        self.assertTrue(any("received" in (x["message"] or "") for x in seen))

    def test_cancel_mid_download(self):
        t = self.submit_ok("http", {"url": self.url("/big", n="5000000", pause="0.05")})
        self.api.wait_for(t["id"], lambda x: x["state"] == "running" and x["progress"] > 0, timeout=15)
        r = self.api.delete(t["id"])
        self.assertEqual(r.status, 202, str(r))
        asked = time.time()
        done = self.api.wait_for(t["id"], FINAL, timeout=10)
        self.assertEqual(done["state"], "cancelled")
        self.report("cancelled %.0f ms after DELETE" % ((time.time() - asked) * 1000))

    def test_refused_loopback_opens_no_connection(self):
        other = "http://127.0.0.2:%d/json?k=%s" % (self.other_port, self.key)
        done = self.run_http({"url": other}, max_attempts=3)
        self.assertEqual(done["state"], "failed")
        self.assertEqual(done["attempts"], 1, "a refusal is not retried")
        self.assertIn("refused", done["error"])
        self.assertEqual(REC.get(self.key), [], "the refused address saw a request")

    def test_redirect_to_a_refused_address(self):
        other = "http://127.0.0.2:%d/json?k=%s" % (self.other_port, self.key)
        done = self.run_http({"url": self.url("/redirect", to=other)})
        self.assertEqual(done["state"], "failed")
        self.assertIn("refused", done["error"])
        servers = [h["server"] for h in REC.get(self.key)]
        self.assertEqual(servers, ["127.0.0.1"], "only the redirecting server was reached")

    def test_redirect_followed(self):
        done = self.run_http({"url": self.url("/redirect", to=self.url("/json"))})
        self.assertEqual(done["state"], "succeeded", done.get("error"))
        self.assertEqual(done["result"]["body"]["n"], 42)
        self.assertIn("/json", done["result"]["url"])

    def test_json_body_and_config_headers(self):
        payload = {"url": self.url("/echo"), "method": "POST", "json": {"prompt": "hi", "n": 1},
                   "headers": {"X-Trace": "abc"}, "config_headers": ["testauth"]}
        done = self.run_http(payload)
        self.assertEqual(done["state"], "succeeded", done.get("error"))
        echo = done["result"]["body"]
        self.assertEqual(echo["method"], "POST")
        self.assertEqual(json.loads(echo["body"]), {"prompt": "hi", "n": 1})
        self.assertEqual(echo["headers"]["content-type"], "application/json")
        self.assertEqual(echo["headers"]["x-trace"], "abc")
        self.assertEqual(echo["headers"]["x-test-auth"], "sekrit-from-config")
        self.assertNotIn("sekrit", json.dumps(done["payload"]))

    def test_bad_payloads_fail_for_good(self):
        cases = [({}, "url is required"), ({"url": "ftp://127.0.0.1/x"}, "only http and https"),
                 ({"url": self.url("/json"), "method": "BREW"}, "method"),
                 ({"url": self.url("/json"), "config_headers": ["nope"]}, "no header set"),
                 ({"url": self.url("/json"), "headers": {"X-A": "a\r\nX-B: b"}}, "bad header")]
        for payload, why in cases:
            done = self.run_http(payload, max_attempts=3)
            self.assertEqual(done["state"], "failed", payload)
            self.assertEqual(done["attempts"], 1, payload)
            self.assertIn(why, done["error"])


class WebhookTests(TaskqTestCase):

    def setUp(self):
        super().setUp()
        self.port, _ = Servers.up()
        self.key = unique("hook")

    def hook(self, **q):
        q["k"] = self.key
        return "http://127.0.0.1:%d/hook?%s" % (self.port, "&".join("%s=%s" % kv for kv in q.items()))

    def test_delivered_once_with_a_valid_signature(self):
        t = self.submit_ok("noop", {}, callback_url=self.hook())
        self.assertEqual(t["callback_url"], self.hook())
        done = self.api.wait_for(t["id"], lambda x: x["callback_state"] == "delivered", timeout=15)
        self.assertEqual(done["state"], "succeeded")
        hits = REC.get(self.key)
        self.assertEqual(len(hits), 1)
        h = hits[0]
        want = "sha256=" + hmac.new(SECRET, h["body"], hashlib.sha256).hexdigest()
        self.assertEqual(h["headers"].get("X-Taskq-Signature"), want)
        sent = json.loads(h["body"])
        self.assertEqual((sent["id"], sent["state"]), (t["id"], "succeeded"))
        time.sleep(1.0)
        self.assertEqual(len(REC.get(self.key)), 1, "delivered more than once")

    def test_failing_receiver_is_retried_and_task_outcome_unchanged(self):
        t = self.submit_ok("sleep", {"steps": 1, "step_ms": 1, "fail_at": 1},
                           max_attempts=1, callback_url=self.hook(fail="2"))
        done = self.api.wait_for(t["id"], lambda x: x["callback_state"] == "delivered", timeout=30)
        self.assertEqual(done["state"], "failed", "the callback changed the task's outcome")
        hits = REC.get(self.key)
        self.assertEqual(len(hits), 3)
        self.assertTrue(all(json.loads(h["body"])["state"] == "failed" for h in hits))
        self.report("delivered on try 3, %.1f s after the first" % (hits[2]["at"] - hits[0]["at"]))

    def test_refused_callback_url_fails_the_callback_only(self):
        t = self.submit_ok("noop", {}, callback_url="http://127.0.0.2:9/hook")
        row = None
        deadline = time.time() + 15
        while time.time() < deadline:
            row = self.db.query("SELECT state, callback_state, callback_attempts, callback_error "
                                "FROM taskq.tasks WHERE id = %s", (t["id"],))[0]
            if row["callback_attempts"] >= 1 and row["callback_error"]:
                break
            time.sleep(0.1)
        self.assertEqual(row["state"], "succeeded")
        self.assertIn("refused", row["callback_error"])

    def test_bad_callback_url_is_400(self):
        r = self.api.submit("noop", {}, callback_url="ftp://x/y")
        self.assertEqual(r.status, 400, str(r))
        self.assertEqual(r.json["error"]["code"], "invalid_field")
