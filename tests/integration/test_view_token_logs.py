"""No view token reaches a log file, not even when taskq-fcgi fails to answer.

nginx writes a failed request's line to its error log as it came, query string included, so a
view token in a URL (?view_token=) would land there on a 502 or a 504. The shipped config
serves such requests from locations without an error log (nginx/taskq.conf.in), the streams'
locations keep none, their authorisation reaches taskq-fcgi without the subscriber's query in
its request line (taskq-streams.conf.in), and the browser client sends the token in the cookie
taskq_view instead of the URL. Here taskq-fcgi is frozen (SIGSTOP: nginx times out, 504) and
then stopped (502) while requests carry a fresh view token in their URLs (each spelling nginx's
maps must catch), in the cookie, to the API and to the stream; afterwards the token must appear
in no file under the stack's log directory. taskq-fcgi is started again in any case.

Needs auth on (the test stack's default; skipped otherwise).
"""

import os
import signal
import threading
import time
import urllib.parse

from taskq_harness import (ENV, Client, HarnessError, TaskqTestCase, api, start_daemon,
                           stop_daemon, wait_until)
from test_streams import Sse


# requests nginx answers itself (from the dashboard's files), with or without taskq-fcgi
STATIC = ("a directory", "a missing file")


def log_files():
    """Every file under the stack's log directory: {path: bytes}."""
    out = {}
    for top, _, files in os.walk(os.path.join(ENV.var, "log")):
        for f in files:
            p = os.path.join(top, f)
            try:
                with open(p, "rb") as fh:
                    out[p] = fh.read()
            except OSError:
                pass
    return out


def fcgi_pid():
    with open(os.path.join(ENV.var, "run", "fcgi.pid")) as f:
        return int(f.read().strip())


class ViewTokenLogTests(TaskqTestCase):

    def setUp(self):
        super().setUp()
        self.skip_unless_auth()

    def requests(self, tid, tok):
        """(what, fn) pairs: each fn makes one request that carries tok and returns its
        status."""
        anon = Client(token=None, timeout=60)
        cookie = {"Cookie": "taskq_view=%s" % tok}
        enc = urllib.parse.quote(tok, safe="")

        def get(path, headers=None):
            return lambda: anon.request("GET", path, headers=headers).status

        def stream(path, extra=""):
            def fn():
                try:
                    s = Sse(path, token="", extra=extra, timeout=60)
                except (ConnectionError, OSError) as e:
                    return "closed (%s)" % type(e).__name__
                try:
                    return s.status
                finally:
                    s.close()
            return fn
        t = "/api/tasks/%s" % tid
        return [
            ("GET by query", get("%s?view_token=%s" % (t, enc))),
            ("long-poll by query", get("%s?wait=1&view_token=%s" % (t, enc))),
            ("history by query", get("%s/history?view_token=%s" % (t, enc))),
            ("me by query", get("/api/me?view_token=%s" % enc)),
            ("given twice", get("%s?view_token=%s&view_token=%s" % (t, enc, enc))),
            ("upper case", get("%s?VIEW_TOKEN=%s" % (t, enc))),
            ("escaped key", get("%s?view%%5Ftoken=%s" % (t, enc))),
            ("healthz", get("/healthz?view_token=%s" % enc)),
            ("a directory", get("/client/?view_token=%s" % enc)),
            ("a missing file", get("/no-such-file?view_token=%s" % enc)),
            ("GET by cookie", get(t, cookie)),
            ("stream by query", stream("%s/events?view_token=%s" % (t, enc))),
            ("stream by cookie", stream("%s/events" % t, "Cookie: taskq_view=%s\r\n" % tok)),
        ]

    def run_all(self, reqs):
        """Runs the requests at once (each in a thread); {what: status}."""
        out = {}

        def one(what, fn):
            try:
                out[what] = fn()
            except HarnessError as e:
                out[what] = "unreachable (%s)" % e
        threads = [threading.Thread(target=one, args=r, daemon=True) for r in reqs]
        for th in threads:
            th.start()
        for th in threads:
            th.join(90)
        return out

    def test_view_tokens_reach_no_log_when_taskq_fcgi_fails(self):
        tid = self.submit_ok("noop", queue=self.own_queue("vlog"), delay_s=600)["id"]
        r = api.request("POST", "/api/tasks/%s/view_token" % tid, json_body={"ttl_s": 600})
        self.assertEqual(r.status, 200, str(r))
        tok = r.json["view_token"]
        reqs = self.requests(tid, tok)

        # taskq-fcgi answers: the query and the cookie both let the bearer in
        ok = self.run_all(reqs)
        for what in ("GET by query", "long-poll by query", "history by query", "me by query",
                     "GET by cookie", "stream by query", "stream by cookie"):
            self.assertEqual(ok[what], 200, "%s: %s" % (what, ok))

        pid = fcgi_pid()
        start_err = "not started"
        try:
            # frozen: nginx waits for its answers, then times out (504; 503 in the API's
            # shape) or refuses the stream
            os.kill(pid, signal.SIGSTOP)
            try:
                frozen = self.run_all(reqs)
            finally:
                os.kill(pid, signal.SIGCONT)
            # stopped: nothing listens (502)
            stop_daemon("fcgi")
            stopped = self.run_all(reqs)
        finally:
            start_err = start_daemon("fcgi")
        self.assertIsNone(start_err)
        wait_until(lambda: api.healthz(timeout=5).status == 200, timeout=30,
                   what="/healthz 200 after taskq-fcgi started again")
        for what, status in list(frozen.items()) + list(stopped.items()):
            if what not in STATIC:
                self.assertNotIn(status, (200, 401, 403), "%s answered while taskq-fcgi was "
                                 "down: %s / %s" % (what, frozen, stopped))
        # nginx's error log saw the failures (without the token)
        time.sleep(0.5)
        logs = log_files()
        self.assertTrue(logs, "no logs under %s/log" % ENV.var)
        errors = logs.get(os.path.join(ENV.var, "log", "nginx-error.log"), b"")
        self.assertIn(b"/_taskq/authorize/task/%s " % tid.encode(), errors,
                      "the publisher server logged no failed authorisation")
        found = [p for p, text in logs.items() if tok.encode() in text or
                 urllib.parse.quote(tok, safe="").encode() in text]
        self.assertEqual(found, [], "the view token is in these logs")
        self.report("frozen: %s; stopped: %s; %d log files (%d KB) without the token" % (
            sorted(set(map(str, frozen.values()))), sorted(set(map(str, stopped.values()))),
            len(logs), sum(len(t) for t in logs.values()) // 1024))
