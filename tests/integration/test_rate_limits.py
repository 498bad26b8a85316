"""Rate limits on task starts (taskq.rate_limits): at most N starts in any window of the
period, across every worker daemon, enforced in the claim; a held-back task stays queued and
says why in its message."""

import time

from taskq_harness import TaskqTestCase, unique, wait_until


def max_in_window(times, period):
    """The most start times in any half-open window [t, t + period)."""
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - period:
            j += 1
        best = max(best, i - j + 1)
    return best


class RateLimitTests(TaskqTestCase):
    def limit(self, scope, name, n, per):
        self.db.query("INSERT INTO taskq.rate_limits (scope, name, max_starts, per)"
                      " VALUES (%s, %s, %s, %s) RETURNING name", (scope, name, n, per))
        self.addCleanup(lambda: self.db.query(
            "DELETE FROM taskq.rate_limits WHERE scope = %s AND name = %s RETURNING name",
            (scope, name)))

    def starts(self, ids):
        rows = self.db.query("SELECT extract(epoch FROM started_at)::float8 AS s FROM taskq.tasks"
                             " WHERE id = ANY(%s::uuid[]) AND started_at IS NOT NULL", (ids,))
        return [r["s"] for r in rows]

    def test_five_per_second_across_four_workers(self):
        q = self.own_queue("rate")
        self.limit("queue", q, 5, "1 second")
        for i in range(4):
            self.start_worker(q, name="rate%d" % i, concurrency=4).worker_id()
        ids = self.submit_many(40, "noop", {}, queue=q)
        # held back: the next in line say why
        wait_until(lambda: self.db.scalar(
            "SELECT count(*) FROM taskq.tasks WHERE queue = %s AND state = 'queued'"
            " AND message LIKE 'held back by the rate limit of queue%%'", (q,)) > 0,
            timeout=10, what="a held-back message")
        wait_until(lambda: self.db.count_state(ids, "succeeded") == 40, timeout=30,
                   what="all 40 done")
        starts = self.starts(ids)
        self.assertEqual(len(starts), 40)
        worst = max_in_window(starts, 1.0)
        self.assertLessEqual(worst, 5)
        span = max(starts) - min(starts)
        rate = (len(starts) - 5) / span if span else float("inf")  # the first 5 start at once
        workers = self.db.scalar(
            "SELECT count(DISTINCT worker_id) FROM taskq.task_history WHERE task_id = ANY(%s::uuid[])"
            " AND event = 'claimed'", (ids,))
        self.assertGreaterEqual(workers, 2)
        self.report("40 starts by %d workers: at most %d in any 1 s window (limit 5), %.2f starts/s"
                    " after the first window (limit 5/s, %.0f%%)" % (workers, worst, rate,
                                                                      rate / 5 * 100))

    def test_a_key_limit(self):
        q = self.own_queue("rate")
        key = unique("llm")
        self.limit("key", key, 3, "2 seconds")
        self.db.query("INSERT INTO taskq.concurrency_limits (key, max_running) VALUES (%s, 100)"
                      " RETURNING key", (key,))
        self.addCleanup(lambda: self.db.query(
            "DELETE FROM taskq.concurrency_limits WHERE key = %s RETURNING key", (key,)))
        self.start_worker(q, name="ratekey", concurrency=8).worker_id()
        keyed = self.submit_many(9, "noop", {}, queue=q, concurrency_key=key)
        plain = self.submit_many(5, "noop", {}, queue=q)
        wait_until(lambda: self.db.count_state(plain, "succeeded") == 5, timeout=10,
                   what="unlimited tasks beside the limited key")
        wait_until(lambda: self.db.count_state(keyed, "succeeded") == 9, timeout=30,
                   what="the keyed tasks")
        starts = self.starts(keyed)
        self.assertLessEqual(max_in_window(starts, 2.0), 3)
        self.assertGreaterEqual(max(starts) - min(starts), 4.0 - 0.2)


class RateLimitApiTests(TaskqTestCase):
    def test_http_and_cli(self):
        import os
        import subprocess
        from taskq_harness import ENV, Client, new_token

        q = unique("rl")
        r = self.api.request("PUT", "/api/rate_limits/queue/%s" % q,
                             json_body={"max_starts": 60, "per_s": 60})
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json["max_starts"], r.json["per_s"]), (60, 60))
        r = self.api.request("PUT", "/api/rate_limits/queue/%s" % q,
                             json_body={"max_starts": 30, "per_s": 1.5})
        self.assertEqual(r.status, 200, r)
        listed = {(x["scope"], x["name"]): x for x in
                  self.api.request("GET", "/api/rate_limits").json["rate_limits"]}
        self.assertEqual(listed[("queue", q)]["max_starts"], 30)
        self.assertEqual(listed[("queue", q)]["recent_starts"], 0)
        for path, body in [("/api/rate_limits/queue/%s" % q, {"max_starts": 0, "per_s": 1}),
                           ("/api/rate_limits/queue/%s" % q, {"max_starts": 5}),
                           ("/api/rate_limits/queue/%s" % q, {"max_starts": 5, "per_s": "1s"}),
                           ("/api/rate_limits/other/%s" % q, {"max_starts": 5, "per_s": 1})]:
            self.assert_error(self.api.request("PUT", path, json_body=body), 400, "invalid_field")
        owner = Client(token=new_token(unique("o")))
        self.assertEqual(owner.request("GET", "/api/rate_limits").status, 403)
        self.assertEqual(self.api.request("DELETE", "/api/rate_limits/queue/%s" % q).status, 204)
        self.assert_error(self.api.request("DELETE", "/api/rate_limits/queue/%s" % q), 404,
                          "not_found")
        exe = os.path.join(ENV.build, "taskq")
        run = lambda *a: subprocess.run([exe, "--db", ENV.db] + list(a), capture_output=True,
                                        text=True, timeout=30)
        r = run("limit", "set", "key", q, "5", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("at most 5 starts per 1 s", r.stdout)
        self.assertIn(q, run("limit", "list").stdout)
        self.assertEqual(run("limit", "set", "key", q, "0", "1").returncode, 65)  # EX_DATAERR
        self.assertEqual(run("limit", "rm", "key", q).returncode, 0)
        self.assertEqual(run("limit", "rm", "key", q).returncode, 3)
