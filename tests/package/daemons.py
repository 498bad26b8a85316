#!/usr/bin/env python3
"""What the systemd units rely on, checked against installed binaries without systemd.

  daemons.py notify BINDIR [@|/]   taskq-worker speaks sd_notify(3) as Type=notify and
                                   WatchdogSec= expect: READY=1, WATCHDOG=1 at half of
                                   $WATCHDOG_USEC, STOPPING=1 on SIGTERM, a clean exit;
                                   NOTIFY_SOCKET in the abstract namespace (@) or a path (/)
  daemons.py socket BINDIR         taskq-fcgi serves on a listening socket handed over as
                                   fd 0 (StandardInput=socket), exits cleanly on SIGTERM

  daemons.py                       under make check ($srcdir set): all three checks (notify
                                   @, notify /, socket) on the binaries just built, in .

No PostgreSQL is needed: the daemons point at one that does not exist and must still start
(taskq-fcgi answers /healthz with 503). Prints what it saw; exits 0 when every check holds.
"""
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import fcgi_client  # noqa: E402  (tests/lib)

NO_DB = "host=/nonexistent-taskq-package-test port=1 dbname=none"


def scratch(prefix):
    """A temporary directory, removed when the script exits."""
    d = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, d, True)
    return d


def fail(msg):
    print(f"  FAIL: {msg}")
    return 1


def close_log(log, bad, what):
    """Closes a daemon's log (a file opened "w+"), printing its last lines when a check
    failed (bad > 0); returns bad."""
    log.seek(0)
    lines = log.read().splitlines(True)[-15:]
    log.close()
    if bad:
        print(f"  {what} log:\n" + "".join("    " + line for line in lines))
    return bad


def notify(bindir, kind):
    tmp = scratch("taskq-notify-")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if kind == "@":
        name = f"taskq-package-test-{os.getpid()}"
        sock.bind("\0" + name)
        env_sock = "@" + name
    else:
        env_sock = os.path.join(tmp, "notify.sock")
        sock.bind(env_sock)
    sock.settimeout(0.2)
    env = dict(os.environ, NOTIFY_SOCKET=env_sock, WATCHDOG_USEC="1000000",
               TASKQ_DATABASE_URL=NO_DB)
    env.pop("TASKQ_CONFIG", None)
    env.pop("WATCHDOG_PID", None)
    log = open(os.path.join(tmp, "worker.log"), "w+")
    p = subprocess.Popen([os.path.join(bindir, "taskq-worker"), "--concurrency", "2"],
                         env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    seen = []  # (seconds since start, message)
    t0 = time.monotonic()
    up = None  # seconds from the start to its first message: the watchdog's clock starts there
    bad = 0
    try:
        # 2.6 s from its first message (a loaded machine may take a while to start the
        # daemon, an ASan build under make check most of all), 10 s at the most
        while time.monotonic() - t0 < min((up or 0) + 2.6, 10):
            try:
                seen.append((time.monotonic() - t0, sock.recv(4096).decode()))
                up = seen[0][0]
            except socket.timeout:
                pass
        p.send_signal(signal.SIGTERM)
        t1 = time.monotonic()
        while time.monotonic() - t1 < 3:
            try:
                seen.append((time.monotonic() - t0, sock.recv(4096).decode()))
            except socket.timeout:
                if p.poll() is not None:
                    break
        rc = p.wait(timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        sock.close()
    msgs = [m for _, m in seen]
    print(f"  NOTIFY_SOCKET={env_sock}: " +
          ", ".join(f"{t:.2f}s {m!r}" for t, m in seen))
    ready = [i for i, m in enumerate(msgs) if "READY=1" in m.split("\n")]
    stopping = [i for i, m in enumerate(msgs) if "STOPPING=1" in m.split("\n")]
    pings = [t - (up or 0) for t, m in seen if m == "WATCHDOG=1" and t - (up or 0) <= 2.6]
    if len(ready) != 1:
        bad += fail(f"READY=1 sent {len(ready)} times, want once")
    if len(stopping) != 1:
        bad += fail(f"STOPPING=1 sent {len(stopping)} times, want once")
    elif ready and stopping[0] < ready[0]:
        bad += fail("STOPPING=1 came before READY=1")
    # WATCHDOG_USEC=1 s: a ping is due every 0.5 s, sent by the claimer loop at the start of
    # a round. Without a database the rounds are 0.1, 0.2, 0.4, 0.8, 1.6 s apart (its
    # reconnect back-off, up to 5 s: hence WatchdogSec=60s in the unit), so the first 2.6 s
    # hold pings at about 0, 0.7 and 1.5 s (from its first message).
    if len(pings) < 3:
        bad += fail(f"{len(pings)} WATCHDOG=1 in its first 2.6 s, want at least 3")
    elif pings[0] > 0.3:
        bad += fail(f"the first WATCHDOG=1 came {pings[0]:.2f} s after its first message")
    if rc != 0:
        bad += fail(f"taskq-worker exited {rc} on SIGTERM")
    return close_log(log, bad, "worker")


def socket_activation(bindir):
    tmp = scratch("taskq-socket-")
    path = os.path.join(tmp, "fcgi.sock")
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(16)
    env = dict(os.environ, TASKQ_DATABASE_URL=NO_DB)
    for k in ("TASKQ_CONFIG", "TASKQ_LISTEN"):
        env.pop(k, None)
    log = open(os.path.join(tmp, "fcgi.log"), "w+")
    # what StandardInput=socket does: the listening socket is fd 0, the logs go elsewhere
    p = subprocess.Popen([os.path.join(bindir, "taskq-fcgi"), "--threads", "2"], env=env,
                         stdin=lsock.fileno(), stdout=log, stderr=log)
    bad = 0
    try:
        status, body = None, b""
        for _ in range(50):
            try:
                status, _, body = fcgi_client.get(path, "/healthz", timeout=10)
                break
            except OSError:
                time.sleep(0.1)
        text = body.decode(errors="replace").strip()
        print(f"  GET /healthz on fd 0: status {status}, body {text!r}")
        if status != 503 or b'"database":"unavailable"' not in body:
            bad += fail("want a 503 with database unavailable from taskq-fcgi on fd 0")
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=15)
        if rc != 0:
            bad += fail(f"taskq-fcgi exited {rc} on SIGTERM")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        lsock.close()
    return close_log(log, bad, "fcgi")


def main():
    if len(sys.argv) == 1 and "srcdir" in os.environ:
        bad = 0
        for what, check in (("notify @", lambda: notify(".", "@")),
                            ("notify /", lambda: notify(".", "/")),
                            ("socket", lambda: socket_activation("."))):
            print(what)
            bad += 1 if check() else 0
        return 1 if bad else 0
    if len(sys.argv) < 3 or sys.argv[1] not in ("notify", "socket"):
        print(__doc__, file=sys.stderr)
        return 64
    if sys.argv[1] == "notify":
        return 1 if notify(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "@") else 0
    return 1 if socket_activation(sys.argv[2]) else 0


if __name__ == "__main__":
    sys.exit(main())
