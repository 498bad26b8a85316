"""The OpenAPI 3.1 document nginx serves (nginx/html/openapi.json): valid, served, and true.

- The document validates against the official OpenAPI 3.1 schema (with the npm validator of
  tests/openapi: Debian 12 has no openapi-spec-validator), every Schema Object in it against
  JSON Schema 2020-12, every $ref resolves, every example validates against its schema.
- nginx serves it at GET /api/openapi.json without a token, as application/json.
- A tour makes every documented operation answer (and records it, like every exchange).
- Every exchange the integration tests made through the harness (Client, raw_http) this run,
  recorded in $TASKQ_VAR/api-seen.jsonl, fits the document: path, method, status, content
  type, JSON body (schema) and required headers. run.py runs this module as the audit
  phase, after every other one, so that it sees all of them; the mismatches are reported
  grouped, in one failure.
"""

import collections
import json
import os
import subprocess
import time

from taskq_harness import ENV, TOP, Client, TaskqTestCase, api, new_token, raw_http, unique
import taskq_harness
import taskq_openapi

DOC = os.path.join(TOP, "nginx", "html", "openapi.json")
CHECKER = os.path.join(TOP, "tests", "openapi")  # an npm validator of OpenAPI documents


def official_schema_errors(path):
    """Validates path against the official OpenAPI schema of its version with
    @seriousme/openapi-schema-validator (tests/openapi, installed by npm ci there)."""
    if not os.path.isdir(os.path.join(CHECKER, "node_modules", "@seriousme")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=CHECKER,
                       check=True, capture_output=True, timeout=300)
    r = subprocess.run(["node", "validate.mjs", path], cwd=CHECKER, capture_output=True, text=True,
                       timeout=60)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return out["version"], [json.dumps(e)[:200] for e in out["errors"][:10]]


def spec():
    return taskq_openapi.Spec(DOC)


