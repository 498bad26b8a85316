#!/usr/bin/python3
"""approve — a small web app that hands its slow work to taskq (the example of README.md,
"Use it from your app").

An expense request waits for approval. Approving it takes seconds (budget checks, the ledger,
notifying finance), so the app does not do it in the request: in one transaction it inserts
its own approval row, submits a taskq task for the slow part (taskq.submit) and mints a view
token for that one task (taskq.view_token); it answers at once with the task id and the
token, and the page shows <taskq-progress task=… view-token=…> until the task is done. The
app never waits for a task, so any number of tabs stay responsive.

Approving is idempotent: a request has at most one standing approval (a unique index in the
app's own table, schema.sql), so a second Approve of the same request (a double click, a
second tab, a replayed POST) inserts nothing, submits no task and answers with the approval
that stands. Only when that approval's task failed or was cancelled can the request be
approved again. "Recent approvals" stays current without a reload: the page re-reads it
(GET /example/recent) when it approves, when another tab of the browser does, when a task it
shows finishes, and every few seconds for approvals made elsewhere.

It is a plain WSGI app (python3's wsgiref, threaded, psycopg2), served on a unix socket that
the dev stack's nginx proxies as /example/, beside taskq's /api/ and /client/ (one origin):

    ./dev start && ./dev example        # http://127.0.0.1:8080/example/
    python3 app.py --socket PATH --db CONNINFO    # by hand

Routes: GET /example/?request=REQ-… (the page); POST /example/approvals {"request_id",
"by_link"?} → 201 {"approval_id","task_id","view_token",…} for a new approval (with by_link:
its task waits for the approver, and "link" is the one-time signal link that approves it,
POST /api/signals/ts_… with {"approved": true} or false; docs/waits.md), 200 with
"already_approved": true and the standing approval's task for a request approved before;
POST /example/requests → 201 {"request_id"} (a new request to approve); GET /example/recent
(the "Recent approvals" table, an HTML fragment); GET /example/healthz.
"""

import argparse
import html
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import urllib.parse
from decimal import Decimal
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

import psycopg2
import psycopg2.pool

HERE = os.path.dirname(os.path.abspath(__file__))
KIND = "approve"             # the command kind the example's worker runs (approve-task.py)
QUEUE = "approve"            # served by that worker only
OWNER = "approve-example"    # the tasks' owner in taskq (the app is one taskq client)

FIRST_REQUEST = "REQ-1042"   # schema.sql files five requests; "New request" files more
# what a new request is for, in turn (a real app has a form for it)
SAMPLES = [
    ("Priya Raman", "Standing desk", Decimal("620.00")),
    ("Jonas Berg", "Design software licences (5)", Decimal("1495.00")),
    ("Chloé Martin", "Customer visit, Lyon", Decimal("410.80")),
    ("Tom Eriksen", "Replacement phone", Decimal("729.00")),
    ("Nadia Aziz", "Training course: PostgreSQL", Decimal("1350.00")),
]
LIVE = ("queued", "running", "waiting")


def money(amount):
    return "{:,.2f} EUR".format(amount)


def reference(approval_id):
    """The approval's reference, as approve-task.py makes it."""
    return "APR-%06d" % approval_id


