"""Signals (sql/functions/signals.sql, fcgi/h_signals.c): POST /api/tasks/{id}/signals/{name},
signal links (POST /api/tasks/{id}/signal_token, POST /api/signals/{token}), view tokens that
may signal, and the clear 4xx of every bad input, which stores nothing.

Tasks here wait from their submit (wait_for) on a queue no worker serves until a test says
so, so the tests need nothing from the stack's worker but the claims of the resumed ones.
"""

import json
import os
import subprocess
import threading
import time

from taskq_harness import ENV, Client, TaskqTestCase, api


class SignalTests(TaskqTestCase):

    def waiting(self, signal="approve", **wait):
        """A noop task of an own queue that waits for signal from its submit."""
        q = self.own_queue("sig")
        r = api.submit("noop", {}, queue=q, wait_for=dict(signal=signal, **wait))
        self.assertEqual(r.status, 202, str(r))
        self.track(r.json["id"])
        return r.json

    def signal(self, tid, name, body=None, client=None, raw=None, headers=None):
        path = "/api/tasks/%s/signals/%s" % (tid, name)
        c = client or api
        if raw is not None:
            return c.request("POST", path, body=raw, headers=headers or
                             {"Content-Type": "application/json"})
        if body is None:
            return c.request("POST", path)
        return c.request("POST", path, json_body=body)

    def events(self, tid, event):
        return self.db.scalar("SELECT count(*) FROM taskq.task_events WHERE task_id = %s "
                              "AND event = %s", (tid, event))

    def test_submit_wait_for_waits_then_a_signal_runs_it_once(self):
        t = self.waiting("approve", timeout_s=3600)
        self.assertEqual(t["state"], "waiting", repr(t))
        self.assertEqual(t["waiting_for"]["signal"], "approve")
        self.assertEqual(t["waiting_for"]["on_timeout"], "fail")
        self.assertIsNotNone(t["waiting_for"]["until"])
        self.assertEqual((t["signals"], t["checkpoint"], t["attempts"]), (None, None, 0))
        time.sleep(1.0)  # no worker takes it meanwhile
        self.assertEqual(api.get(t["id"]).json["state"], "waiting")
        listed = api.list(state="waiting", queue=t["queue"]).json["tasks"]
        self.assertEqual([x["id"] for x in listed], [t["id"]])

        self.start_worker(t["queue"], lease=5, concurrency=2)
        r = self.signal(t["id"], "approve", {"approved": True, "by": "ana"})
        self.assertEqual(r.status, 202, str(r))
        self.assertEqual(r.json["state"], "queued")
        self.assertEqual(r.json["signals"], {"approve": {"approved": True, "by": "ana"}})
        self.assertIsNone(r.json["waiting_for"])
        done = api.wait_for(t["id"], ("succeeded", "failed"), timeout=15)
        self.assertEqual((done["state"], done["attempts"]), ("succeeded", 1), repr(done))
        # final: 409, and nothing stored
        r = self.signal(t["id"], "approve", {"again": 1})
        self.assert_error(r, 409, "wrong_state")
        self.assertEqual(api.get(t["id"]).json["signals"], {"approve": {"approved": True,
                                                                        "by": "ana"}})
        self.assertEqual(self.events(t["id"], "signal"), 1)

    def test_a_signal_of_another_name_is_kept_and_the_task_waits_on(self):
        t = self.waiting("approve")
        r = self.signal(t["id"], "comment", {"text": "looks fine"})
        self.assertEqual((r.status, r.json["state"]), (202, "waiting"), str(r))
        r = self.signal(t["id"], "approve")  # no body: payload null
        self.assertEqual((r.status, r.json["state"]), (202, "queued"), str(r))
        self.assertEqual(r.json["signals"], {"comment": {"text": "looks fine"}, "approve": None})

    def test_bad_inputs_get_clear_4xx_and_store_nothing(self):
        t = self.waiting("approve")
        tid = t["id"]
        self.assert_error(self.signal(tid, "Approve"), 400, "invalid_field")
        self.assert_error(self.signal(tid, "x" * 65), 400, "invalid_field")
        self.assert_error(self.signal(tid, "a%20b"), 400, "invalid_field")
        self.assert_error(self.signal("not-a-uuid", "approve"), 400, "invalid_id")
        self.assert_error(self.signal("0190a4b0-0000-7000-8000-000000000000", "approve"),
                          404, "not_found")
        big = json.dumps({"blob": "x" * (64 * 1024)})
        self.assert_error(self.signal(tid, "approve", raw=big), 413, "too_large")
        self.assert_error(self.signal(tid, "approve", raw="{not json"), 400, "invalid_json")
        r = self.signal(tid, "approve", raw="{}", headers={"Content-Type": "text/plain"})
        self.assertEqual(r.status, 415, str(r))
        after = api.get(tid).json
        self.assertEqual((after["state"], after["signals"]), ("waiting", None), repr(after))
        self.assertEqual(self.events(tid, "signal"), 0)
        # submits: a clear 400 for each bad wait_for
        for wf, words in (({"signal": "Bad Name"}, "wait_for.signal"),
                          ({}, "wait_for.signal"),
                          ({"signal": "ok", "timeout_s": 0}, "timeout_s"),
                          ({"signal": "ok", "timeout_s": "1"}, "timeout_s"),
                          ({"signal": "ok", "on_timeout": "maybe"}, "on_timeout"),
                          ({"signal": "ok", "other": 1}, "wait_for"),
                          ("approve", "wait_for")):
            r = api.submit("noop", {}, wait_for=wf)
            self.assert_error(r, 400, "invalid_field")
            self.assertIn(words, r.json["error"]["message"], str(r))
        r = api.submit("noop", {}, wait_for={"signal": "ok"},
                       after=["0190a4b0-0000-7000-8000-000000000000"])
        self.assert_error(r, 400, "invalid_field")

    def link(self, tid, name="approve", **body):
        r = api.request("POST", "/api/tasks/%s/signal_token" % tid,
                        json_body=dict(name=name, **body))
        self.assertEqual(r.status, 200, str(r))
        self.assertTrue(r.json["token"].startswith("ts_"), str(r))
        self.assertEqual(r.json["url"], "/api/signals/" + r.json["token"])
        return r.json["token"]

    def test_twenty_concurrent_uses_of_one_signal_link_deliver_once(self):
        t = self.waiting("approve")
        tok = self.link(t["id"], expires_s=600)
        # only a hash is kept
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.signal_tokens "
                                        "WHERE task_id = %s", (t["id"],)), 1)
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM taskq.signal_tokens WHERE hash = sha256(%s::bytea)",
            (tok.encode(),)), 1)
        anon = Client(token=None)
        statuses, lock, go = [], threading.Lock(), threading.Event()

        def use(i):
            c = Client(token=None)
            go.wait()
            r = c.request("POST", "/api/signals/" + tok, json_body={"approved": True, "n": i})
            with lock:
                statuses.append(r.status)

        threads = [threading.Thread(target=use, args=(i,)) for i in range(20)]
        for th in threads:
            th.start()
        go.set()
        for th in threads:
            th.join()
        self.assertEqual(sorted(statuses), [202] + [409] * 19, statuses)
        self.assertEqual(self.events(t["id"], "signal"), 1)
        got = api.get(t["id"]).json
        self.assertEqual(list(got["signals"]), ["approve"])
        self.assertEqual(got["signals"]["approve"]["approved"], True)
        # used: 409; forged or malformed: 401
        self.assert_error(anon.request("POST", "/api/signals/" + tok), 409, "wrong_state")
        forged = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
        self.assert_error(anon.request("POST", "/api/signals/" + forged), 401, "invalid_token")
        self.assert_error(anon.request("POST", "/api/signals/ts_short"), 401, "invalid_token")
        self.assert_error(anon.request("POST", "/api/signals/" + "tv_" + tok[3:]), 401,
                          "invalid_token")
        # the access log keeps the link's place, not the link
        time.sleep(0.2)
        with open(os.path.join(ENV.var, "log", "nginx-access.log"), "rb") as f:
            log = f.read()
        self.assertNotIn(tok[3:].encode(), log, "a signal link in nginx's access log")
        self.assertIn(b"POST /api/signals/- ", log)
        self.report("20 concurrent uses of one link: %d x 202, %d x 409" % (
            statuses.count(202), statuses.count(409)))

    def test_an_expired_signal_link_is_refused_and_sends_nothing(self):
        t = self.waiting("approve")
        tok = self.link(t["id"], expires_s=1)
        time.sleep(1.5)
        r = Client(token=None).request("POST", "/api/signals/" + tok, json_body={"x": 1})
        self.assert_error(r, 401, "invalid_token")
        self.assertEqual(api.get(t["id"]).json["state"], "waiting")
        for body, words in (({"name": "Bad"}, "name"), ({}, "name"),
                            ({"name": "ok", "expires_s": 0}, "expires_s"),
                            ({"name": "ok", "what": 1}, "fields")):
            r = api.request("POST", "/api/tasks/%s/signal_token" % t["id"], json_body=body)
            self.assert_error(r, 400, "invalid_field")
            self.assertIn(words, r.json["error"]["message"], str(r))

    def test_a_view_token_signals_only_when_minted_with_signal(self):
        t = self.waiting("approve")
        mint = lambda **b: api.request("POST", "/api/tasks/%s/view_token" % t["id"],
                                       json_body=b).json
        plain, signaller = mint(ttl_s=600), mint(ttl_s=600, signal=True)
        self.assertEqual((plain["signal"], signaller["signal"]), (False, True))
        r = self.signal(t["id"], "approve", {"approved": False},
                        client=Client(token=plain["view_token"]))
        self.assertEqual(r.status, 403, str(r))
        me = Client(token=signaller["view_token"]).request("GET", "/api/me").json
        self.assertEqual(me["view"]["signal"], True)
        other = self.waiting("approve")
        r = self.signal(other["id"], "approve", {}, client=Client(token=signaller["view_token"]))
        self.assertEqual(r.status, 403, str(r))
        r = self.signal(t["id"], "approve", {"approved": False},
                        client=Client(token=signaller["view_token"]))
        self.assertEqual((r.status, r.json["state"]), (202, "queued"), str(r))

    def test_sql_api_submit_wait_for_signal_and_cancel(self):
        q = self.own_queue("sigsql")
        tid = self.track(str(self.db.scalar(
            "SELECT taskq.submit('noop', '{}', %s, wait_for => %s::jsonb)",
            (q, json.dumps({"signal": "go", "timeout_s": 60})))))
        self.assertEqual(self.db.task(tid)["state"], "waiting")
        row = self.db.query("SELECT outcome, (t).state FROM taskq.signal(%s, 'other', "
                            "'{\"a\": 1}')", (tid,))[0]
        self.assertEqual((row["outcome"], row["state"]), ("stored", "waiting"))
        # cancel of a waiting task: cancelled at once
        r = api.delete(tid)
        self.assertEqual((r.status, r.json["state"]), (200, "cancelled"), str(r))
        row = self.db.query("SELECT outcome FROM taskq.signal(%s, 'go')", (tid,))[0]
        self.assertEqual(row["outcome"], "final")
        tok = self.db.scalar("SELECT taskq.signal_token(%s, 'go', '1 hour')", (tid,))
        row = self.db.query("SELECT outcome FROM taskq.signal_by_token(%s)", (tok,))[0]
        self.assertEqual(row["outcome"], "final")
        row = self.db.query("SELECT outcome FROM taskq.signal_by_token(%s)", (tok,))[0]
        self.assertEqual(row["outcome"], "used")


