"""The pieces of the small HTTP servers that integration tests run on loopback as targets of
the http kind: a per-key log of what the servers saw, a quiet keep-alive request handler
with one way to answer, and a server started in a daemon thread.

What each server answers (its routes) stays in the test that owns it; this module knows no
taskq URL, starts nothing on import and never talks to the stack.
"""

import threading
from http.server import BaseHTTPRequestHandler


class KeyedLog:
    """What the test servers saw, a list per test key; safe across handler threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_key = {}

    def add(self, key, item):
        with self.lock:
            self.by_key.setdefault(key, []).append(item)

    def get(self, key):
        """A copy of what was logged under key, oldest first ([] when nothing was)."""
        with self.lock:
            return list(self.by_key.get(key, []))


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive: connections stay open between requests), no access log."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body=b"", ctype="text/plain", headers=()):
        """A whole response with a Content-Length; the body is left out for HEAD."""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def serve(server):
    """Serves server in a daemon thread (one more daemon thread a request); returns it."""
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