class App:
    def __init__(self, conninfo, step_ms):
        self.pool = psycopg2.pool.ThreadedConnectionPool(1, 8, conninfo,
                                                         application_name="approve-example")
        self.step_ms = step_ms
        with open(os.path.join(HERE, "page.html"), encoding="utf-8") as f:
            self.page = f.read()
        with self.db() as conn, conn.cursor() as cur:
            with open(os.path.join(HERE, "schema.sql"), encoding="utf-8") as f:
                cur.execute(f.read())
            cur.execute("SELECT to_regprocedure('taskq.view_token(uuid,interval,boolean,boolean)')"
                        " IS NOT NULL")
            self.view_tokens = cur.fetchone()[0]
        if not self.view_tokens:
            log("taskq.view_token() is missing: pages get no view token (fine with auth off)")

    def db(self):
        return Connection(self.pool)

    # ---- the three steps of README.md: submit in the app's transaction, hand over the token
    def approve(self, request_id, approver, by_link=False):
        """Approve a request: (approval, True) when this call made it, (approval, False) when
        an approval already stood (no second task then); (None, False) for an unknown
        request. An approval is a dict (see standing()). by_link: the task waits for the
        approver's signal (docs/waits.md) before its steps run, and the approval carries a
        one-time link that sends it ("link"), and a view token that may send it too (the
        page's <taskq-progress> shows Approve and Reject)."""
        with self.db() as conn, conn.cursor() as cur:     # one transaction: all or nothing
            # an approval whose task failed or was cancelled no longer stands
            cur.execute("UPDATE approve_example.approvals a SET voided_at = now()"
                        "  FROM taskq.tasks t"
                        " WHERE a.request_id = %s AND a.voided_at IS NULL"
                        "   AND t.id = a.task_id AND t.state IN ('failed', 'cancelled')",
                        (request_id,))
            found = self.standing(cur, request_id)
            if found is not None:
                return found, False
            # the unique index lets one approval stand per request: of concurrent ones, all
            # but the first insert nothing (they wait for it to commit, then find it)
            cur.execute("INSERT INTO approve_example.approvals (request_id, approver, amount)"
                        " SELECT id, %s, amount FROM approve_example.requests WHERE id = %s"
                        " ON CONFLICT (request_id) WHERE voided_at IS NULL DO NOTHING"
                        " RETURNING id, amount", (approver, request_id))
            row = cur.fetchone()
            if row is None:
                return self.standing(cur, request_id), False
            approval_id, amount = row
            payload = {"approval_id": approval_id, "request_id": request_id,
                       "approver": approver, "amount": money(amount),
                       "step_ms": self.step_ms}
            wait_for = {"signal": "approve", "timeout_s": 86400} if by_link else None
            cur.execute("SELECT taskq.submit(%s, %s::jsonb, queue => %s, owner => %s,"
                        " max_attempts => 3, timeout_s => 60, wait_for => %s::jsonb)",
                        (KIND, json.dumps(payload), QUEUE, OWNER,
                         json.dumps(wait_for) if wait_for else None))
            task_id = cur.fetchone()[0]
            cur.execute("UPDATE approve_example.approvals SET task_id = %s WHERE id = %s",
                        (task_id, approval_id))
            approval = self.standing(cur, request_id, can_signal=by_link)
            if by_link:
                # the approver's link: only its hash is stored; mail it, or show it
                cur.execute("SELECT taskq.signal_token(%s, 'approve', interval '1 day')",
                            (task_id,))
                approval["link"] = "/api/signals/" + cur.fetchone()[0]
            return approval, True

    def standing(self, cur, request_id, can_signal=False):
        """The request's standing approval with its task's state (None: not approved), and a
        view token for the task while it runs (or waits for the approver)."""
        cur.execute("SELECT a.id, a.task_id, a.approver, a.created_at, t.state,"
                    "       t.result->>'reference'"
                    "  FROM approve_example.approvals a"
                    "  LEFT JOIN taskq.tasks t ON t.id = a.task_id"
                    " WHERE a.request_id = %s AND a.voided_at IS NULL", (request_id,))
        row = cur.fetchone()
        if row is None:
            return None
        aid, task_id, approver, created, state, ref = row
        return {"approval_id": aid, "request_id": request_id, "task_id": str(task_id),
                "approved_by": approver, "approved_at": created.isoformat(),
                "state": state or "pruned", "reference": ref or (None if state else reference(aid)),
                "view_token": self.view_token(cur, task_id, True, can_signal or state == "waiting")
                if state in LIVE else None}

    def view_token(self, cur, task_id, can_cancel=False, can_signal=False):
        if not self.view_tokens:
            return None
        cur.execute("SELECT taskq.view_token(%s, interval '1 hour', %s, %s)",
                    (task_id, can_cancel, can_signal))
        return cur.fetchone()[0]

    def request(self, cur, request_id):
        cur.execute("SELECT id, requester, item, amount FROM approve_example.requests"
                    " WHERE id = %s", (request_id,))
        row = cur.fetchone()
        return row and {"id": row[0], "requester": row[1], "item": row[2], "amount": row[3]}

    def new_request(self):
        with self.db() as conn, conn.cursor() as cur:
            cur.execute("SELECT nextval('approve_example.request_numbers')")
            n = cur.fetchone()[0]
            requester, item, amount = SAMPLES[n % len(SAMPLES)]
            cur.execute("INSERT INTO approve_example.requests (id, requester, item, amount)"
                        " VALUES (%s, %s, %s, %s) RETURNING id",
                        ("REQ-%d" % n, requester, item, amount))
            return cur.fetchone()[0]

    def waiting(self, cur, but):
        """Requests without a standing approval (the page links to them), oldest first."""
        cur.execute("SELECT r.id FROM approve_example.requests r"
                    " WHERE r.id <> %s AND NOT EXISTS (SELECT 1 FROM approve_example.approvals a"
                    "   WHERE a.request_id = r.id AND a.voided_at IS NULL)"
                    " ORDER BY r.created_at, r.id LIMIT 6", (but,))
        return [r[0] for r in cur.fetchall()]

    def recent(self):
        """The last approvals with their tasks' state, read from SQL as any app may."""
        with self.db() as conn, conn.cursor() as cur:
            cur.execute("SELECT a.id, a.request_id, a.created_at, a.task_id, t.state,"
                        "       t.result->>'reference', a.voided_at IS NOT NULL"
                        "  FROM approve_example.approvals a"
                        "  LEFT JOIN taskq.tasks t ON t.id = a.task_id"
                        " ORDER BY a.id DESC LIMIT 5")
            rows = cur.fetchall()
            out = []
            for aid, req, created, task_id, state, ref, voided in rows:
                token = None
                if state in LIVE:
                    token = self.view_token(cur, task_id)
                out.append((aid, req, created, task_id, state, ref, voided, token))
            return out

    # ---- HTTP --------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        try:
            if path in ("/example", "/example/") and method in ("GET", "HEAD"):
                query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
                return self.html(start_response, self.render(
                    query.get("request", [FIRST_REQUEST])[0]))
            if path == "/example/approvals" and method == "POST":
                return self.post_approval(environ, start_response)
            if path == "/example/requests" and method == "POST":
                return self.json(start_response, 201, {"request_id": self.new_request()})
            if path == "/example/recent" and method == "GET":
                return self.html(start_response, self.render_recent())
            if path == "/example/healthz" and method == "GET":
                return self.healthz(start_response)
            return self.json(start_response, 404, {"error": "not found"})
        except psycopg2.Error as e:
            log("database error: %s" % str(e).strip())
            return self.json(start_response, 503, {"error": "database unavailable"})

    def post_approval(self, environ, start_response):
        try:
            n = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(min(n, 65536)) or b"{}")
        except ValueError:
            return self.json(start_response, 400, {"error": "the body is not JSON"})
        request_id = body.get("request_id") if isinstance(body, dict) else None
        if not isinstance(request_id, str):
            return self.json(start_response, 400, {"error": "request_id is missing"})
        # a real app takes the approver from whoever is signed in; "by_link": true asks the
        # approver by a one-time link instead (the task waits for its signal)
        approval, made = self.approve(request_id, "Sam Carter (manager)",
                                      by_link=body.get("by_link") is True)
        if approval is None:
            with self.db() as conn, conn.cursor() as cur:
                known = self.request(cur, request_id) is not None
            if not known:
                return self.json(start_response, 404, {"error": "no such request"})
            # the approval that stood was set aside meanwhile: the client may ask again
            return self.json(start_response, 409, {"error": "the request changed meanwhile; try again"})
        approval["already_approved"] = not made
        return self.json(start_response, 201 if made else 200, approval)

    def healthz(self, start_response):
        with self.db() as conn, conn.cursor() as cur:
            cur.execute("SELECT EXISTS (SELECT 1 FROM taskq.kinds WHERE name = %s)", (KIND,))
            if not cur.fetchone()[0]:
                return self.json(start_response, 503, {"error": "no worker has registered '%s'" % KIND})
        return self.json(start_response, 200, {"status": "ok", "view_tokens": self.view_tokens})

    def render_recent(self):
        """The "Recent approvals" table: in the page, and alone for the page to refresh it. A
        row's data-sig changes only when the row must be drawn anew: while its task runs, the
        <taskq-progress> in it follows the task by itself."""
        rows = []
        for aid, req_id, created, task_id, state, ref, voided, token in self.recent():
            if token or (state in LIVE and not self.view_tokens):
                sig = "live"
                what = ('<taskq-progress task="%s"%s label="Approval #%d"></taskq-progress>'
                        % (task_id, ' view-token="%s"' % html.escape(token) if token else "", aid))
            else:
                sig = "%s|%s|%s" % (state or "pruned", ref or "", voided)
                what = (html.escape(state or "pruned") + (" · " + html.escape(ref) if ref else "")
                        + (" · set aside" if voided else ""))
            rows.append('<tr data-approval="%d" data-request="%s" data-sig="%s"><td>#%d</td>'
                        '<td>%s</td><td class="at">%s</td><td class="what">%s</td></tr>'
                        % (aid, html.escape(req_id), html.escape(sig), aid, html.escape(req_id),
                           created.strftime("%H:%M:%S"), what))
        if not rows:
            return '<p class="muted">None yet.</p>'
        return ('<table class="recent"><thead><tr><th scope="col">approval</th>'
                '<th scope="col">request</th><th scope="col" class="at">at (UTC)</th>'
                '<th scope="col">state</th></tr></thead><tbody>%s</tbody></table>' % "".join(rows))

    def render(self, request_id):
        with self.db() as conn, conn.cursor() as cur:
            req = self.request(cur, request_id) or self.request(cur, FIRST_REQUEST)
            standing = self.standing(cur, req["id"])
            waiting = self.waiting(cur, req["id"])
        others = " · ".join('<a href="?request=%s">%s</a>' % (html.escape(r), html.escape(r))
                            for r in waiting) or "none"
        values = {"REQUEST_ID": req["id"], "REQUESTER": req["requester"], "ITEM": req["item"],
                  "AMOUNT": money(req["amount"])}
        page = self.page
        for k, v in values.items():
            page = page.replace("{{%s}}" % k, html.escape(v))
        # the approval that stands, for the page's script (JSON inside <script>: "</" escaped)
        state = json.dumps(standing).replace("</", "<\\/")
        return (page.replace("{{STANDING}}", state).replace("{{RECENT}}", self.render_recent())
                .replace("{{OTHERS}}", others))

    @staticmethod
    def html(start_response, text):
        data = text.encode("utf-8")
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(data))), ("Cache-Control", "no-store")])
        return [data]

    @staticmethod
    def json(start_response, status, obj):
        data = json.dumps(obj).encode("utf-8")
        reason = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found",
                  409: "Conflict", 503: "Service Unavailable"}[status]
        start_response("%d %s" % (status, reason), [("Content-Type", "application/json"),
                                                    ("Content-Length", str(len(data))),
                                                    ("Cache-Control", "no-store")])
        return [data]


