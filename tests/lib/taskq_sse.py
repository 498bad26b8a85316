"""A minimal EventSource over a raw socket, for the integration tests and the benchmarks.

SseStream sends one HTTP/1.0 GET (so the stream is delimited by the connection: no chunked
framing to undo), reads the response head (its status in .status) and then yields the
stream's events as they arrive. It knows nothing of the test harness or of taskq's URLs:
callers pass the address, the path and any extra header lines (Authorization,
Last-Event-ID), so the benchmark can use it without the harness. It does not reconnect.
"""

import json
import socket
import time


class SseStream:
    """One open event stream: .status, then events(); close() when done."""

    def __init__(self, address, path, headers="", timeout=15, host="x"):
        """address: (host, port); headers: extra request header lines, each ending in CRLF.
        Raises ConnectionError when the server closes before the response head."""
        self.sock = socket.create_connection(address, timeout=timeout)
        head = "GET %s HTTP/1.0\r\nHost: %s\r\nAccept: text/event-stream\r\n" % (path, host)
        self.sock.sendall((head + headers + "\r\n").encode())
        self.buf = b""
        self.status = None
        self._read_head()

    def _read_head(self):
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before headers")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ")[1])
        self.buf = self.buf.replace(b"\r\n", b"\n")

    def events(self, until, timeout=15):
        """Yields (id, data dict, arrival time) for each event that carries data, until
        until(data) is true, the server closes the stream or timeout seconds have passed.
        An event's id and data are those of its last `id: ` and `data: ` lines."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            while b"\n\n" in self.buf:
                block, self.buf = self.buf.split(b"\n\n", 1)
                at = time.time()
                ev_id, data = None, None
                for line in block.decode().splitlines():
                    if line.startswith("id: "):
                        ev_id = line[4:]
                    elif line.startswith("data: "):
                        data = json.loads(line[6:])
                if data is not None:
                    yield ev_id, data, at
                    if until(data):
                        return
            self.sock.settimeout(max(0.1, deadline - time.time()))
            chunk = self.sock.recv(65536)
            if not chunk:
                return
            self.buf += chunk.replace(b"\r\n", b"\n")

    def close(self):
        self.sock.close()
