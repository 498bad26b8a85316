#!/usr/bin/python3
"""approve — a small web app that hands its slow work to taskq (the example of README.md,
"Use it from your app").

An expense request waits for approval. Approving it takes seconds (budget checks, the ledger,
notifying finance), so the app does not do it in the request: in one transaction it inserts
its own approval row, submits a taskq task for the slow part (taskq.submit) and mints a view
token for that one task (taskq.view_token); it answers at once with the task id and the
token, and the page shows <taskq-progress task=… view-token=…> until the task is done. The
app never waits for a task, so any number of tabs stay responsive.

It is a plain WSGI app (python3's wsgiref, threaded, psycopg2), served on a unix socket that
the dev stack's nginx proxies as /example/, beside taskq's /api/ and /client/ (one origin):

    ./dev start && ./dev example        # http://127.0.0.1:8080/example/
    python3 app.py --socket PATH --db CONNINFO    # by hand

Routes: GET /example/?request=REQ-… (the page), POST /example/approvals {"request_id"} →
201 {"approval_id","task_id","view_token"}, GET /example/healthz.
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

REQUESTS = {
    "REQ-1042": {"requester": "Dana Whitfield", "item": "Laptop for the new designer",
                 "amount": Decimal("1850.00")},
    "REQ-1043": {"requester": "Omar Haddad", "item": "Conference trip, Lisbon",
                 "amount": Decimal("1240.50")},
    "REQ-1044": {"requester": "Mei Tanaka", "item": "Two 27\" monitors", "amount": Decimal("689.98")},
    "REQ-1045": {"requester": "Lukas Brandt", "item": "Team offsite catering",
                 "amount": Decimal("2310.00")},
    "REQ-1046": {"requester": "Aisha Okafor", "item": "Accessibility audit of the shop",
                 "amount": Decimal("4800.00")},
}


def money(amount):
    return "{:,.2f} EUR".format(amount)


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
            cur.execute("SELECT to_regprocedure('taskq.view_token(uuid,interval,boolean)')"
                        " IS NOT NULL")
            self.view_tokens = cur.fetchone()[0]
        if not self.view_tokens:
            log("taskq.view_token() is missing: pages get no view token (fine with auth off)")

    def db(self):
        return Connection(self.pool)

    # ---- the three steps of README.md: submit in the app's transaction, hand over the token
    def approve(self, request_id, approver):
        req = REQUESTS[request_id]
        with self.db() as conn, conn.cursor() as cur:     # one transaction: all or nothing
            cur.execute("INSERT INTO approve_example.approvals (request_id, approver, amount)"
                        " VALUES (%s, %s, %s) RETURNING id", (request_id, approver, req["amount"]))
            approval_id = cur.fetchone()[0]
            payload = {"approval_id": approval_id, "request_id": request_id,
                       "approver": approver, "amount": money(req["amount"]),
                       "step_ms": self.step_ms}
            cur.execute("SELECT taskq.submit(%s, %s::jsonb, queue => %s, owner => %s,"
                        " max_attempts => 3, timeout_s => 60)",
                        (KIND, json.dumps(payload), QUEUE, OWNER))
            task_id = cur.fetchone()[0]
            cur.execute("UPDATE approve_example.approvals SET task_id = %s WHERE id = %s",
                        (task_id, approval_id))
            token = self.view_token(cur, task_id, can_cancel=True)
        return {"approval_id": approval_id, "task_id": str(task_id), "view_token": token}

    def view_token(self, cur, task_id, can_cancel=False):
        if not self.view_tokens:
            return None
        cur.execute("SELECT taskq.view_token(%s, interval '1 hour', %s)", (task_id, can_cancel))
        return cur.fetchone()[0]

    def recent(self):
        """The last approvals with their tasks' state, read from SQL as any app may."""
        with self.db() as conn, conn.cursor() as cur:
            cur.execute("SELECT a.id, a.request_id, a.created_at, a.task_id, t.state,"
                        "       t.result->>'reference'"
                        "  FROM approve_example.approvals a"
                        "  LEFT JOIN taskq.tasks t ON t.id = a.task_id"
                        " ORDER BY a.id DESC LIMIT 5")
            rows = cur.fetchall()
            out = []
            for aid, req, created, task_id, state, ref in rows:
                token = None
                if state in ("queued", "running"):
                    token = self.view_token(cur, task_id)
                out.append((aid, req, created, task_id, state, ref, token))
            return out

    # ---- HTTP --------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        try:
            if path in ("/example", "/example/") and method in ("GET", "HEAD"):
                query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
                request_id = query.get("request", ["REQ-1042"])[0]
                return self.html(start_response, self.render(
                    request_id if request_id in REQUESTS else "REQ-1042"))
            if path == "/example/approvals" and method == "POST":
                return self.post_approval(environ, start_response)
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
            return self.json(start_response, 400, {"error": "body is not JSON"})
        request_id = body.get("request_id") if isinstance(body, dict) else None
        if request_id not in REQUESTS:
            return self.json(start_response, 400, {"error": "unknown request_id"})
        # a real app takes the approver from whoever is signed in
        return self.json(start_response, 201, self.approve(request_id, "Sam Carter (manager)"))

    def healthz(self, start_response):
        with self.db() as conn, conn.cursor() as cur:
            cur.execute("SELECT EXISTS (SELECT 1 FROM taskq.kinds WHERE name = %s)", (KIND,))
            if not cur.fetchone()[0]:
                return self.json(start_response, 503, {"error": "no worker has registered '%s'" % KIND})
        return self.json(start_response, 200, {"status": "ok", "view_tokens": self.view_tokens})

    def render(self, request_id):
        req = REQUESTS[request_id]
        rows = []
        for aid, req_id, created, task_id, state, ref, token in self.recent():
            if token or (state in ("queued", "running") and not self.view_tokens):
                what = ('<taskq-progress task="%s"%s label="Approval #%d"></taskq-progress>'
                        % (task_id, ' view-token="%s"' % html.escape(token) if token else "", aid))
            else:
                what = html.escape(state or "pruned") + (" · " + html.escape(ref) if ref else "")
            rows.append('<tr><td>#%d</td><td>%s</td><td>%s</td><td class="what">%s</td></tr>'
                        % (aid, html.escape(req_id), created.strftime("%H:%M:%S"), what))
        recent = ("<table><thead><tr><th>approval</th><th>request</th><th>at (UTC)</th>"
                  "<th>state</th></tr></thead><tbody>%s</tbody></table>" % "".join(rows)
                  if rows else '<p class="muted">None yet.</p>')
        others = " · ".join('<a href="?request=%s">%s</a>' % (r, r)
                            for r in REQUESTS if r != request_id)
        values = {"REQUEST_ID": request_id, "REQUESTER": req["requester"], "ITEM": req["item"],
                  "AMOUNT": money(req["amount"])}
        page = self.page
        for k, v in values.items():
            page = page.replace("{{%s}}" % k, html.escape(v))
        return page.replace("{{RECENT}}", recent).replace("{{OTHERS}}", others)

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
                  503: "Service Unavailable"}[status]
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
