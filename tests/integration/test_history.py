"""A task's history stored in part (sql/functions/history.sql): a plain attempt (claimed, then
succeeded) writes no row of taskq.task_events, and taskq.task_history, GET
/api/tasks/{id}/history and `taskq history` still show its `claimed` and `succeeded`, at the
row's started_at and finished_at; an attempt that ends any other way (a failure, a release, a
deferral, a cancel, a lease rescue) or a callback's outcome stores what the row implied first,
so that earlier attempts keep their worker, attempt and time once the row moves on. The queues
have no worker: the test plays the workers with taskq.claim and the other verbs, one
transaction per statement."""

import time

from taskq_harness import TaskqTestCase, api


class HistoryTests(TaskqTestCase):

    def submit(self, q, **kw):
        args = ", ".join(["'noop'", "'{}'::jsonb", "%s"] + ["%s => %%s" % k for k in kw])
        return self.db.scalar("SELECT taskq.submit(%s)::text" % args, (q, *kw.values()))

    def claim(self, q, worker, tid):
        got = self.db.query("SELECT id::text AS id, attempts, started_at FROM taskq.claim("
                            "%s, %s, 1, %s)", (worker, q, 60))
        self.assertEqual([r["id"] for r in got], [tid])
        return got[0]

    def stored(self, tid):
        return [(e["event"], e["attempt"], e["worker_id"]) for e in self.db.query(
            "SELECT event, attempt, worker_id FROM taskq.task_events WHERE task_id = %s "
            "ORDER BY id", (tid,))]

    def history(self, tid):
        """[(event, attempt, worker_id, at)] of taskq.task_history, in order."""
        rows = self.db.query("SELECT n, event, attempt, worker_id, at FROM taskq.task_history "
                             "WHERE task_id = %s ORDER BY n", (tid,))
        self.assertEqual([r["n"] for r in rows], list(range(1, len(rows) + 1)))
        return [(r["event"], r["attempt"], r["worker_id"], r["at"]) for r in rows]

    def events(self, tid):
        return [h[:3] for h in self.history(tid)]

    def test_a_plain_attempt_stores_no_event_and_its_history_is_the_rows(self):
        q = self.own_queue("hplain")
        tid = self.submit(q)
        c = self.claim(q, "h-w1", tid)
        self.assertEqual(self.stored(tid), [])
        self.assertEqual(self.history(tid), [("claimed", 1, "h-w1", c["started_at"])])
        self.assertTrue(self.db.scalar("SELECT taskq.complete(%s, 'h-w1', 1, '{}')", (tid,)))
        self.assertEqual(self.stored(tid), [], "a plain attempt stored history rows")
        row = self.db.task(tid)
        self.assertEqual(self.history(tid), [("claimed", 1, "h-w1", row["started_at"]),
                                             ("succeeded", 1, "h-w1", row["finished_at"])])
        # the API and the CLI read the same history
        r = api.request("GET", "/api/tasks/%s/history" % tid)
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual([(e["event"], e["attempt"], e["worker_id"]) for e in r.json["events"]],
                         [("claimed", 1, "h-w1"), ("succeeded", 1, "h-w1")])

    def test_a_retried_attempt_keeps_its_claim_and_the_next_one_is_implied(self):
        q = self.own_queue("hretry")
        tid = self.submit(q, max_attempts=2)
        first = self.claim(q, "h-w1", tid)
        self.assertEqual(self.db.scalar("SELECT taskq.fail(%s, 'h-w1', 1, 'boom', true, 0)::text",
                                        (tid,)), "queued")
        self.assertEqual(self.stored(tid), [("claimed", 1, "h-w1"), ("retry", 1, "h-w1")])
        self.db.query("UPDATE taskq.tasks SET run_at = now() WHERE id = %s", (tid,))
        second = self.claim(q, "h-w2", tid)
        self.assertTrue(self.db.scalar("SELECT taskq.complete(%s, 'h-w2', 2, '{}')", (tid,)))
        h = self.history(tid)
        self.assertEqual([x[:3] for x in h], [("claimed", 1, "h-w1"), ("retry", 1, "h-w1"),
                                              ("claimed", 2, "h-w2"), ("succeeded", 2, "h-w2")])
        self.assertEqual((h[0][3], h[2][3]), (first["started_at"], second["started_at"]))
        self.assertEqual(len(self.stored(tid)), 2, "the second, plain attempt stored rows")
        self.assertEqual([x[3] for x in h], sorted(x[3] for x in h))

    def test_every_other_end_of_an_attempt_stores_its_claim_first(self):
        q = self.own_queue("hends")
        # released by its worker, then deferred by a breaker, then failed for good
        tid = self.submit(q, max_attempts=1)
        self.claim(q, "h-w1", tid)
        self.assertTrue(self.db.scalar("SELECT taskq.release(%s, 'h-w1', 1)", (tid,)))
        self.claim(q, "h-w2", tid)
        self.assertTrue(self.db.scalar("SELECT taskq.defer(%s, 'h-w2', 1, now(), 'circuit open')",
                                       (tid,)))
        self.claim(q, "h-w3", tid)
        self.assertEqual(self.db.scalar("SELECT taskq.fail(%s, 'h-w3', 1, 'boom', true)::text",
                                        (tid,)), "failed")
        want = [("claimed", 1, "h-w1"), ("released", 1, "h-w1"), ("claimed", 1, "h-w2"),
                ("deferred", 1, "h-w2"), ("claimed", 1, "h-w3"), ("failed", 1, "h-w3")]
        self.assertEqual(self.stored(tid), want)
        self.assertEqual(self.events(tid), want)

    def test_a_cancel_of_a_running_task_stores_its_claim_before_the_request(self):
        q = self.own_queue("hcancel")
        acked, finished = self.submit(q), self.submit(q)
        for tid in (acked, finished):
            self.claim(q, "h-w1", tid)
            self.assertEqual(self.db.scalar("SELECT (taskq.cancel(%s)).outcome", (tid,)),
                             "requested")
            self.assertEqual(self.stored(tid), [("claimed", 1, "h-w1"),
                                                ("cancel_requested", 1, "h-w1")])
        self.assertTrue(self.db.scalar("SELECT taskq.ack_cancel(%s, 'h-w1', 1)", (acked,)))
        self.assertEqual(self.events(acked), [("claimed", 1, "h-w1"),
                                              ("cancel_requested", 1, "h-w1"),
                                              ("cancelled", 1, "h-w1")])
        # the work finished before the worker saw the request: the success is the row's
        self.assertTrue(self.db.scalar("SELECT taskq.complete(%s, 'h-w1', 1, '{}')", (finished,)))
        self.assertEqual(self.events(finished), [("claimed", 1, "h-w1"),
                                                 ("cancel_requested", 1, "h-w1"),
                                                 ("succeeded", 1, "h-w1")])
        self.assertEqual(len(self.stored(finished)), 2)

    def test_a_rescue_stores_the_lost_workers_claim(self):
        q = self.own_queue("hrescue")
        tid = self.submit(q)
        got = self.db.query("SELECT id::text AS id FROM taskq.claim('h-gone', %s, 1, 1)", (q,))
        self.assertEqual([r["id"] for r in got], [tid])
        started = self.db.task(tid)["started_at"]
        time.sleep(1.1)
        # the dev worker's own maintenance may rescue it first: either way it is queued again
        self.db.scalar("SELECT taskq.rescue()")
        self.assertEqual(self.db.task(tid)["state"], "queued")
        self.claim(q, "h-w2", tid)
        self.assertTrue(self.db.scalar("SELECT taskq.complete(%s, 'h-w2', 2, '{}')", (tid,)))
        h = self.history(tid)
        self.assertEqual([x[:3] for x in h], [("claimed", 1, "h-gone"), ("rescued", 1, None),
                                              ("claimed", 2, "h-w2"), ("succeeded", 2, "h-w2")])
        self.assertEqual(h[0][3], started)
        self.assertEqual(self.stored(tid), [("claimed", 1, "h-gone"), ("rescued", 1, None)])

    def test_a_callbacks_outcome_comes_after_the_success_it_reports(self):
        q = self.own_queue("hcb")
        tid = self.submit(q)
        self.claim(q, "h-w1", tid)
        self.assertTrue(self.db.scalar("SELECT taskq.complete(%s, 'h-w1', 1, '{}')", (tid,)))
        before = self.history(tid)
        # as if the task had a callback_url: armed by its success, delivered later
        self.db.query("UPDATE taskq.tasks SET callback_state = 'pending' WHERE id = %s", (tid,))
        self.assertEqual(self.db.scalar("SELECT taskq.callback_done(%s, true, NULL)", (tid,)),
                         "delivered")
        after = self.history(tid)
        self.assertEqual(after[:2], before)
        self.assertEqual([x[:3] for x in after[2:]], [("callback_delivered", None, None)])
        self.assertEqual(self.stored(tid), [("claimed", 1, "h-w1"), ("succeeded", 1, "h-w1"),
                                            ("callback_delivered", None, None)])

    def test_a_history_read_reaches_the_indexes_of_both_tables(self):
        """The condition on task_id reaches taskq.tasks through the view (sequential scans
        off: one that the condition did not reach would remain in the plan)."""
        tid = self.submit(self.own_queue("hplan"))
        plan = "\n".join(r["QUERY PLAN"] for r in self.db.query(
            "SET LOCAL enable_seqscan = off; EXPLAIN SELECT * FROM taskq.task_history "
            "WHERE task_id = %s ORDER BY n", (tid,)))
        self.assertNotIn("Seq Scan", plan, plan)
        self.assertIn("tasks_pkey", plan, plan)
