"""A minimal FastCGI client for the tests: one request to a responder on a unix socket,
without nginx (tests/integration/test_metrics.py on taskq-fcgi's own socket,
tests/package/daemons.py on a socket handed over as fd 0). Stdlib only; no request body, no
multiplexing, no keep-alive: the responder closes the connection after its answer."""

import socket
import struct

BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6
RESPONDER = 1


def _record(rtype, content, request_id=1):
    return struct.pack("!BBHHBx", 1, rtype, request_id, len(content), 0) + content


def _pair(name, value):
    out = b""
    for n in (len(name), len(value)):
        out += bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
    return out + name + value


def request(sock_path, params, timeout=5.0):
    """Sends one request (params: a dict of str) to the responder listening on sock_path and
    returns everything it wrote to its stdout (bytes: CGI headers, a blank line, the body)."""
    body = b"".join(_pair(k.encode(), v.encode()) for k, v in params.items())
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(_record(BEGIN_REQUEST, struct.pack("!HB5x", RESPONDER, 0)) +
                  _record(PARAMS, body) + _record(PARAMS, b"") + _record(STDIN, b""))
        with s.makefile("rb") as f:
            data = f.read()  # to the end: the responder closes the connection
    finally:
        s.close()
    out = b""
    while len(data) >= 8:
        _, rtype, _, clen, plen = struct.unpack("!BBHHBx", data[:8])[:5]
        if rtype == STDOUT:
            out += data[8:8 + clen]
        data = data[8 + clen + plen:]
    return out


def get(sock_path, uri, headers=None, timeout=5.0):
    """GET uri (a path, no query) with headers (a dict); returns (status, headers dict, body
    bytes), the status from the CGI Status header (200 without one)."""
    params = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": uri, "REQUEST_URI": uri,
              "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1"}
    for k, v in (headers or {}).items():
        params["HTTP_" + k.upper().replace("-", "_")] = v
    head, _, body = request(sock_path, params, timeout).partition(b"\r\n\r\n")
    hdrs = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")
                if ": " in line)
    return int(hdrs.get("Status", "200").split(" ")[0]), hdrs, body
