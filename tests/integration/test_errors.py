"""Every error answer of the HTTP contract: exact status, error code, JSON body with a message.

Also: hostile strings (quotes, backslashes, SQL, unicode) are stored and returned verbatim, and
the service still answers /healthz after the whole battery (test_zz_* runs last in the class).
"""

import uuid

from taskq_harness import TaskqTestCase, api, raw_http, unique, ENV

JSON = {"Content-Type": "application/json"}


class ErrorTests(TaskqTestCase):

    def post_raw(self, body, headers=JSON):
        return api.request("POST", "/api/tasks", body=body, headers=headers)

    def post_fields(self, **fields):
        body = {"kind": "noop", "queue": unique("q")}
        body.update(fields)
        r = api.request("POST", "/api/tasks", json_body=body)
        if r.status in (200, 202) and isinstance(r.json, dict):
            self.track(r.json["id"])
        return r

    # -- invalid_json --------------------------------------------------------------------------
    def test_malformed_json(self):
        self.assert_error(self.post_raw('{"kind":"noop",'), 400, "invalid_json")

    def test_not_json_at_all(self):
        self.assert_error(self.post_raw("kind=noop"), 400, "invalid_json")

    def test_empty_body(self):
        self.assert_error(self.post_raw(b""), 400, "invalid_json")

    def test_trailing_bytes_after_object(self):
        self.assert_error(self.post_raw('{"kind":"noop"} x'), 400, "invalid_json")

    def test_second_object_after_object(self):
        self.assert_error(self.post_raw('{"kind":"noop"}{"kind":"noop"}'), 400, "invalid_json")

    def test_array_body(self):
        self.assert_error(self.post_raw('[{"kind":"noop"}]'), 400, "invalid_json")

    def test_scalar_bodies(self):
        for body in ('"noop"', "null", "42", "true"):
            with self.subTest(body=body):
                self.assert_error(self.post_raw(body), 400, "invalid_json")

    def test_too_deep(self):
        deep = '{"kind":"noop","payload":{"a":' + "[" * 5000 + "]" * 5000 + "}}"
        self.assert_error(self.post_raw(deep), 400, "invalid_json")

    def test_invalid_utf8(self):
        self.assert_error(self.post_raw(b'{"kind":"noop","payload":{"s":"\xff\xfe"}}'),
                          400, "invalid_json")

    def test_lone_surrogate_escape_refused_or_stored_as_valid_text(self):
        # "\ud800" is grammatical JSON but no character: a 400, or valid UTF-8 text stored
        # (e.g. U+FFFD); never a 500 or bytes that PostgreSQL or a client cannot read back.
        r = self.post_raw('{"kind":"noop","queue":"%s","payload":{"s":"\\ud800"}}' % unique("q"))
        if r.status == 202:
            self.track(r.json["id"])
            s = self.get_ok(r.json["id"])["payload"]["s"]
            self.assertEqual(s, self.db.task(r.json["id"])["payload"]["s"])
            s.encode("utf-8")  # raises on a lone surrogate
        else:
            self.assertEqual(r.status, 400, str(r))
            self.assertIn(r.json["error"]["code"], ("invalid_json", "invalid_field"), str(r))

    # -- invalid_field -------------------------------------------------------------------------
    def test_unknown_field(self):
        self.assert_error(self.post_fields(colour="red"), 400, "invalid_field")

    def test_missing_kind(self):
        self.assert_error(self.post_raw('{"payload":{}}'), 400, "invalid_field")

    def test_kind_wrong_type(self):
        for kind in (123, None, ["noop"], {"k": 1}, True):
            with self.subTest(kind=kind):
                self.assert_error(self.post_fields(kind=kind), 400, "invalid_field")

    def test_kind_empty_or_too_long(self):
        for kind in ("", "k" * 65):
            with self.subTest(kind=kind):
                self.assert_error(self.post_fields(kind=kind), 400, "invalid_field")

    def test_unknown_kind(self):
        self.assert_error(self.post_fields(kind="no_such_kind"), 400, "unknown_kind")

    def test_priority_out_of_range(self):
        for p in (1001, -1001, 10 ** 20):
            with self.subTest(priority=p):
                self.assert_error(self.post_fields(priority=p), 400, "invalid_field")

    def test_priority_not_an_integer(self):
        for p in (1.5, "5", [1], True):
            with self.subTest(priority=p):
                self.assert_error(self.post_fields(priority=p), 400, "invalid_field")

    def test_negative_delay(self):
        self.assert_error(self.post_fields(delay_s=-1), 400, "invalid_field")

    def test_delay_too_large_or_not_a_number(self):
        for d in (31536001, "10"):
            with self.subTest(delay_s=d):
                self.assert_error(self.post_fields(delay_s=d), 400, "invalid_field")

    def test_max_attempts_zero(self):
        self.assert_error(self.post_fields(max_attempts=0), 400, "invalid_field")

    def test_max_attempts_over_100(self):
        self.assert_error(self.post_fields(max_attempts=101), 400, "invalid_field")

    def test_timeout_out_of_range(self):
        for t in (0, 86401, -5, "60"):
            with self.subTest(timeout_s=t):
                self.assert_error(self.post_fields(timeout_s=t), 400, "invalid_field")

    def test_payload_not_an_object(self):
        for p in ([1, 2], "x", 3, True):
            with self.subTest(payload=p):
                self.assert_error(self.post_fields(payload=p), 400, "invalid_field")

    def test_bad_queue_names(self):
        for q in ("", "has space", "q" * 65, "semi;colon", "ünï", 7):
            with self.subTest(queue=q):
                self.assert_error(self.post_fields(queue=q), 400, "invalid_field")

    def test_bad_dedupe_and_concurrency_keys(self):
        for f in ("dedupe_key", "concurrency_key"):
            for v in ("", "k" * 201, 5):
                with self.subTest(field=f, value=v):
                    self.assert_error(self.post_fields(**{f: v}), 400, "invalid_field")

    def test_nul_in_payload(self):
        self.assert_error(self.post_raw('{"kind":"noop","payload":{"s":"a\\u0000b"}}'),
                          400, "invalid_field")

    def test_nul_nested_in_payload_and_in_key(self):
        for payload in ('{"a":[{"b":["x\\u0000"]}]}', '{"k\\u0000":1}'):
            with self.subTest(payload=payload):
                r = self.post_raw('{"kind":"noop","payload":%s}' % payload)
                self.assert_error(r, 400, "invalid_field")

    def test_nul_in_dedupe_key(self):
        self.assert_error(self.post_raw('{"kind":"noop","dedupe_key":"a\\u0000b"}'),
                          400, "invalid_field")

    # -- 415 / 413 -----------------------------------------------------------------------------
    def test_wrong_content_type(self):
        for ct in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx"):
            with self.subTest(content_type=ct):
                r = self.post_raw('{"kind":"noop"}', headers={"Content-Type": ct})
                self.assert_error(r, 415, "unsupported_media_type")

    def test_no_content_type(self):
        self.assert_error(self.post_raw('{"kind":"noop"}', headers={}), 415,
                          "unsupported_media_type")

    def test_post_without_content_length_411(self):
        r = raw_http(b"POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nConnection: close\r\n\r\n")
        self.assert_error(r, 411, "length_required")

    def test_chunked_body_is_read_or_refused_with_411(self):
        body = ('{"kind":"noop","queue":"%s"}' % unique("q")).encode()
        r = raw_http(b"POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                     b"Connection: close\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        if r.status == 202:
            self.track(r.json["id"])
        else:
            self.assert_error(r, 411, "length_required")

    def _body_of_size(self, size, queue):
        head = '{"kind":"noop","queue":"%s","payload":{"pad":"' % queue
        tail = '"}}'
        return (head + "x" * (size - len(head) - len(tail)) + tail).encode()

    def test_body_at_limit_accepted_and_over_limit_413(self):
        q = unique("q")
        body = self._body_of_size(ENV.max_body, q)
        self.assertEqual(len(body), ENV.max_body)
        r = self.post_raw(body)
        self.assertEqual(r.status, 202, str(r))
        self.track(r.json["id"])
        r = self.post_raw(self._body_of_size(ENV.max_body + 1, q))
        self.assert_error(r, 413, "too_large")
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s",
                                        (q,)), 1)

    # -- hostile strings are data --------------------------------------------------------------
    def test_hostile_strings_stored_verbatim(self):
        nasty = ["'; DROP TABLE taskq.tasks; --", 'say "hi" \\ back\\slash \\" \\\\',
                 "Robert'); DELETE FROM taskq.tasks WHERE ('1'='1", "$1 %s %% {{}} ${x}",
                 "héllo wörld ✓ 日本語 עברית 😀 \U0001F9EA", "tab\tnewline\ncr\r\x01\x1f"]
        payload = {"s%d" % i: s for i, s in enumerate(nasty)}
        payload["nested"] = {nasty[0]: nasty[1:3]}
        dk = unique("dk") + nasty[0] + nasty[4]
        ck = nasty[1]
        t = self.post_fields(payload=payload, dedupe_key=dk, concurrency_key=ck).json
        self.assertIsNotNone(t)
        self.assertEqual((t["payload"], t["dedupe_key"], t["concurrency_key"]),
                         (payload, dk, ck))
        g = self.get_ok(t["id"])
        self.assertEqual((g["payload"], g["dedupe_key"], g["concurrency_key"]), (payload, dk, ck))
        row = self.db.task(t["id"])
        self.assertEqual((row["payload"], row["dedupe_key"], row["concurrency_key"]),
                         (payload, dk, ck))
        self.assertTrue(self.db.scalar("SELECT to_regclass('taskq.tasks') IS NOT NULL"))

    def test_escaped_unicode_decoded(self):
        r = self.post_raw('{"kind":"noop","queue":"%s","payload":{"e":"\\ud83d\\ude00 \\u00e9'
                          ' \\"q\\" \\/"}}' % unique("q"))
        self.assertEqual(r.status, 202, str(r))
        self.track(r.json["id"])
        self.assertEqual(r.json["payload"], {"e": "\U0001F600 \u00e9 \"q\" /"})

    # -- ids, routes, methods ------------------------------------------------------------------
    def test_bad_id_in_path(self):
        for bad in ("not-a-uuid", "12345", str(uuid.uuid4()) + "0", str(uuid.uuid4())[:-1] + "g",
                    "%27%3B%20DROP%20TABLE%20x"):
            for method, path in (("GET", "/api/tasks/%s"), ("DELETE", "/api/tasks/%s"),
                                 ("POST", "/api/tasks/%s/retry")):
                with self.subTest(method=method, id=bad):
                    r = api.request(method, path % bad, headers=JSON if method == "POST" else None)
                    self.assert_error(r, 400, "invalid_id")

    def test_unknown_id(self):
        tid = str(uuid.uuid4())
        for method, path in (("GET", "/api/tasks/%s"), ("DELETE", "/api/tasks/%s"),
                             ("POST", "/api/tasks/%s/retry")):
            with self.subTest(method=method):
                r = api.request(method, path % tid, headers=JSON if method == "POST" else None)
                self.assert_error(r, 404, "not_found")

    def test_unknown_route(self):
        for path in ("/api/nope", "/api/tasks/%s/nope" % uuid.uuid4(), "/api/taskss"):
            with self.subTest(path=path):
                self.assert_error(api.request("GET", path), 404, "not_found")

    def test_wrong_method(self):
        tid = str(uuid.uuid4())
        for method, path, allowed in (("PUT", "/api/tasks", {"GET", "POST"}),
                                      ("DELETE", "/api/tasks", {"GET", "POST"}),
                                      ("PATCH", "/api/tasks/" + tid, {"GET", "DELETE"}),
                                      ("POST", "/api/tasks/" + tid, {"GET", "DELETE"}),
                                      ("GET", "/api/tasks/%s/retry" % tid, {"POST"}),
                                      ("POST", "/healthz", {"GET"})):
            with self.subTest(method=method, path=path):
                r = api.request(method, path, body=b"{}" if method in ("PUT", "PATCH", "POST")
                                else None, headers=JSON)
                self.assert_error(r, 405, "method_not_allowed")
                allow = {m.strip().upper() for m in (r.header("Allow") or "").split(",")}
                self.assertTrue(allowed <= allow, "Allow %r lacks %s" % (r.header("Allow"),
                                                                          allowed))
                self.assertNotIn(method, allow)

    def test_zz_healthz_still_ok_after_the_battery(self):
        r = api.healthz()
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual((r.json["status"], r.json["database"]), ("ok", "ok"))
        self.assertIsInstance(r.json["workers"], int)
        t = self.submit_ok("noop", {}, queue=unique("q"))
        self.assertEqual(self.get_ok(t["id"])["id"], t["id"])


if __name__ == "__main__":
    import unittest
    unittest.main()
