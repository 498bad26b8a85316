"""A DNS server the integration tests control, and a taskq-worker that resolves through it.

ScriptedDns answers A and AAAA questions over UDP from a script per name, with TTL 0: the
i-th A question for a name gets the i-th entry of its script (the last one repeats), and so
do AAAA questions, so a test can make a name resolve to one address and then to another
(DNS rebinding) or to several addresses at once. Names it has no script for get NXDOMAIN.
It listens on port 53 of a loopback address of its own (127.53.x.y), because the system
resolver (glibc, which libcurl uses when it is built without c-ares, as Debian's is) only
asks port 53.

resolver_prefix() makes a command run in a mount namespace of its own, in which a private
resolv.conf naming that server is bind-mounted over /etc/resolv.conf: the worker under test
resolves through the test's server, and nothing outside it (no other process, no other
worktree's stack) sees the change; the product has no test-only resolver setting. It needs
root, or unprivileged user namespaces plus a port 53 a non-root user may bind: probe() says
why not, and the tests skip with that reason.
"""

import ipaddress
import os
import random
import socket
import struct
import subprocess
import threading

QTYPE_A, QTYPE_AAAA = 1, 28


class ScriptedDns:
    def __init__(self):
        self.lock = threading.Lock()
        self.scripts = {}   # name -> [(ipv4 list, ipv6 list), ...]
        self.asked = {}     # (name, qtype) -> how many questions so far
        self.sock = None
        self.addr = None

    def start(self):
        """Binds 127.53.x.y:53 (a free one) and serves in a thread; raises OSError if it
        cannot bind port 53."""
        last = None
        for _ in range(20):
            addr = "127.53.%d.%d" % (random.randint(0, 255), random.randint(1, 254))
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind((addr, 53))
            except OSError as e:
                s.close()
                last = e
                if e.errno == 98:  # EADDRINUSE: another stack's server, try another address
                    continue
                raise
            self.sock, self.addr = s, addr
            threading.Thread(target=self._serve, daemon=True).start()
            return self
        raise last

    def stop(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def script(self, name, *steps):
        """name resolves to steps[0], then steps[1] ...; each step is a list of addresses
        (IPv4 ones answer A questions, IPv6 ones AAAA questions)."""
        parsed = []
        for step in steps:
            v4 = [a for a in step if ipaddress.ip_address(a).version == 4]
            v6 = [a for a in step if ipaddress.ip_address(a).version == 6]
            parsed.append((v4, v6))
        name = name.lower().rstrip(".")
        with self.lock:
            self.scripts[name] = parsed
            self.asked.pop((name, QTYPE_A), None)
            self.asked.pop((name, QTYPE_AAAA), None)

    def questions(self, name, qtype=QTYPE_A):
        with self.lock:
            return self.asked.get((name.lower(), qtype), 0)

    def _serve(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(2048)
            except OSError:
                return
            try:
                reply = self._answer(data)
            except (ValueError, IndexError, struct.error):
                continue
            try:
                self.sock.sendto(reply, peer)
            except OSError:
                return

    def _answer(self, q):
        qid, flags, qdcount = struct.unpack("!HHH", q[:6])
        if qdcount != 1:
            raise ValueError("one question only")
        labels, i = [], 12
        while q[i]:
            n = q[i]
            labels.append(q[i + 1:i + 1 + n].decode("ascii").lower())
            i += 1 + n
        qtype, qclass = struct.unpack("!HH", q[i + 1:i + 5])
        question = q[12:i + 5]
        name = ".".join(labels)
        rcode, answers = 0, []
        with self.lock:
            steps = self.scripts.get(name)
            if steps is None:
                rcode = 3  # NXDOMAIN
            elif qtype in (QTYPE_A, QTYPE_AAAA):
                k = (name, qtype)
                n = self.asked.get(k, 0)
                self.asked[k] = n + 1
                v4, v6 = steps[min(n, len(steps) - 1)]
                answers = v4 if qtype == QTYPE_A else v6
        out = struct.pack("!HHHHHH", qid, 0x8400 | (flags & 0x0100) | 0x0080 | rcode, 1,
                          len(answers), 0, 0) + question
        for a in answers:
            rdata = ipaddress.ip_address(a).packed
            # the question's name (a pointer to offset 12), type, class IN, TTL 0
            out += struct.pack("!HHHIH", 0xC00C, qtype, 1, 0, len(rdata)) + rdata
        return out


def resolver_prefix(dns, conf_path):
    """Writes a resolv.conf naming dns to conf_path and returns the argv prefix that runs a
    command with it as /etc/resolv.conf (a private mount namespace)."""
    with open(conf_path, "w") as f:
        f.write("nameserver %s\noptions timeout:2 attempts:2\n" % dns.addr)
    os.chmod(conf_path, 0o644)
    ns = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        ns.append("--map-root-user")
    return ns + ["--", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"',
                 conf_path]


def probe(dns, conf_path):
    """None when a command under resolver_prefix() resolves through dns, else why not."""
    name = "probe-%d.taskq.test" % random.randint(0, 1 << 30)
    dns.script(name, ["127.0.0.1"])
    cmd = resolver_prefix(dns, conf_path) + [
        "python3", "-c", "import socket, sys; print(socket.gethostbyname(sys.argv[1]))", name]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "cannot run a private resolv.conf: %s" % e
    if p.returncode != 0 or p.stdout.strip() != "127.0.0.1":
        return "cannot run a private resolv.conf: %s %s" % (p.stdout.strip(), p.stderr.strip())
    return None
