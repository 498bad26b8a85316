"""The http kind's SSRF policy holds against DNS rebinding and against connections it did not
open under the policy in force.

Each test starts a taskq-worker of its own (one executor, so one curl handle: its DNS cache and
kept-alive connections are the ones the test reasons about) allowed `*,127.0.0.1/32`: any
name, but of the loopback range only 127.0.0.1. Test servers listen on the same ports on
127.0.0.1 (allowed), 127.0.0.2 and ::1 (both refused) and record which address each request
reached. The rebinding tests run that worker under a private resolv.conf naming a DNS server
of the test's own (tests/lib/taskq_dns.py) that answers with TTL 0 from a script per name; they
skip, saying why, where that cannot be arranged (it needs root, or user namespaces and port 53).
"""

import json
import os
import signal
import socket
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from taskq_dns import ScriptedDns, probe, resolver_prefix
from taskq_faults import WorkerProc
from taskq_harness import ENV, TaskqTestCase, unique, wait_until
from taskq_httpd import KeyedLog, QuietHandler, serve

ALLOW = "*,127.0.0.1/32"
FINAL = ("succeeded", "failed", "cancelled")
HITS = KeyedLog()  # per test key: (server address, server port, path) of each request


class Handler(QuietHandler):
    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        HITS.add(q.get("k", ""), (self.server.server_address[0], self.server.server_address[1],
                                  u.path))
        if u.path == "/redirect":
            body, status, extra = b"", 302, [("Location", q["to"])]
        else:
            body, status, extra = json.dumps({"server": self.server.server_address[0]}).encode(), \
                200, []
        self.send(status, body, "application/json", extra)


class V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class Servers:
    """Ports with a server on 127.0.0.1, 127.0.0.2 and (where there is one) ::1 each."""

    ports = None
    v6 = False

    @classmethod
    def up(cls):
        if cls.ports is None:
            cls.v6 = ipv6_loopback()
            cls.ports = [cls._trio(), cls._trio()]
        return cls.ports

    @classmethod
    def _trio(cls):
        for _ in range(50):
            first = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            port, servers = first.server_address[1], [first]
            try:
                servers.append(ThreadingHTTPServer(("127.0.0.2", port), Handler))
                if cls.v6:
                    servers.append(V6Server(("::1", port), Handler))
            except OSError:
                for s in servers:
                    s.server_close()
                continue
            for s in servers:
                serve(s)
            return port
        raise AssertionError("no port free on 127.0.0.1, 127.0.0.2 and ::1 at once")


class ResolvingWorker(WorkerProc):
    """A WorkerProc whose command runs behind a prefix (the private resolv.conf)."""

    def __init__(self, prefix, queues, **kw):
        super().__init__(queues, **kw)
        self.prefix = list(prefix)

    def command(self):
        return self.prefix + super().command()


