"""A table-driven battery of bad and hostile requests; /healthz must answer 200 after each.

REQUESTS: one row per request -- (name, request, status, error.code, layer, check). A request is
R(...) (through the harness Client: method, path, headers, raw body bytes) or RAW(...) (whole
bytes through raw_http, for what http.client will not send). The layer is who answers: FCGI
(taskq-fcgi, after nginx passed the request on; its JSON error is checked with assert_error) or
NGINX (nginx refused it itself: under /api/, and for a request it cannot parse, a JSON error of
its error_page locations, code by status in NGINX_CODES; elsewhere its HTML page).
Placeholders in paths, headers and bodies: @Q (this test's queue), @ID (a queued task of it),
@UID / @PCT / @NODASH / @IDx (that id in upper case / percent-encoded / without dashes / with
junk after it), @UNK / @UUNK (an unknown UUID / in upper case).

HOSTILE x STRING_FIELDS: metacharacter strings in every string field of a submit. Refused ones
get a clean 400 with the field's code; accepted ones read back identical in the 202, via GET and
in the database row; taskq.tasks must still exist after each.

Documented behaviour (not bugs): a body that names a key twice in one object is refused
(400 invalid_json; json-c alone would keep the last one); nginx normalises the path before taskq-fcgi routes it ("..",
"//", "%2e" and "%2F", which it decodes to "/"); an upper-case UUID names the same task; a
charset other than UTF-8 in the Content-Type is 415 (JSON is UTF-8); a path
segment too long to be an id is "no such route" (404), not invalid_id; every route refuses a
query parameter it does not take (400; test_inputs.py checks each route); several Content-Length or Transfer-Encoding tricks never reach taskq-fcgi.
Rows that expected what the code did not do when written (bugs, reported with this module):
non-JSON json-c let through (NaN, "1.", raw control bytes, overlong/surrogate UTF-8), payload
numbers clamped to 64 bits (1e20 reads back as 2^64-1), error messages echoing raw or cut UTF-8,
"%3F" in the path read as a "?".
"""

import json
import re
import uuid
from decimal import Decimal

from taskq_harness import ENV, TaskqTestCase, api, raw_http, unique

FCGI, NGINX = "fcgi", "nginx"
MAX = ENV.max_body                 # taskq-fcgi --max-body (1 MiB)
NGINX_MAX = 2 * 1024 * 1024        # client_max_body_size 2m, nginx/taskq.conf.in
BETWEEN = (MAX + NGINX_MAX) // 2   # over taskq-fcgi's limit, under nginx's
JSON_CT = "application/json"
# error.code of nginx's own refusals, by status (nginx/taskq.conf.in, its error_page locations)
NGINX_CODES = {400: "bad_request", 405: "method_not_allowed", 413: "too_large",
               414: "uri_too_long", 501: "not_implemented", 505: "http_version"}
BASE = b'{"kind":"noop","queue":"@Q","delay_s":3600'   # an inert submit: it waits an hour
GOOD = b'{"kind":"noop","queue":"hostile","delay_s":3600,"payload":{"a":[1,"x",{"b":null}]}}'


def R(method, path, body=None, ct=None, headers=None):
    h = dict(headers or {})
    if ct:
        h["Content-Type"] = ct
    return ("http", method, path, h, body)


def P(body, ct=JSON_CT):
    """POST /api/tasks with these raw body bytes."""
    return R("POST", "/api/tasks", body, ct)


def B(extra, ct=JSON_CT):
    """POST /api/tasks of the inert submit with raw fields appended (a repeated one: 400)."""
    return P(BASE + b"," + extra + b"}", ct)


def F(field, value, ct=JSON_CT):
    """POST /api/tasks of the inert submit with one of its own fields (kind, queue, delay_s)
    set to these raw value bytes instead, each key once."""
    fields = {b"kind": b'"noop"', b"queue": b'"@Q"', b"delay_s": b"3600"}
    fields[field] = value
    return P(b"{" + b",".join(b'"' + k + b'":' + v for k, v in fields.items()) + b"}", ct)


def RAW(line, *headers, body=b""):
    """A whole request: Host, Connection: close and the bearer token are added."""
    return ("raw", line, headers, body)


class Chunked(bytes):
    """A body raw_http sends with Transfer-Encoding: chunked (one chunk, after filling in)."""


def CHUNKED(body):
    return RAW(b"POST /api/tasks HTTP/1.1", b"Content-Type: application/json",
               b"Transfer-Encoding: chunked", body=Chunked(body))


