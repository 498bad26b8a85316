#!/usr/bin/env python3
"""A local stand-in for an LLM API that streams tokens the way such APIs do: POST (or GET)
/v1/chat/completions answers text/event-stream, one event per token,
`data: {"choices":[{"delta":{"content":"<token>"}}]}`, `delay_ms` apart, then
`data: [DONE]`. Query parameters: tokens (how many, default 20), delay_ms (default 100),
text (the tokens: its words, repeated; default a short summary sentence), stamp=1 (each
token is "<i> <unix time in ns when it is written>", for latency tests), start_ms (a wait
before the first token, default 0). /plain streams the
same tokens as chunked text/plain. Run it alone (`llm_stub.py PORT`, prints the port it
listens on) or import make_server(host, port) from a test (tests/integration/test_output.py,
examples/approve).
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

DEFAULT_TEXT = ("The request looks fine: amounts match the purchase order, the vendor is "
                "known and the budget has room. Approve.")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # when the last token of each request went out (time.time()), by the "k" query parameter
    finished = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.stream()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.stream()

    def stream(self):
        u = urlparse(self.path)
        q = {k: v[-1] for k, v in parse_qs(u.query).items()}
        words = q.get("text", DEFAULT_TEXT).split()
        n = int(q.get("tokens", len(words)))
        delay = int(q.get("delay_ms", 100)) / 1000.0
        tokens = [(words[i % len(words)] + " ") for i in range(n)]
        sse = u.path != "/plain"
        time.sleep(int(q.get("start_ms", 0)) / 1000.0)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" if sse else "text/plain; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i, tok in enumerate(tokens):
            if q.get("stamp") == "1":
                tok = "%d %d" % (i + 1, time.time_ns())
            if sse:
                body = "data: %s\n\n" % json.dumps({"choices": [{"delta": {"content": tok}}]})
            else:
                body = tok
            self.chunk(body.encode())
            if i + 1 < len(tokens):
                time.sleep(delay)
        if sse:
            self.chunk(b"data: [DONE]\n\n")
        Handler.finished[q.get("k", "")] = time.time()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def chunk(self, b):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
        self.wfile.flush()


def make_server(host="127.0.0.1", port=0):
    """A started server (in a daemon thread); .server_address[1] is its port."""
    srv = ThreadingHTTPServer((host, port), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


if __name__ == "__main__":
    s = make_server("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(s.server_address[1], flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
