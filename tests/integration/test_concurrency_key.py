"""concurrency_key: at most K tasks with one key run at once, across every worker daemon.

Four extra worker daemons (8 executors each) serve one queue holding ~100 short tasks: some
with key k1 (no row in taskq.concurrency_limits: limit 1), some with k2 (a row says 2), the
rest without a key. The limits are checked from every run's interval (the `claimed` event to
the event that ended the run, and started_at..finished_at of the last attempt) and from
sampling taskq.tasks while they run; no task runs twice; all succeed.
"""

import random
import time

from taskq_harness import (TaskqTestCase, Sampler, claim_intervals, max_overlap, unique,
                           wait_final)

WORKERS = 4
N_K1, N_K2, N_FREE = 16, 24, 60
PAYLOAD = {"steps": 2, "step_ms": 100}    # 0.2 s
# back-to-back runs of one key can touch by a few ms: `at`/started_at are transaction start
# times, so a claim may be stamped a moment before the previous run's end commits
SLACK = 0.05


class ConcurrencyKeyTests(TaskqTestCase):

    def test_key_limits_hold_across_four_workers(self):
        q = self.own_queue("ck")
        k1, k2 = unique("k1"), unique("k2")
        self.db.query("INSERT INTO taskq.concurrency_limits (key, max_running) VALUES (%s, 2)",
                      (k2,))
        self.addCleanup(self.db.query, "DELETE FROM taskq.concurrency_limits WHERE key = %s",
                        (k2,))
        ws = [self.start_worker(q, name="ck-%d" % i, lease=3, concurrency=8)
              for i in range(WORKERS)]
        for w in ws:
            w.worker_id()
        keys = [k1] * N_K1 + [k2] * N_K2 + [None] * N_FREE
        random.Random(7).shuffle(keys)
        sample_sql = ("SELECT coalesce(json_object_agg(coalesce(concurrency_key, '-'), n), '{}') "
                      "FROM (SELECT concurrency_key, count(*) AS n FROM taskq.tasks "
                      "WHERE queue = %s AND state = 'running' GROUP BY 1) x")
        t0 = time.monotonic()
        with Sampler(sample_sql, (q,), interval=0.02) as s:
            # one transaction, one wake-up: all four workers race for the same ready rows
            rows = self.db.query(
                "SELECT taskq.submit('sleep', %s::jsonb, %s, concurrency_key => k)::text AS id, "
                "k FROM unnest(%s::text[]) WITH ORDINALITY AS u(k, i) ORDER BY i",
                ('{"steps": 2, "step_ms": 100}', q, keys))
            ids = [r["id"] for r in rows]
            t = wait_final(ids, timeout=60)
        took = time.monotonic() - t0
        self.assertEqual((t.lost, t.unfinished), (0, 0), str(t))
        self.assertIsNotNone(t.events, str(t))
        self.assertEqual(t.twice, {}, str(t))
        self.assertEqual(t.not_once_succeeded(), [], str(t))

        key_of = {r["id"]: r["k"] for r in rows}
        by_key = {k1: [], k2: [], None: []}
        for tid, evs in t.events.items():
            by_key[key_of[tid]] += [(s_, e) for s_, e, _, _ in claim_intervals(evs)]
        final = self.db.query(
            "SELECT concurrency_key AS k, extract(epoch FROM started_at)::float8 AS s, "
            "extract(epoch FROM finished_at)::float8 AS e FROM taskq.tasks "
            "WHERE id = ANY(%s::uuid[])", (ids,))
        figures = {}
        for name, key, limit in (("k1", k1, 1), ("k2", k2, 2)):
            ev_iv = by_key[key]
            row_iv = [(r["s"], r["e"]) for r in final if r["k"] == key]
            sampled = max((v.get(key, 0) for v in s.values if isinstance(v, dict)), default=0)
            over = {"events": max_overlap(ev_iv, SLACK), "rows": max_overlap(row_iv, SLACK),
                    "sampled": sampled}
            raw = max(max_overlap(ev_iv), max_overlap(row_iv))
            figures[name] = "%s max %d (raw %d, sampled %d)" % (name, max(over.values()), raw,
                                                                 sampled)
            with self.subTest(key=name, limit=limit):
                self.assertLessEqual(max(over.values()), limit,
                                     "%s ran more than %d at once: %s" % (name, limit, over))
                # and the limit is a limit, not a serialisation: k2 does run two at once
                self.assertEqual(max(over["events"], sampled), limit,
                                 "%s never reached its limit %d: %s" % (name, limit, over))
        free = max_overlap(by_key[None], SLACK)
        self.assertGreater(free, 2, "tasks without a key did not run in parallel")
        self.assertGreater(len(s.values), 10, "sampler errors: %d" % s.errors)
        self.assertTrue(all(w.alive for w in ws), [w.log_tail() for w in ws if not w.alive])
        self.report("%s; %d workers x 8; %s; unkeyed max %d at once; all done in %.1fs" % (
            t.figures(), WORKERS, ", ".join(figures.values()), free, took))

    def test_key_limit_holds_across_queues_and_default_is_one(self):
        """The limit is per key, not per queue: two queues, one key, two workers."""
        qa, qb = self.own_queue("cka"), self.own_queue("ckb")
        key = unique("kx")
        wa = self.start_worker(qa, name="cka", lease=3, concurrency=4)
        wb = self.start_worker(qb, name="ckb", lease=3, concurrency=4)
        wa.worker_id()
        wb.worker_id()
        ids = []
        for q in (qa, qb):
            ids += [self.submit_ok("sleep", PAYLOAD, queue=q, concurrency_key=key)["id"]
                    for _ in range(5)]
        t = wait_final(ids, timeout=30)
        self.assertEqual(t.not_once_succeeded(), [], str(t))
        iv = [(s_, e) for evs in t.events.values() for s_, e, _, _ in claim_intervals(evs)]
        self.assertEqual(max_overlap(iv, SLACK), 1,
                         "one key, no limits row: more than one ran at once")
        self.report("%s; max %d at once (raw %d)" % (t.figures(), max_overlap(iv, SLACK),
                                                     max_overlap(iv)))

    def test_priority_orders_keyed_and_unkeyed_tasks_alike(self):
        """'higher priority runs first' holds whether or not a task has a key: one executor,
        an unkeyed task of priority 10 and a keyed one of priority 0, both ready."""
        q = self.own_queue("ckp")
        hi = self.submit_ok("sleep", {"steps": 1, "step_ms": 10}, queue=q, priority=10)
        lo = self.submit_ok("sleep", {"steps": 1, "step_ms": 10}, queue=q, priority=0,
                            concurrency_key=unique("kp"))
        self.start_worker(q, name="ckp", lease=3, concurrency=1).worker_id()
        t = wait_final([hi["id"], lo["id"]], timeout=15)
        self.assertEqual(t.not_once_succeeded(), [], str(t))
        first = self.db.scalar(
            "SELECT task_id::text FROM taskq.task_history WHERE task_id = ANY(%s::uuid[]) "
            "AND event = 'claimed' ORDER BY at LIMIT 1", ([hi["id"], lo["id"]],))
        self.assertEqual(first, hi["id"], "the keyed priority-0 task ran before the unkeyed "
                         "priority-10 one")