class RebindingTests(TaskqTestCase):
    dns = None
    why_not = None

    @classmethod
    def setUpClass(cls):
        cls.conf = os.path.join(ENV.var, "etc", "resolv-%s.conf" % unique("dns"))
        os.makedirs(os.path.dirname(cls.conf), exist_ok=True)
        try:
            cls.dns = ScriptedDns().start()
        except OSError as e:
            cls.why_not = "cannot serve DNS on port 53: %s" % e
            return
        cls.why_not = probe(cls.dns, cls.conf)

    @classmethod
    def tearDownClass(cls):
        if cls.dns:
            cls.dns.stop()
        if os.path.exists(cls.conf):
            os.unlink(cls.conf)

    def setUp(self):
        super().setUp()
        if self.why_not:
            self.skipTest(self.why_not)
        (self.port, self.port2) = Servers.up()
        self.key = unique("k")
        self.queue = self.own_queue("rebind")
        w = ResolvingWorker(resolver_prefix(self.dns, self.conf), self.queue,
                            name=self._testMethodName, concurrency=1,
                            args=["--http-allow", ALLOW])
        self._workers.append(w)
        w.start()
        w.worker_id()

    def name(self, *steps):
        """A new host name that resolves to steps[0], then steps[1] ... (TTL 0)."""
        n = "%s.rebind.test" % unique("h")
        self.dns.script(n, *steps)
        return n

    def run_http(self, url):
        t = self.submit_ok("http", {"url": url}, queue=self.queue, max_attempts=3)
        return self.api.wait_for(t["id"], FINAL, timeout=30)

    def test_a_redirect_to_a_name_that_rebound_to_a_refused_address_is_refused(self):
        # the name is allowed, and first resolves to an allowed address; the redirect's
        # target (the same name on another port: a new lookup) resolves to a refused one
        host = self.name(["127.0.0.1"], ["127.0.0.2"])
        to = "http://%s:%d/json?k=%s" % (host, self.port2, self.key)
        done = self.run_http("http://%s:%d/redirect?k=%s&to=%s" % (host, self.port, self.key, to))
        self.assertEqual(done["state"], "failed", done)
        self.assertEqual(done["attempts"], 1, "a refusal is not retried")
        self.assertIn("refused", done["error"])
        self.assertIn("127.0.0.2", done["error"])
        self.assertEqual(HITS.get(self.key), [("127.0.0.1", self.port, "/redirect")],
                         "only the first hop reached a server, the allowed one")
        self.assertGreaterEqual(self.dns.questions(host), 2, "the name was looked up again")

    def test_a_name_that_resolves_to_a_refused_and_an_allowed_address_reaches_the_allowed_one(self):
        # ::1 sorts first (RFC 6724): the worker refuses it, opens no socket to it, and its
        # request goes to 127.0.0.1 and succeeds
        if not Servers.v6:
            self.skipTest("no IPv6 loopback")
        host = self.name(["::1", "127.0.0.1"])
        done = self.run_http("http://%s:%d/json?k=%s" % (host, self.port, self.key))
        self.assertEqual(done["state"], "succeeded", done.get("error"))
        self.assertEqual(done["result"]["body"], {"server": "127.0.0.1"})
        self.assertEqual(HITS.get(self.key), [("127.0.0.1", self.port, "/json")])

    def test_a_name_that_resolves_only_to_refused_addresses_is_refused(self):
        answer = ["127.0.0.2"] + (["::1"] if Servers.v6 else [])
        host = self.name(answer)
        done = self.run_http("http://%s:%d/json?k=%s" % (host, self.port, self.key))
        self.assertEqual(done["state"], "failed", done)
        self.assertEqual(done["attempts"], 1)
        self.assertRegex(done["error"], r"refused: %s resolves to (127\.0\.0\.2|::1)" % host)
        self.assertEqual(HITS.get(self.key), [])

    def test_ipv4_mapped_ipv6_answers_are_checked_as_ipv4(self):
        refused = self.name(["::ffff:127.0.0.2"])
        done = self.run_http("http://%s:%d/json?k=%s" % (refused, self.port, self.key))
        self.assertEqual(done["state"], "failed", done)
        self.assertIn("resolves to ::ffff:127.0.0.2", done["error"])
        self.assertEqual(HITS.get(self.key), [], "127.0.0.2 was reached through ::ffff:127.0.0.2")
        allowed = self.name(["::ffff:127.0.0.1"])
        done = self.run_http("http://%s:%d/json?k=%s" % (allowed, self.port, self.key))
        self.assertEqual(done["state"], "succeeded", done.get("error"))
        self.assertEqual(HITS.get(self.key), [("127.0.0.1", self.port, "/json")])


class KeptAliveTests(TaskqTestCase):

    def test_a_kept_alive_connection_obeys_a_reloaded_allow_list(self):
        # A connection the worker opened while 127.0.0.2 was allowed stays open (keep-alive);
        # after a reload that no longer allows it, the next request must not go out on it.
        port, _ = Servers.up()
        key = unique("k")
        queue = self.own_queue("keep")
        path = os.path.join(ENV.var, "etc", "worker-%s.conf" % unique("keep"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("http-allow = *,127.0.0.1/32,127.0.0.2/32\n")
        self.cleanup_first(os.unlink, path)
        w = WorkerProc(queue, name=self._testMethodName, concurrency=1,
                       args=["--config", path], env={"TASKQ_HTTP_ALLOW": ""})
        self._workers.append(w)
        w.start()
        w.worker_id()
        url = "http://127.0.0.2:%d/json?k=%s" % (port, key)

        t = self.submit_ok("http", {"url": url}, queue=queue, max_attempts=1)
        done = self.api.wait_for(t["id"], FINAL, timeout=30)
        self.assertEqual(done["state"], "succeeded", done.get("error"))

        def reloads():
            with open(w.log_path, "rb") as f:
                return f.read().count(b"event=reloaded")
        before = reloads()
        with open(path, "w") as f:
            f.write("http-allow = %s\n" % ALLOW)
        os.kill(w.pid, signal.SIGHUP)
        wait_until(lambda: reloads() > before, timeout=10, what="the worker reloaded")

        t = self.submit_ok("http", {"url": url}, queue=queue, max_attempts=1)
        done = self.api.wait_for(t["id"], FINAL, timeout=30)
        self.assertEqual(done["state"], "failed", done)
        self.assertIn("refused", done["error"])
        self.assertEqual(len(HITS.get(key)), 1, "a request went out on the kept-alive connection")