class SignalCliTests(TaskqTestCase):
    """taskq submit --wait-for and taskq signal (cli/verbs.c)."""

    def cli(self, *args):
        exe = os.path.join(ENV.build, "taskq")
        return subprocess.run([exe, "--db", ENV.db] + list(args), capture_output=True,
                              text=True, timeout=30)

    def test_submit_wait_for_then_signal_from_the_shell(self):
        q = self.own_queue("sigcli")
        r = self.cli("submit", "noop", "--queue", q, "--wait-for",
                     '{"signal": "go", "timeout_s": 600}')
        self.assertEqual(r.returncode, 0, r.stderr)
        tid = self.track(r.stdout.strip())
        row = self.db.task(tid)
        self.assertEqual((row["state"], row["waiting_for"]["signal"]), ("waiting", "go"))
        r = self.cli("signal", tid, "note", '{"text": "hi"}')
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "stored"), r.stderr)
        r = self.cli("signal", tid, "Bad")
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertIn("signal names", r.stderr)
        r = self.cli("signal", tid, "go", "{not json")
        self.assertEqual(r.returncode, 65, r.stderr)
        r = self.cli("signal", tid, "go")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "resumed"), r.stderr)
        self.assertEqual(self.db.task(tid)["signals"], {"note": {"text": "hi"}, "go": None})
        self.assertEqual(api.delete(tid).status, 200)  # queued, no worker: cancelled
        r = self.cli("signal", tid, "go")
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        r = self.cli("submit", "noop", "--queue", q, "--wait-for", "Not A Name")
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertIn("--wait-for", r.stderr)