class Connection:
    """A pooled connection as a context manager: commit on success, roll back on error."""

    def __init__(self, pool):
        self.pool = pool
        self.conn = None

    def __enter__(self):
        self.conn = self.pool.getconn()
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        broken = False
        try:
            if exc_type is None:
                self.conn.commit()
            else:
                self.conn.rollback()
        except psycopg2.Error:
            broken = True
        self.pool.putconn(self.conn, close=broken or self.conn.closed != 0)
        return False


class UnixWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """wsgiref's server on a unix socket, one thread per request."""
    address_family = socket.AF_UNIX
    daemon_threads = True

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", 0
        self.setup_environ()


class Handler(WSGIRequestHandler):
    def __init__(self, request, client_address, server):
        super().__init__(request, ("nginx", 0), server)     # a unix socket has no peer address

    def log_message(self, fmt, *args):
        log("%s %s" % (self.headers.get("X-Forwarded-For", "-") if self.headers else "-",
                       fmt % args))


def log(msg):
    print("approve-example: %s" % msg, file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser(description="the approve example app (examples/approve)")
    ap.add_argument("--socket", required=True, help="unix socket to listen on")
    ap.add_argument("--db", default=os.environ.get("TASKQ_DATABASE_URL", ""),
                    help="PostgreSQL conninfo (the taskq database)")
    ap.add_argument("--step-ms", type=int, default=700, help="the task's step length")
    args = ap.parse_args()
    app = App(args.db, args.step_ms)
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    server = UnixWSGIServer(args.socket, Handler)
    os.chmod(args.socket, 0o660)
    server.set_app(app)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    log("listening on %s" % args.socket)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        os.unlink(args.socket)
        app.pool.closeall()
        log("stopped")


if __name__ == "__main__":
    main()
