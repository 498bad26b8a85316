"""taskq's OpenAPI document (nginx/html/openapi.json) as a checker of real HTTP exchanges.

Spec(path) loads the document; Spec.check(exchange) returns what is wrong with one exchange the
harness recorded ($TASKQ_VAR/api-seen.jsonl, see taskq_harness.record_exchange): its path
matches no documented path, its method or status is not documented there, its content type is
not the documented one, its JSON body does not validate against the documented schema (JSON
Schema 2020-12, with the document's components as the root for $ref), a required header is
missing or a documented header has the wrong form.

Answers outside one operation come from the document's extensions: x-taskq-any-request (what
nginx answers to any request it refuses before routing), x-taskq-unrouted (a path that is no
route) and each path's x-taskq-other-methods (a method the path does not have); the Response
Objects only they use live in x-taskq-responses.

Paths are normalised as nginx does before it routes: the query is cut at the first "?" of the
request target, %XX decoded, "//" merged, "." and ".." resolved (above the root: no path).
Needs Debian's python3-jsonschema.
"""

import json
import re
import urllib.parse

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def media_type(content_type):
    """'application/json; charset=utf-8' -> 'application/json'."""
    return (content_type or "").split(";")[0].strip().lower()


def normalise(target):
    """The path nginx routes for a request target, or None when nginx refuses it."""
    path = (target or "").split("?", 1)[0]
    if not path.startswith("/"):
        return None
    path = urllib.parse.unquote(path, errors="replace")
    out = []
    for seg in path.split("/")[1:]:
        if seg in ("", "."):
            continue
        if seg == "..":
            if not out:
                return None
            out.pop()
            continue
        out.append(seg)
    trailing = path.endswith("/") and out
    return "/" + "/".join(out) + ("/" if trailing else "")