def pad(size):
    """A submit body of exactly size bytes (a padded payload string)."""
    head = b'{"kind":"noop","queue":"hostile","delay_s":3600,"payload":{"pad":"'
    return head + b"x" * (size - len(head) - 3) + b'"}}'


def row(name, req, status, code=None, layer=FCGI, check=None):
    return (name, req, status, code, layer, check)


# -- checks a row may add (tc: the test case, r: the answer, sent: the body sent) --------------

def stored(**want):
    def check(tc, r, sent):
        t = tc.get_ok(r.json["id"])
        dbrow = tc.db.task(t["id"])
        for k, v in want.items():
            tc.assertEqual((t[k], dbrow[k]), (tc.fill(v), tc.fill(v)), k)
    return check


def allow(*methods):
    def check(tc, r, sent):
        got = {m.strip() for m in (r.header("Allow") or "").split(",") if m.strip()}
        tc.assertEqual(got, set(methods), "Allow: %r" % r.header("Allow"))
    return check


def message(text):
    def check(tc, r, sent):
        tc.assertEqual(r.json["error"]["message"], text, "which layer answered: %s" % r)
    return check


def has(key):
    def check(tc, r, sent):
        tc.assertIn(key, r.json, str(r))
    return check


def the_task(tc, r, sent):
    tc.assertEqual(r.json["id"], tc.ctx["@ID"], str(r))


def page(limit, queue=None):
    def check(tc, r, sent):
        tasks = r.json["tasks"]
        tc.assertLessEqual(len(tasks), limit)
        tc.assertEqual(r.json["next"], tasks[-1]["id"] if len(tasks) == limit else None)
        if queue:
            tc.assertEqual([t["queue"] for t in tasks], [tc.fill(queue)] * limit)
    return check


def dec(text):
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


def numbers_exact(tc, r, sent):
    """A number the payload holds must come back equal (or the submit is refused with 400)."""
    if r.status == 400:
        return
    want = dec(sent)["payload"]
    got_db = tc.db.scalar("SELECT payload::text FROM taskq.tasks WHERE id = %s", (r.json["id"],))
    tc.assertEqual(dec(got_db), want, "the stored payload differs from the one sent")
    tc.assertEqual(dec(r.body)["payload"], want, "the 202 answer altered the payload")
    tc.assertEqual(dec(tc.api.get(r.json["id"]).body)["payload"], want, "GET altered it")


