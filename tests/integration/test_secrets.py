"""No secret in any log: after the rest of the suite has run (run.py's destructive phase, after
the PostgreSQL faults, so that their logs count too), plant secrets where a careless log line
would copy them (a payload, an error message, a bearer token, a rejected token, a view token
in a URL, a header set of the worker's configuration, the webhook secret) and grep every log of
the stack for them."""

import glob
import os
import time

from taskq_harness import ENV, Client, TaskqTestCase, new_token, unique

PLANTED = "planted-" + unique("secret")


def read_logs():
    text = {}
    for path in glob.glob(os.path.join(ENV.var, "log", "*.log")):
        with open(path, "rb") as f:
            text[os.path.basename(path)] = f.read().decode("utf-8", "replace")
    return text


class SecretTests(TaskqTestCase):

    def test_no_token_payload_or_configured_secret_in_any_log(self):
        owner_token = new_token(unique("logs"))
        c = Client(token=owner_token)
        # a payload and a task error that carry the planted text
        ok = c.submit("sleep", {"steps": 1, "step_ms": 1, "password": PLANTED})
        self.assertEqual(ok.status, 202, str(ok))
        self.track(ok.json["id"])
        self.api.wait_for(ok.json["id"], lambda t: t["state"] == "succeeded")
        # a view token in a URL (the access log keeps its place, not it), and in the cookie
        view = ok.json.get("view_token")
        if view:
            anon = Client(token=None)
            self.assertEqual(anon.get("%s?view_token=%s" % (ok.json["id"], view)).status, 200)
            self.assertEqual(anon.get(ok.json["id"], headers={
                "Cookie": "taskq_view=%s" % view}).status, 200)
        # bad requests whose bodies hold it
        self.assertEqual(c.request("POST", "/api/tasks", body='{"kind":"%s"' % PLANTED,
                                   headers={"Content-Type": "application/json"}).status, 400)
        self.assertEqual(c.submit("noop", {}, bogus=PLANTED).status, 400)
        # a rejected token that is the planted text, and one of a token's shape
        for tok in (PLANTED, "tq_" + "Z" * 43):
            self.assertEqual(Client(token=tok).request("GET", "/api/me").status, 401)
        time.sleep(1.5)  # heartbeats, flushes
        secrets = {
            "planted payload text": PLANTED,
            "the suite's admin token": ENV.token,
            "an owner's token": owner_token,
            "a view token": view,
            "the worker's configured header value": "sekrit-from-config",
            "the webhook signing secret": os.environ.get("TASKQ_CALLBACK_SECRET") or "taskq-test-secret",
        }
        logs = read_logs()
        self.assertTrue(logs, "no logs under %s/log" % ENV.var)
        found = ["%s in %s" % (what, name) for what, s in secrets.items() if s
                 for name, text in logs.items() if s in text]
        self.assertEqual(found, [])
        self.report("%d secrets checked in %d logs (%d KB)"
                    % (len(secrets), len(logs), sum(len(t) for t in logs.values()) // 1024))