class OpenApiTests(TaskqTestCase):

    def test_1_document_is_valid_openapi_3_1(self):
        from jsonschema import Draft202012Validator
        s = spec()
        version, errs = official_schema_errors(DOC)
        self.assertEqual(errs, [], "not a valid OpenAPI 3.1 document")
        self.assertEqual(version, "3.1")
        self.assertTrue(s.doc["openapi"].startswith("3.1."))
        bad = []
        for where, schema in taskq_openapi.schemas_in(s.doc):
            for e in Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema):
                bad.append("%s: %s" % (where, e.message[:120]))
        for where, ref in taskq_openapi.refs_in(s.doc):
            try:
                s.resolve({"$ref": ref})
            except (KeyError, ValueError, TypeError):
                bad.append("%s: $ref %s leads nowhere" % (where, ref))
        ids = collections.Counter(op.get("operationId") for _, _, op in s.operations())
        bad += ["operationId %s used %d times" % (k, n) for k, n in ids.items() if n > 1]
        for template, m, op in s.operations():
            params = [s.resolve(p) for p in op.get("parameters", []) +
                      s.doc["paths"][template].get("parameters", [])]
            named = {p["name"] for p in params if p.get("in") == "path"}
            wanted = {seg[1:-1] for seg in template.split("/") if seg.startswith("{")}
            if named != wanted:
                bad.append("%s %s: path parameters %s, template has %s" % (
                    m, template, sorted(named), sorted(wanted)))
        bad += self.examples_that_do_not_validate(s)
        self.assertEqual(bad, [], "problems in %s" % DOC)
        self.report("%d paths, %d operations, %d schemas" % (
            len(s.doc["paths"]), len(list(s.operations())),
            len(s.doc["components"]["schemas"])))

    def examples_that_do_not_validate(self, s):
        bad = []

        def walk(node, where):
            if isinstance(node, dict):
                if isinstance(node.get("schema"), dict) and "example" in node:
                    for e in s.validator(node["schema"]).iter_errors(node["example"]):
                        bad.append("%s/example: %s" % (where, e.message[:120]))
                if "examples" in node and isinstance(node["examples"], list) and \
                        where.startswith("#/components/schemas/"):
                    for i, ex in enumerate(node["examples"]):
                        for e in s.validator(node).iter_errors(ex):
                            bad.append("%s/examples/%d: %s" % (where, i, e.message[:120]))
                for k, v in node.items():
                    walk(v, "%s/%s" % (where, k))
        walk(s.doc, "#")
        return bad

    def test_2_served_by_nginx_without_a_token(self):
        c = Client(token=None)
        r = c.request("GET", "/api/openapi.json")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(taskq_openapi.media_type(r.header("Content-Type")), "application/json")
        self.assertIsInstance(r.json, dict, "not JSON: %s" % r)
        with open(DOC, encoding="utf-8") as f:
            self.assertEqual(r.json, json.load(f), "nginx serves another document")
        if r.header("ETag"):
            r2 = c.request("GET", "/api/openapi.json", headers={"If-None-Match": r.header("ETag")})
            self.assertEqual(r2.status, 304, str(r2))
        self.assertEqual(c.request("HEAD", "/api/openapi.json").status, 200)

    def test_3_tour_of_every_operation(self):
        """Makes each documented operation answer its main statuses (recorded like every
        exchange, so test_9 checks them even when only this module runs)."""
        q = self.own_queue("openapi")
        seen = []

        def req(method, path, **kw):
            r = api.request(method, path, **kw)
            seen.append((method, path, r.status))
            return r

        t = req("POST", "/api/tasks", json_body={"kind": "noop", "queue": q, "delay_s": 3600,
                                                 "dedupe_key": unique("dk")})
        self.assertEqual(t.status, 202, str(t))
        tid, etag = t.json["id"], t.header("ETag")
        req("POST", "/api/tasks", json_body={"kind": "noop", "queue": q, "delay_s": 3600,
                                             "dedupe_key": t.json["dedupe_key"]})
        req("POST", "/api/tasks", json_body={"kind": "no-such-kind"})
        req("POST", "/api/tasks", body=b"{}", headers={"Content-Type": "text/plain"})
        req("GET", "/api/tasks/%s" % tid)
        req("GET", "/api/tasks/%s" % tid, headers={"If-None-Match": etag})
        req("GET", "/api/tasks/%s?wait=1" % tid, headers={"If-None-Match": etag})
        req("GET", "/api/tasks/%s?colour=red" % tid)
        req("GET", "/api/tasks/not-a-uuid")
        req("GET", "/api/tasks/%s/history" % tid)
        req("GET", "/api/tasks?queue=%s&limit=1" % q)
        req("GET", "/api/tasks?state=nope")
        req("GET", "/api/queues")
        req("GET", "/api/me")
        req("DELETE", "/api/tasks/%s" % tid)
        req("DELETE", "/api/tasks/%s" % tid)
        req("POST", "/api/tasks/%s/retry" % tid, headers={"Content-Type": "application/json"})
        req("POST", "/api/tasks/%s/retry" % tid, headers={"Content-Type": "application/json"})
        req("POST", "/api/tasks/%s/hold" % tid)
        req("POST", "/api/tasks/%s/hold" % tid)
        req("POST", "/api/tasks/%s/release" % tid)
        req("POST", "/api/tasks/%s/release" % tid)
        req("POST", "/api/queues/%s/pause" % q)
        req("POST", "/api/queues/%s/resume" % q)
        req("POST", "/api/queues/no%20such/pause")
        req("DELETE", "/api/tasks/%s" % tid)
        req("PUT", "/api/tasks/%s" % tid, body=b"{}", headers={"Content-Type": "application/json"})
        req("GET", "/api/tasks/%s" % "00000000-0000-0000-0000-000000000000")
        req("GET", "/api/no-such-route")
        req("GET", "/healthz")
        req("GET", "/healthz?" + "x" * 9000)                 # 414 from nginx
        req("GET", "/metrics")
        # the static document's conditional and range refusals (nginx's own pages)
        for method in ("GET", "HEAD"):
            req(method, "/api/openapi.json", headers={"If-Match": '"not-its-etag"'})
            req(method, "/api/openapi.json", headers={"Range": "bytes=99999999-"})
        self.tour_batch(req, q)
        self.tour_schedules(req, seen, q)
        # live: a finished task's stream answers a long-poll at once (nchan; without nchan,
        # the URL is no route), the feeds by who asks
        done = api.submit("noop", {})
        self.assertEqual(done.status, 202, str(done))
        api.wait_for(done.json["id"], "succeeded", timeout=15)
        req("GET", "/api/tasks/%s/events" % done.json["id"], timeout=5)
        req("GET", "/api/tasks/%s/output?after=0&limit=10" % done.json["id"])
        req("GET", "/api/tasks/%s/output?limit=0" % done.json["id"])
        req("GET", "/api/tasks/%s/output/stream" % done.json["id"], timeout=5)
        req("GET", "/api/stream", timeout=5)
        req("OPTIONS", "/api/stream", timeout=5)
        req("OPTIONS", "/api/tasks/not-a-uuid/events", timeout=5)      # no route: 404
        req("OPTIONS", "/api/stream/%s" % ("o" * 200), timeout=5)      # no owner name: 404
        anon = Client(token=None)
        for method, path in (("GET", "/api/me"), ("GET", "/api/tasks"),
                             ("GET", "/api/tasks/%s/events" % done.json["id"]),
                             ("POST", "/api/tasks"), ("GET", "/api/openapi.json")):
            r = anon.request(method, path, timeout=5)
            seen.append((method, path, r.status))
        if ENV.token:
            owner = unique("oa")
            oc = Client(token=new_token(owner))
            for path in ("/api/stream", "/api/stream/%s" % owner, "/api/stream/someone-else",
                         "/api/tasks/%s" % tid):
                r = oc.request("GET", path, timeout=5)
                seen.append(("GET", path, r.status))
        raw_http(b"GET /api/tasks HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.report("%d requests: %s" % (len(seen), " ".join(sorted({str(s) for _, _, s in seen}))))

    def tour_batch(self, req, q):
        """POST /api/tasks/batch: new tasks, only dedupe hits, a bad element, the methods of
        /api/tasks/{id} that the literal path meets."""
        key = unique("dk")
        task = {"kind": "noop", "queue": q, "delay_s": 3600, "dedupe_key": key}
        r = req("POST", "/api/tasks/batch", json_body=[task, task])
        self.assertEqual((r.status, r.json["count"], r.json["created"]), (202, 2, 1), str(r))
        self.assertEqual(r.json["ids"][0], r.json["ids"][1])
        r = req("POST", "/api/tasks/batch", json_body={"tasks": [task]})
        self.assertEqual((r.status, r.json["created"]), (200, 0), str(r))
        r = req("POST", "/api/tasks/batch", json_body=[{"kind": "noop", "queue": q},
                                                       {"kind": "no-such-kind"}])
        self.assertEqual((r.status, r.json["error"].get("index")), (400, 1), str(r))
        req("POST", "/api/tasks/batch", json_body=[])
        req("POST", "/api/tasks/batch", body=b"[]", headers={"Content-Type": "text/plain"})
        req("GET", "/api/tasks/batch")
        req("PUT", "/api/tasks/batch", body=b"[]", headers={"Content-Type": "application/json"})

    def tour_schedules(self, req, seen, q):
        """/api/schedules and /api/schedules/{name}: create, read, list, replace, remove, and
        their refusals (a taken name, a bad expression or zone, a bad name, another owner's)."""
        name, other = unique("oa-sched"), unique("oa-sched")
        body = {"cron": "30 2 * * *", "tz": "Europe/Berlin", "kind": "noop", "queue": q}
        try:
            r = req("POST", "/api/schedules", json_body=dict(body, name=name))
            self.assertEqual(r.status, 201, str(r))
            self.assertEqual(r.header("Location"), "/api/schedules/" + name)
            r = req("POST", "/api/schedules", json_body=dict(body, name=name))
            self.assertEqual(r.status, 409, str(r))
            r = req("POST", "/api/schedules", json_body=dict(body, name=other, cron="61 * * * *"))
            self.assertEqual(r.status, 400, str(r))
            self.assertTrue(r.json["error"]["message"].startswith("cron: "), str(r))
            r = req("POST", "/api/schedules", json_body=dict(body, name=other, tz="Mars/Olympus"))
            self.assertEqual(r.status, 400, str(r))
            self.assertTrue(r.json["error"]["message"].startswith("tz: "), str(r))
            req("POST", "/api/schedules", json_body=dict(body, name=other, kind="no-such-kind"))
            req("POST", "/api/schedules", json_body=dict(body, delay_s=5))
            req("GET", "/api/schedules")
            req("GET", "/api/schedules?owner=x")
            req("GET", "/api/schedules/" + name)
            req("GET", "/api/schedules/bad!name")
            req("GET", "/api/schedules/" + other)
            r = req("PUT", "/api/schedules/" + name,
                    json_body=dict(body, cron="@every 1h", enabled=False, backfill=2))
            self.assertEqual((r.status, r.json["enabled"], r.json["backfill"]), (200, False, 2),
                             str(r))
            r = req("PUT", "/api/schedules/" + other, json_body=dict(body, name=other))
            self.assertEqual(r.status, 201, str(r))
            req("PUT", "/api/schedules/" + other, json_body=dict(body, name=name))
            req("PATCH", "/api/schedules/" + name, json_body={})
            req("DELETE", "/api/schedules")
            if ENV.token:
                oc = Client(token=new_token(unique("oa")))
                for method in ("GET", "PUT", "DELETE"):
                    kw = {"json_body": body} if method == "PUT" else {}
                    r = oc.request(method, "/api/schedules/" + name, **kw)
                    seen.append((method, "/api/schedules/" + name, r.status))
                    self.assertEqual(r.status, 404, "another owner's schedule: %s" % r)
            r = req("DELETE", "/api/schedules/" + name)
            self.assertEqual(r.status, 204, str(r))
            r = req("DELETE", "/api/schedules/" + name)
            self.assertEqual(r.status, 404, str(r))
        finally:
            for n in (name, other):
                api.request("DELETE", "/api/schedules/" + n)

    def test_9_every_recorded_exchange_fits_the_document(self):
        path = taskq_harness.SEEN_FILE
        report = os.path.join(ENV.var, "api-mismatches.txt")
        if os.path.exists(report):
            os.unlink(report)
        t0 = time.monotonic()
        exchanges = taskq_openapi.load_exchanges(path)
        if not exchanges:
            self.skipTest("no exchanges recorded in %s" % path)
        s = spec()
        groups = collections.OrderedDict()
        answered = set()
        for ex in exchanges:
            where, problems = s.check(ex)
            m = ex.get("method", "?")
            template, _ = s.match(taskq_openapi.normalise(ex.get("path")) or "")
            if template:
                answered.add((m, template, str(ex.get("status"))))
            for kind, detail in problems:
                key = (kind, where, ex.get("status"))
                g = groups.setdefault(key, {"n": 0, "examples": []})
                g["n"] += 1
                if len(g["examples"]) < 2:
                    g["examples"].append("%s: %s %s: %s" % (
                        (ex.get("test") or "?").split(".")[-1], m,
                        (ex.get("path") or "?")[:90], detail))
        documented = s.answers()
        covered = documented & answered
        took = time.monotonic() - t0
        if groups:
            bad = sum(g["n"] for g in groups.values())
            lines = ["%d of %d exchanges do not fit %s (%d kinds; all in %s):" % (
                bad, len(exchanges), os.path.relpath(DOC, TOP), len(groups), report)]
            for (kind, where, status), g in groups.items():
                lines.append("[%s] %s -> %s (x%d), e.g. %s" % (
                    kind, where, status, g["n"], " || ".join(g["examples"])))
            try:
                with open(report, "w", encoding="utf-8") as f:
                    f.write("\n".join(lines) + "\n")
            except OSError:
                pass
            self.fail("\n".join(lines))
        self.report("%d exchanges fit; %d of %d documented answers seen (%.1fs)" % (
            len(exchanges), len(covered), len(documented), took))


if __name__ == "__main__":
    import unittest
    unittest.main()