REQUESTS = [
    # -- malformed and truncated JSON ------------------------------------------------------
    *[row("truncated at byte %d of %d" % (n, len(GOOD)), P(GOOD[:n]), 400, "invalid_json")
      for n in (1, 8, 9, 14, 31, 48, 60, 70, len(GOOD) - 1)],
    row("single quotes", P(b"{'kind':'noop'}"), 400, "invalid_json"),
    row("trailing comma", B(b'"priority":1,'), 400, "invalid_json"),
    row("comment", B(b'"priority":1 /* c */'), 400, "invalid_json"),
    row("NaN literal", F(b"delay_s", b"NaN"), 400, "invalid_json"),
    row("Infinity literal", B(b'"payload":{"n":Infinity}'), 400, "invalid_json"),
    row("number with a trailing dot", B(b'"payload":{"n":1.}'), 400, "invalid_json"),
    row("hex number", B(b'"priority":0x10'), 400, "invalid_json"),
    row("leading zero", B(b'"priority":01'), 400, "invalid_json"),
    row("UTF-8 BOM before the object", P(b"\xef\xbb\xbf" + BASE + b"}"), 400, "invalid_json"),
    row("bad escape \\x41", B(b'"payload":{"s":"\\x41"}'), 400, "invalid_json"),
    row("raw control byte 0x01 in a string", B(b'"payload":{"s":"a\x01b"}'), 400, "invalid_json"),
    row("raw tab in a string", B(b'"payload":{"s":"a\tb"}'), 400, "invalid_json"),
    row("object nested 33 deep", B(b'"payload":{"a":' + b"[" * 31 + b"]" * 31 + b"}"),
        400, "invalid_json"),
    # -- NUL bytes ---------------------------------------------------------------------------
    row("raw NUL byte in a string", B(b'"payload":{"s":"a\x00b"}'), 400, "invalid_json"),
    row("\\u0000 in kind", P(b'{"kind":"noop\\u0000"}'), 400, "invalid_field"),
    row("\\u0000 in concurrency_key", B(b'"concurrency_key":"\\u0000"'), 400, "invalid_field"),
    row("\\u0000 in callback_url", B(b'"callback_url":"http://x/\\u0000"'), 400, "invalid_field"),
    row("\\u0000 as a top-level key", B(b'"\\u0000":1'), 400, "invalid_field"),
    # -- invalid UTF-8: README says invalid_json --------------------------------------------
    row("overlong 2-byte '/' (C0 AF)", B(b'"payload":{"s":"\xc0\xaf"}'), 400, "invalid_json"),
    row("overlong 3-byte '/' (E0 80 AF)", B(b'"payload":{"s":"\xe0\x80\xaf"}'), 400,
        "invalid_json"),
    row("overlong NUL (C0 80) in dedupe_key", B(b'"dedupe_key":"a\xc0\x80b"'), 400,
        "invalid_json"),
    row("overlong in a payload key (C1 BF)", B(b'"payload":{"\xc1\xbf":1}'), 400, "invalid_json"),
    row("lone continuation byte (80)", B(b'"payload":{"s":"\x80"}'), 400, "invalid_json"),
    row("surrogate D800 encoded in UTF-8", B(b'"payload":{"s":"\xed\xa0\x80"}'), 400,
        "invalid_json"),
    row("code point above U+10FFFF", B(b'"payload":{"s":"\xf4\x90\x80\x80"}'), 400,
        "invalid_json"),
    row("sequence cut by the closing quote", B(b'"payload":{"s":"\xe2\x82"}'), 400, "invalid_json"),
    row("latin-1 byte under charset=latin1", B(b'"payload":{"s":"caf\xe9"}',
                                                 "application/json; charset=latin1"),
        415, "unsupported_media_type"),
    # -- wrong types and absurd numbers -----------------------------------------------------
    row("kind 1.5", P(b'{"kind":1.5}'), 400, "invalid_field"),
    row("payload 1.5", B(b'"payload":1.5'), 400, "invalid_field"),
    row("queue null", F(b"queue", b"null"), 400, "invalid_field"),
    row("queue [\"default\"]", F(b"queue", b'["default"]'), 400, "invalid_field"),
    row("priority null", B(b'"priority":null'), 400, "invalid_field"),
    row("priority 1e400", B(b'"priority":1e400'), 400, "invalid_field"),
    row("priority 2^63", B(b'"priority":9223372036854775808'), 400, "invalid_field"),
    row("priority -2^63-1", B(b'"priority":-9223372036854775809'), 400, "invalid_field"),
    row("priority 2^32 (0 if truncated)", B(b'"priority":4294967296'), 400, "invalid_field"),
    row("delay_s null", F(b"delay_s", b"null"), 400, "invalid_field"),
    row("delay_s {}", F(b"delay_s", b"{}"), 400, "invalid_field"),
    row("delay_s 1e400", F(b"delay_s", b"1e400"), 400, "invalid_field"),
    row("delay_s -1e400", F(b"delay_s", b"-1e400"), 400, "invalid_field"),
    row("delay_s 1e-320 (subnormal)", F(b"delay_s", b"1e-320"), 202, check=stored(queue="@Q")),
    row("max_attempts 1.5", B(b'"max_attempts":1.5'), 400, "invalid_field"),
    row("max_attempts \"3\"", B(b'"max_attempts":"3"'), 400, "invalid_field"),
    row("max_attempts -1", B(b'"max_attempts":-1'), 400, "invalid_field"),
    row("max_attempts 2^32+1 (1 if truncated)", B(b'"max_attempts":4294967297'), 400,
        "invalid_field"),
    row("timeout_s true", B(b'"timeout_s":true'), 400, "invalid_field"),
    row("timeout_s 60.0", B(b'"timeout_s":60.0'), 400, "invalid_field"),
    row("timeout_s 2^31", B(b'"timeout_s":2147483648'), 400, "invalid_field"),
    row("timeout_s 2^64", B(b'"timeout_s":18446744073709551616'), 400, "invalid_field"),
    row("dedupe_key true", B(b'"dedupe_key":true'), 400, "invalid_field"),
    row("concurrency_key [\"k\"]", B(b'"concurrency_key":["k"]'), 400, "invalid_field"),
    row("callback_url 1", B(b'"callback_url":1'), 400, "invalid_field"),
    row("callback_url javascript:", B(b'"callback_url":"javascript:alert(1)"'), 400,
        "invalid_field"),
    # payload numbers beyond 64 bits: stored exactly, or refused -- never changed
    row("payload 30-digit integer", B(b'"payload":{"n":123456789012345678901234567890}'),
        (202, 400), "invalid_field", check=numbers_exact),
    row("payload -2^63-1", B(b'"payload":{"n":-9223372036854775809}'), (202, 400),
        "invalid_field", check=numbers_exact),
    row("payload 2^64", B(b'"payload":{"n":18446744073709551616}'), (202, 400),
        "invalid_field", check=numbers_exact),
    row("payload 1e400", B(b'"payload":{"n":1e400,"m":-1e400}'), (202, 400), "invalid_field",
        check=numbers_exact),
    row("payload 1e20 (PostgreSQL prints 10^20)", B(b'"payload":{"n":1e20}'), (202, 400),
        "invalid_field", check=numbers_exact),
    row("payload -1e19", B(b'"payload":{"n":-1e19}'), (202, 400), "invalid_field",
        check=numbers_exact),
    # -- unknown fields and duplicate keys (refused, at any depth) --------------------------
    row("unknown field id", B(b'"id":"00000000-0000-0000-0000-000000000000"'), 400,
        "invalid_field"),
    row("unknown field state", B(b'"state":"succeeded"'), 400, "invalid_field"),
    row("unknown field owner", B(b'"owner":"admin"'), 400, "invalid_field"),
    row("unknown field Kind (case)", B(b'"Kind":"noop"'), 400, "invalid_field"),
    row("unknown field cut inside an emoji", B(b'"' + b"a" * 63 + "😀".encode() + b'":1'),
        400, "invalid_field"),
    row("duplicate kind: last unknown", B(b'"kind":"nope"'), 400, "invalid_json"),
    row("duplicate kind: last noop",
        P(b'{"kind":"nope",' + BASE[1:] + b',"kind":"noop"}'), 400, "invalid_json"),
    row("duplicate queue: bad then good", B(b'"queue":"bad q","queue":"@Q"'), 400,
        "invalid_json"),
    row("duplicate queue: good then bad", B(b'"queue":"bad q"'), 400, "invalid_json"),
    row("duplicate payload key", B(b'"payload":{"a":1,"a":2}'), 400, "invalid_json"),
    row("duplicate key escaped", B(b'"payload":{"a":1,"\\u0061":2}'), 400, "invalid_json"),
    # -- content types -----------------------------------------------------------------------
    row("multipart/form-data", P(b'--x\r\n\r\n{"kind":"noop"}\r\n--x--',
                                 "multipart/form-data; boundary=x"), 415, "unsupported_media_type"),
    row("text/json", B(b'"priority":1', "text/json"), 415, "unsupported_media_type"),
    row("application/problem+json", B(b'"priority":1', "application/problem+json"), 415,
        "unsupported_media_type"),
    row("charset=latin1, ASCII body: 415 all the same",
        B(b'"priority":1', "application/json; charset=latin1"), 415, "unsupported_media_type"),
    row("charset=utf-8: accepted",
        B(b'"priority":1', 'application/json; charset="UTF-8"'), 202, check=stored(priority=1)),
    row("application/json then junk", B(b'"priority":1', "application/json garbage"), 415,
        "unsupported_media_type"),
    row("APPLICATION/JSON: accepted", B(b'"priority":2', "APPLICATION/JSON"), 202),
    # -- ids ---------------------------------------------------------------------------------
    row("upper-case UUID: the same task", R("GET", "/api/tasks/@UID"), 200, check=the_task),
    row("percent-encoded UUID (nginx decodes)", R("GET", "/api/tasks/@PCT"), 200, check=the_task),
    row("UUID + trailing junk, history", R("GET", "/api/tasks/@IDx/history"), 400, "invalid_id"),
    row("UUID without dashes", R("DELETE", "/api/tasks/@NODASH"), 400, "invalid_id"),
    row("UUID in braces", R("GET", "/api/tasks/{@ID}"), 400, "invalid_id"),
    row("200-byte id segment", R("GET", "/api/tasks/" + "a" * 200), 404, "not_found"),
    row("nil UUID", R("GET", "/api/tasks/00000000-0000-0000-0000-000000000000"), 404, "not_found"),
    row("unknown UUID, history", R("GET", "/api/tasks/@UNK/history"), 404, "not_found"),
    row("unknown UUID, upper case", R("DELETE", "/api/tasks/@UUNK"), 404, "not_found"),
    # -- methods -----------------------------------------------------------------------------
    row("OPTIONS /api/tasks", R("OPTIONS", "/api/tasks"), 405, "method_not_allowed",
        check=allow("GET", "POST")),
    row("HEAD /api/tasks (no body)", R("HEAD", "/api/tasks"), 405, check=allow("GET", "POST")),
    row("DELETE history", R("DELETE", "/api/tasks/@ID/history"), 405, "method_not_allowed",
        check=allow("GET")),
    row("PUT retry", R("PUT", "/api/tasks/@ID/retry", b"{}", JSON_CT), 405, "method_not_allowed",
        check=allow("POST")),
    row("POST /api/queues", R("POST", "/api/queues", b"{}", JSON_CT), 405, "method_not_allowed",
        check=allow("GET")),
    row("DELETE /healthz", R("DELETE", "/healthz"), 405, "method_not_allowed", check=allow("GET")),
    row("unknown method FOO", R("FOO", "/api/tasks"), 405, "method_not_allowed",
        check=allow("GET", "POST")),
    row("TRACE", R("TRACE", "/api/tasks"), 405, layer=NGINX),
    row("lower-case method", RAW(b"get /api/tasks HTTP/1.1"), 400, layer=NGINX),
    # -- path tricks -------------------------------------------------------------------------
    row("/api/tasks/../queues (normalised)", R("GET", "/api/tasks/../queues"), 200,
        check=has("queues")),
    row("/api/tasks/%2e%2e/", R("GET", "/api/tasks/%2e%2e/"), 404, "not_found"),
    row("//api/tasks (slashes merged)", R("GET", "//api/tasks?limit=1"), 200, check=has("tasks")),
    row("/api/tasks/", R("GET", "/api/tasks/"), 404, "not_found"),
    row("/api/tasks/<id>/", R("GET", "/api/tasks/@ID/"), 404, "not_found"),
    row("/api/tasks/<id>/history/x", R("GET", "/api/tasks/@ID/history/x"), 404, "not_found"),
    row("encoded slash /api/tasks%2F<id>", R("GET", "/api/tasks%2F@ID"), 200, check=the_task),
    row("encoded slash before retry", R("GET", "/api/tasks/@ID%2Fretry"), 405,
        "method_not_allowed"),
    row("/api/tasks;x=1", R("GET", "/api/tasks;x=1"), 404, "not_found"),
    row("encoded ? (%3F) in the path", R("GET", "/api/tasks%3Fjunk"), 404, "not_found"),
    row("encoded ? (%3F) before /retry: part of the id", R("POST", "/api/tasks/@ID%3F/retry", b"",
                                                           JSON_CT), 400, "invalid_id"),
    row("/api/../../etc/passwd", R("GET", "/api/../../etc/passwd"), 400, layer=NGINX),
    row("%00 in the path", R("GET", "/api/tasks/@ID%00"), 400, layer=NGINX),
    row("internal /_taskq/authorize/", R("GET", "/_taskq/authorize/task/@ID"), 404, layer=NGINX),
    # -- query strings -----------------------------------------------------------------------
    row("unknown parameter", R("GET", "/api/tasks?colour=red"), 400, "invalid_field"),
    row("limit=0", R("GET", "/api/tasks?limit=0"), 400, "invalid_field"),
    row("limit=100000", R("GET", "/api/tasks?limit=100000"), 400, "invalid_field"),
    row("limit=-1", R("GET", "/api/tasks?limit=-1"), 400, "invalid_field"),
    row("limit=2^64", R("GET", "/api/tasks?limit=18446744073709551616"), 400, "invalid_field"),
    row("state=bogus", R("GET", "/api/tasks?state=bogus"), 400, "invalid_field"),
    row("before=notauuid", R("GET", "/api/tasks?before=notauuid"), 400, "invalid_field"),
    row("kind=' OR 1=1", R("GET", "/api/tasks?kind=%27%20OR%201%3D1"), 400, "invalid_field"),
    row("%zz", R("GET", "/api/tasks?state=%zz"), 400, "invalid_field"),
    row("%00", R("GET", "/api/tasks?queue=a%00b"), 400, "invalid_field"),
    row("300-byte value", R("GET", "/api/tasks?queue=" + "q" * 300), 400, "invalid_field"),
    row("key %FF (echoed in the message)", R("GET", "/api/tasks?%FF=1"), 400, "invalid_field"),
    row("key cut inside an emoji", R("GET", "/api/tasks?" + "k" * 39 + "%F0%9F%98%80=1"), 400,
        "invalid_field"),
    row("wait=-1", R("GET", "/api/tasks/@ID?wait=-1"), 400, "invalid_field"),
    row("wait=abc", R("GET", "/api/tasks/@ID?wait=abc"), 400, "invalid_field"),
    row("/api/queues?%zz", R("GET", "/api/queues?%zz"), 400, "invalid_field"),
    row("/api/queues?x=1 (it takes none)", R("GET", "/api/queues?x=1"), 400, "invalid_field"),
    row("wait=31 (not clamped)", R("GET", "/api/tasks/@ID?wait=31"), 400, "invalid_field"),
    row("wait twice", R("GET", "/api/tasks/@ID?wait=1&wait=2"), 400, "invalid_field"),
    row("list page: default 50", R("GET", "/api/tasks"), 200, check=page(50)),
    row("list page: limit=500", R("GET", "/api/tasks?limit=500"), 200, check=page(500)),
    row("list page: limit=1 of one queue", R("GET", "/api/tasks?limit=1&queue=@Q"), 200,
        check=page(1, queue="@Q")),
    # -- nginx's limits and HTTP framing -----------------------------------------------------
    row("9000-byte URL", R("GET", "/api/tasks/" + "a" * 9000), 414, layer=NGINX),
    row("100 KB query string", R("GET", "/api/tasks?x=" + "a" * 100000), 414, layer=NGINX),
    row("10 KB header", R("GET", "/api/tasks?limit=1", headers={"X-Big": "a" * 10000}), 400,
        layer=NGINX),
    row("1000 headers", RAW(b"GET /api/tasks?limit=1 HTTP/1.1",
                            *[b"X-H%d: v" % i for i in range(1000)]), 400, layer=NGINX),
    row("NUL in a header value", RAW(b"GET /api/tasks HTTP/1.1", b"X-A: a\x00b"), 400, layer=NGINX),
    row("bare CR in a header value", RAW(b"GET /api/tasks HTTP/1.1", b"X-A: a\rb"), 400,
        layer=NGINX),
    row("obsolete header folding", RAW(b"GET /api/tasks HTTP/1.1", b"X-A: a", b"  b"), 400,
        layer=NGINX),
    row("hostile X-Request-Id", R("GET", "/api/tasks?limit=1", headers={
        "X-Request-Id": "'; DROP TABLE taskq.tasks; -- %s%n$(id)"}), 200, check=has("tasks")),
    row("garbage request line", RAW(b"GARBAGE"), 400, layer=NGINX),
    row("HTTP/2.0 in an HTTP/1 request line", RAW(b"GET /api/tasks HTTP/2.0"), 505, layer=NGINX),
    row("Content-Length: abc", RAW(b"POST /api/tasks HTTP/1.1", b"Content-Type: application/json",
                                   b"Content-Length: abc", body=b"{}"), 400, layer=NGINX),
    row("Content-Length: -1", RAW(b"POST /api/tasks HTTP/1.1", b"Content-Type: application/json",
                                  b"Content-Length: -1", body=b"{}"), 400, layer=NGINX),
    row("two different Content-Lengths", RAW(b"POST /api/tasks HTTP/1.1",
                                             b"Content-Type: application/json",
                                             b"Content-Length: 2", b"Content-Length: 1",
                                             body=b"{}"), 400, layer=NGINX),
    row("Content-Length and chunked", RAW(b"POST /api/tasks HTTP/1.1",
                                          b"Content-Type: application/json", b"Content-Length: 3",
                                          b"Transfer-Encoding: chunked",
                                          body=b"2\r\n{}\r\n0\r\n\r\n"), 400, layer=NGINX),
    row("bad chunk size", RAW(b"POST /api/tasks HTTP/1.1", b"Content-Type: application/json",
                              b"Transfer-Encoding: chunked", body=b"zz\r\n{}\r\n0\r\n\r\n"),
        400, layer=NGINX),
    row("Transfer-Encoding: gzip", RAW(b"POST /api/tasks HTTP/1.1",
                                       b"Content-Type: application/json",
                                       b"Transfer-Encoding: gzip", body=b"{}"), 501, layer=NGINX),
    row("Content-Length shorter than the body", RAW(b"POST /api/tasks HTTP/1.1",
                                                    b"Content-Type: application/json",
                                                    b"Content-Length: 10", body=GOOD),
        400, "invalid_json"),
    row("chunked body, small: accepted", CHUNKED(BASE + b"}"), 202),
    # -- bodies over the limits: taskq-fcgi's --max-body, then nginx's client_max_body_size --
    row("body between the limits: taskq-fcgi refuses", P(pad(BETWEEN)), 413, "too_large",
        check=message("request body over %d bytes" % MAX)),
    row("chunked, between the limits: taskq-fcgi refuses", CHUNKED(pad(BETWEEN)), 413, "too_large",
        check=message("request body over %d bytes" % MAX)),
    row("2 MiB + 1 body: nginx refuses", P(pad(NGINX_MAX + 1)), 413, "too_large", NGINX,
        check=message("request body too large")),
    row("3 MiB declared, none sent: nginx refuses", RAW(
        b"POST /api/tasks HTTP/1.1", b"Content-Type: application/json",
        b"Content-Length: %d" % (3 * NGINX_MAX // 2)), 413, "too_large", NGINX,
        check=message("request body too large")),
    row("3 MiB chunked: nginx refuses", CHUNKED(b"x" * (3 * NGINX_MAX // 2)), 413, "too_large",
        NGINX, check=message("request body too large")),
]

TEN_KB = ("'\";\\$(id)`id`%s%n😀\u202e; DROP TABLE taskq.tasks; -- " * 300).encode()[:10240] \
    .decode("utf-8", "ignore")
HOSTILE = [
    ("sql drop", "'; DROP TABLE taskq.tasks; --"),
    ("sql or", "' OR '1'='1"),
    ("pg quoting", "$$; DELETE FROM taskq.tasks; $$ E'\\x00' U&'\\0000' $q$"),
    ("quotes", "\"double\" 'single' `back`"),
    ("backslashes", "\\ \\\\ \\\" \\n \\u0041 C:\\dir\\"),
    ("literal \\u0000 text", "\\u0000"),
    ("shell", "$(id) `id` ${IFS} && | ; > /tmp/pwn < /etc/passwd"),
    ("printf", "%s%n%x%p%%%d %1$s"),
    ("emoji", "😀🧪 👩‍👩‍👧‍👦 🇺🇦"),
    ("rtl marks", "\u202egnp.exe\u202c \u200f\u200e \u2067x\u2069"),
    ("invisible", "\ufeff\u200b\u00ad\u2060"),
    ("noncharacters", "\uffff\ufffe\U0010ffff"),
    ("controls", "\x01\x07\x08\x1b[31m\x7f"),
    ("whitespace", " \t\r\n "),
    ("html", "<script>alert(1)</script>&amp;"),
    ("json text", '{"kind":"noop"},"x":[1'),
    ("name characters", "..::--__"),
    ("10 KB", TEN_KB),
]


def name_ok(v):
    return bool(re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", v))


def key_ok(v):
    return 1 <= len(v.encode()) <= 200


CALLBACK = "http://198.18.0.1:9/"   # a range the worker refuses: no delivery is ever made

# field, the submit fields for a string s, the 400 code the submit must get (None: accepted)
STRING_FIELDS = [
    ("kind", lambda s: {"kind": s},
     lambda f: "unknown_kind" if name_ok(f["kind"]) else "invalid_field"),
    ("queue", lambda s: {"queue": s}, lambda f: None if name_ok(f["queue"]) else "invalid_field"),
    ("dedupe_key", lambda s: {"dedupe_key": unique("dk") + s},
     lambda f: None if key_ok(f["dedupe_key"]) else "invalid_field"),
    ("concurrency_key", lambda s: {"concurrency_key": s},
     lambda f: None if key_ok(f["concurrency_key"]) else "invalid_field"),
    ("callback_url", lambda s: {"callback_url": CALLBACK + s},
     lambda f: None if len(f["callback_url"].encode()) <= 2048
     and not re.search('[\x00-\x20\x7f"\\\\<>]', f["callback_url"]) else "invalid_field"),
    ("payload value", lambda s: {"payload": {"v": s}}, lambda f: None),
    ("payload key", lambda s: {"payload": {s: s[::-1]}}, lambda f: None),
    ("payload nested", lambda s: {"payload": {"a": [{"b": [s, {"c": s}]}], s: {s: [s]}}},
     lambda f: None),
]


class HostileTests(TaskqTestCase):

    def setUp(self):
        super().setUp()
        self.q = self.own_queue("hostile")
        tid = self.submit_ok("noop", {}, queue=self.q, delay_s=3600)["id"]
        unk = str(uuid.uuid4())
        # "@ID" last: it is a prefix of "@IDx"
        self.ctx = {"@Q": self.q, "@IDx": tid + "x", "@UID": tid.upper(), "@UNK": unk,
                    "@UUNK": unk.upper(), "@PCT": "".join("%%%02X" % ord(c) for c in tid),
                    "@NODASH": tid.replace("-", ""), "@ID": tid}

    def fill(self, x):
        if isinstance(x, (str, bytes)):
            for k, v in self.ctx.items():
                x = x.replace(k, v) if isinstance(x, str) else x.replace(k.encode(), v.encode())
        return x

    def send(self, req):
        if req[0] == "http":
            _, method, path, headers, body = req
            return api.request(method, self.fill(path), body=self.fill(body), headers=headers)
        _, line, headers, body = req
        head = [self.fill(line), b"Host: 127.0.0.1", b"Connection: close"]
        if ENV.token:
            head.append(b"Authorization: Bearer " + ENV.token.encode())
        head += [self.fill(h) for h in headers]
        data = self.fill(body)
        if isinstance(body, Chunked):
            data = b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)
        return raw_http(b"\r\n".join(head) + b"\r\n\r\n" + data)

    @staticmethod
    def under_api(req):
        """Whether a row's request is for /api/ (or is not a parsable request at all)."""
        if req[0] == "http":
            return req[2].startswith("/api/")
        parts = req[1].split(b" ")
        return len(parts) != 3 or parts[1].startswith(b"/api/")

    def still_serving(self, name):
        with self.subTest(row=name, then="healthz and taskq.tasks"):
            r = api.healthz()
            self.assertEqual(r.status, 200, str(r))
            self.assertTrue(self.db.scalar("SELECT to_regclass('taskq.tasks') IS NOT NULL"))

    def test_bad_requests(self):
        self.assertGreaterEqual(len(REQUESTS), 60)
        for name, req, status, code, layer, check in REQUESTS:
            with self.subTest(row=name, layer=layer):
                r = self.send(req)
                if r.status in (200, 202) and isinstance(r.json, dict) and "id" in r.json:
                    self.track(r.json["id"])
                ok = status if isinstance(status, tuple) else (status,)
                self.assertIn(r.status, ok, "[%s] %s" % (layer, r))
                if r.status >= 400 and code:
                    self.assert_error(r, r.status, code)
                elif layer == NGINX and self.under_api(req):
                    # nginx's own refusals are JSON errors in the API's shape too
                    self.assert_error(r, r.status, NGINX_CODES[r.status])
                elif layer == NGINX:
                    self.assertIn(b"nginx", r.body, "not nginx's own error page: %s" % r)
                elif r.body or req[1] != "HEAD":
                    self.assert_json_response(r)
                if check:
                    check(self, r, self.fill(req[4]) if req[0] == "http" else None)
            self.still_serving(name)
        self.report("%d rows" % len(REQUESTS))

    def test_hostile_strings(self):
        for label, s in HOSTILE:
            for field, build, refusal in STRING_FIELDS:
                fields = build(s)
                name = "%s in %s" % (label, field)
                with self.subTest(row=name):
                    body = {"kind": "noop", "queue": self.q, "delay_s": 3600}
                    body.update(fields)
                    r = api.request("POST", "/api/tasks", json_body=body)
                    if r.status in (200, 202) and isinstance(r.json, dict):
                        self.track(r.json["id"])
                    code = refusal(fields)
                    if code:
                        self.assert_error(r, 400, code)
                    else:
                        self.assertEqual(r.status, 202, str(r))
                        got = self.get_ok(r.json["id"])
                        dbrow = self.db.task(r.json["id"])
                        for k, v in fields.items():
                            self.assertEqual(dbrow[k], v, "%s in taskq.tasks" % k)
                            self.assertEqual(r.json[k], v, "%s in the 202 answer" % k)
                            self.assertEqual(got[k], v, "%s read back by GET" % k)
                self.still_serving(name)
        self.report("%d strings x %d fields" % (len(HOSTILE), len(STRING_FIELDS)))


if __name__ == "__main__":
    import unittest
    unittest.main()
