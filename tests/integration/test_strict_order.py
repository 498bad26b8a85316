"""Strict order per concurrency key ("ordering": "strict", sql/functions/claim.sql,
taskq.strict_head): a key's strict tasks start in submit order, across workers and within the
key's concurrency limit, and a failed one blocks its key until it is retried or cancelled.
"""

from taskq_harness import TaskqTestCase, unique, wait_until


class StrictOrderTests(TaskqTestCase):

    def setUp(self):
        super().setUp()
        self.q = self.own_queue("strict")
        self.key = unique("sk")

    def limit(self, n):
        self.db.query("INSERT INTO taskq.concurrency_limits (key, max_running) VALUES (%s, %s)",
                      (self.key, n))
        self.addCleanup(self.db.query, "DELETE FROM taskq.concurrency_limits WHERE key = %s",
                        (self.key,))

    def batch(self, payloads, **fields):
        r = self.api.request("POST", "/api/tasks/batch", json_body=[
            dict(kind="sleep", payload=p, queue=self.q, concurrency_key=self.key,
                 ordering="strict", **fields) for p in payloads])
        self.assertEqual(r.status, 202, str(r))
        return r.json["ids"]

    def state(self, tid):
        return self.db.scalar("SELECT state::text FROM taskq.tasks WHERE id = %s", (tid,))

    def test_bad_ordering_values_are_refused(self):
        for body, words in (({"ordering": "loose", "concurrency_key": "k"}, "ordering must be"),
                            ({"ordering": 1, "concurrency_key": "k"}, "ordering must be"),
                            ({"ordering": "strict"}, "needs a concurrency_key")):
            r = self.api.submit("noop", {}, queue=self.q, **body)
            self.assert_error(r, 400, "invalid_field")
            self.assertIn(words, r.json["error"]["message"])
        t = self.submit_ok("noop", {}, queue=self.q, concurrency_key=self.key, ordering="strict",
                           delay_s=3600)
        self.assertEqual(t["ordering"], "strict")
        t = self.submit_ok("noop", {}, queue=self.q, ordering=None, delay_s=3600)
        self.assertIsNone(t["ordering"])

    def test_1000_tasks_of_a_key_start_in_submit_order_across_4_workers(self):
        self.limit(4)
        ids = self.batch([{"steps": 1, "step_ms": 5}] * 1000)
        seqs = [r["strict_seq"] for r in self.db.query(
            "SELECT strict_seq FROM unnest(%s::uuid[]) WITH ORDINALITY AS a(id, o) "
            "JOIN taskq.tasks t ON t.id = a.id ORDER BY a.o", (ids,))]
        self.assertEqual(seqs, sorted(seqs), "numbered in the order of the batch")
        for i in range(4):
            self.start_worker(self.q, name="strict%d" % i, concurrency=2,
                              args=["--claim-ahead", "0"])
        wait_until(lambda: self.db.count_state(ids, "succeeded") == 1000, timeout=120,
                   what="the 1,000 tasks done")
        row = self.db.query(
            "SELECT count(*) FILTER (WHERE started_at < prev) AS overtaken, "
            "count(DISTINCT worker) AS workers, max(running) AS most_at_once FROM ("
            "SELECT started_at, lag(started_at) OVER (ORDER BY strict_seq) AS prev, "
            "split_part(worker_id, ':', 2) AS worker, (SELECT count(*) FROM taskq.tasks x "
            "WHERE x.queue = t.queue AND x.started_at <= t.started_at "
            "AND x.finished_at > t.started_at) AS running "
            "FROM taskq.tasks t WHERE queue = %s) s", (self.q,))[0]
        self.report("1,000 strict tasks of one key (limit 4) over 4 workers: %d started before "
                    "a task submitted earlier; %d workers took them, at most %d at once"
                    % (row["overtaken"], row["workers"], row["most_at_once"]))
        self.assertEqual(row["overtaken"], 0)
        self.assertGreater(row["workers"], 1)
        self.assertLessEqual(row["most_at_once"], 4)

    def test_a_failed_task_blocks_its_key_until_retried_or_cancelled(self):
        self.limit(4)
        a, b, c, d = self.batch([{"steps": 1, "step_ms": 5},
                                 {"steps": 2, "step_ms": 5, "fail_at": 1},
                                 {"steps": 1, "step_ms": 5}, {"steps": 1, "step_ms": 5}],
                                max_attempts=1)
        w = self.start_worker(self.q, concurrency=4, args=["--claim-ahead", "0"])
        wait_until(lambda: self.state(b) == "failed", timeout=30, what="b failed")
        # c and d may have started with b (the limit is 4); once b failed, nothing more starts
        wait_until(lambda: self.state(a) == "succeeded", timeout=30, what="a done")
        started_before = {t: self.state(t) for t in (c, d)}
        # a key blocked after a failure: submit one more, it waits
        e = self.batch([{"steps": 1, "step_ms": 5}])[0]
        w.stop()
        w.start()
        self.assertRaises(AssertionError, wait_until,
                          lambda: self.state(e) != "queued", timeout=2.0, what="e started")
        self.assertEqual(self.get_ok(e)["position"],
                         1 + sum(1 for s in started_before.values() if s == "queued"))
        # retried: b runs again first (and fails again); cancelled after its retry: unblocked
        w.stop()
        r = self.api.request("POST", "/api/tasks/%s/retry" % b)
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(self.get_ok(e)["position"],
                         2 + sum(1 for s in started_before.values() if s == "queued"))
        self.assertEqual(self.api.request("DELETE", "/api/tasks/%s" % b).status, 200)
        w.start()
        wait_until(lambda: self.db.count_state([c, d, e], "succeeded") == 3, timeout=30,
                   what="the rest done once b was cancelled")
        self.report("a strict task failed: the next one waited (2 s) until the failed one was "
                    "retried and then cancelled; before the failure: %s" % started_before)