class Spec:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.doc = json.load(f)
        self._validators = {}
        self.routes = []
        for template, item in self.doc.get("paths", {}).items():
            segs = template.strip("/").split("/")
            pat = "^/" + "/".join("[^/]+" if s.startswith("{") else re.escape(s)
                                  for s in segs) + "$"
            literal = sum(not s.startswith("{") for s in segs)
            self.routes.append((literal, re.compile(pat), template, item))
        self.routes.sort(key=lambda r: -r[0])   # literal segments win over parameters

    # -- the document --------------------------------------------------------------------------

    def resolve(self, obj):
        """obj with every top-level $ref followed (refs point into this document)."""
        seen = 0
        while isinstance(obj, dict) and "$ref" in obj:
            ref = obj["$ref"]
            if not ref.startswith("#/") or seen > 20:
                raise ValueError("cannot follow $ref %r" % ref)
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            obj, seen = node, seen + 1
        return obj

    def validator(self, schema):
        """A Draft 2020-12 validator of schema whose "#/components/..." refs resolve in this
        document (the schema is wrapped in a root that carries the components)."""
        from jsonschema import Draft202012Validator
        key = json.dumps(schema, sort_keys=True)
        v = self._validators.get(key)
        if v is None:
            root = {"components": self.doc.get("components", {}), "allOf": [schema]}
            v = self._validators[key] = Draft202012Validator(root)
        return v

    def match(self, path):
        """(template, path item) of the documented path that path is, or (None, None)."""
        for _, rx, template, item in self.routes:
            if rx.match(path):
                return template, item
        return None, None

    def operations(self):
        """(template, method, operation) of every documented operation."""
        for template, item in self.doc.get("paths", {}).items():
            for m in METHODS:
                if m in item:
                    yield template, m, item[m]

    # -- one exchange --------------------------------------------------------------------------

    def check(self, ex):
        """(where, problems) for a recorded exchange: where is "METHOD template" (or the
        path when none matches), problems a list of (kind, detail); empty when it fits."""
        method, status = ex.get("method", "?"), str(ex.get("status"))
        path = normalise(ex.get("path"))
        any_request = self.doc.get("x-taskq-any-request", {})
        if status in any_request and self._content_fits(any_request[status], ex):
            return "%s %s" % (method, ex.get("path", "?")[:60]), []
        if path is None:
            return "%s %s" % (method, ex.get("path", "?")[:60]), [
                ("no documented path (nginx refuses it) and status not in x-taskq-any-request",
                 status)]
        template, item = self.match(path)
        if template is None:
            unrouted = self.doc.get("x-taskq-unrouted", {})
            where = "%s (no route: %s)" % (method, path[:60])
            if status not in unrouted:
                return where, [("status of an unrouted path not in x-taskq-unrouted", status)]
            return where, self.check_response(unrouted[status], ex)
        where = "%s %s" % (method, template)
        op = item.get(method.lower()) if method.lower() in METHODS else None
        if op is None:
            other = item.get("x-taskq-other-methods", {})
            if status not in other:
                return where, [("method not documented and status not in "
                                "x-taskq-other-methods", status)]
            return where, self.check_response(other[status], ex)
        responses = op.get("responses", {})
        resp = responses.get(status) or responses.get(status[0] + "XX") or \
            responses.get("default")
        if resp is None:
            return where, [("status not documented", status)]
        return where, self.check_response(resp, ex)

    def _content_fits(self, resp, ex):
        resp = self.resolve(resp)
        content = resp.get("content")
        if not content:
            return ex.get("body_bytes", 0) == 0
        return media_type(ex.get("content_type")) in content

    def check_response(self, resp, ex):
        """Problems of ex against one Response Object (or a $ref to one)."""
        resp = self.resolve(resp)
        problems = []
        got = {k.lower(): v for k, v in (ex.get("headers") or {}).items()}
        for name, h in (resp.get("headers") or {}).items():
            h = self.resolve(h)
            value = got.get(name.lower())
            if value is None:
                if h.get("required"):
                    problems.append(("required header missing", name))
                continue
            if "schema" in h:
                errs = list(self.validator(h["schema"]).iter_errors(value))
                if errs:
                    problems.append(("header does not match its schema",
                                     "%s: %r" % (name, value)))
        if ex.get("method") == "HEAD":
            return problems          # headers only: no body to check
        content = resp.get("content")
        if not content:
            if ex.get("body_bytes", 0):
                problems.append(("a body where none is documented",
                                 "%d bytes of %s" % (ex["body_bytes"], ex.get("content_type"))))
            return problems
        mt = media_type(ex.get("content_type"))
        if mt not in content:
            problems.append(("content type not documented",
                             "%r (documented: %s)" % (ex.get("content_type"),
                                                      ", ".join(sorted(content)))))
            return problems
        if mt == "application/json":
            if "json_invalid" in ex:
                problems.append(("body is not JSON", ex["json_invalid"][:80]))
            elif "json" in ex and "schema" in content[mt]:
                v = self.validator(content[mt]["schema"])
                errs = sorted(v.iter_errors(ex["json"]), key=lambda e: list(e.absolute_path))
                if errs:
                    e = errs[0]
                    at = "/".join(str(p) for p in e.absolute_path) or "(root)"
                    problems.append(("body does not match the schema",
                                     "at %s: %s" % (at, e.message[:160])))
        return problems

    # -- what the document promises ------------------------------------------------------------

    def answers(self):
        """Every documented (method, template, status) of an operation."""
        out = set()
        for template, m, op in self.operations():
            for status in op.get("responses", {}):
                out.add((m.upper(), template, status))
        return out


def load_exchanges(path):
    """The recorded exchanges (a missing file: none)."""
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def schemas_in(node, where="#"):
    """(where, schema) for every Schema Object of an OpenAPI document: components/schemas,
    and every "schema" of parameters, headers and media types."""
    if isinstance(node, dict):
        for k, v in node.items():
            here = "%s/%s" % (where, k)
            if k == "schema" and isinstance(v, dict):
                yield here, v
            elif k == "schemas" and where == "#/components":
                for name, s in v.items():
                    yield "%s/%s" % (here, name), s
            else:
                yield from schemas_in(v, here)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from schemas_in(v, "%s/%d" % (where, i))


def refs_in(node, where="#"):
    """(where, ref) for every $ref in a document."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield where, v
            else:
                yield from refs_in(v, "%s/%s" % (where, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from refs_in(v, "%s/%d" % (where, i))
