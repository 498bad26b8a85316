"""taskq.fair_run_at (sql/functions/submit.sql): the place in line of a new task, the one rule
taskq.submit, taskq.insert_tasks and taskq-fcgi's INSERTs (lib/store/submit.c) share; a keyed
task's line is its concurrency key's. Driven in one
transaction on the stack's database (now() stays put; rolled back, nothing is left behind).
test_auth's fairness test checks the same rule end to end.
"""

import psycopg2

from taskq_harness import ENV, TaskqTestCase, unique


class FairRunAtTests(TaskqTestCase):

    def setUp(self):
        super().setUp()
        self.conn = psycopg2.connect(ENV.db, connect_timeout=5)
        self.addCleanup(self.conn.close)
        self.addCleanup(self.conn.rollback)
        self.q = unique("fairsql")

    def secs(self, expr, params=()):
        """expr - now(), in seconds (None for NULL)."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT extract(epoch FROM (%s) - now())::float8" % expr, params)
            return cur.fetchone()[0]

    def place(self, delay_s=0, fair=True, after=None, prio=0, key=None):
        if key is None:  # the signature without the key, as callers that pass none use it
            return self.secs("SELECT taskq.fair_run_at(%s, %s::smallint, %s, %s, "
                             "now() + make_interval(secs => %s))",
                             (self.q, prio, delay_s, fair, after))
        return self.secs("SELECT taskq.fair_run_at(%s, %s::smallint, %s, %s, "
                         "now() + make_interval(secs => %s), %s)",
                         (self.q, prio, delay_s, fair, after, key))

    def queued(self, at, prio=0, key=None):
        with self.conn.cursor() as cur:
            cur.execute("INSERT INTO taskq.tasks (kind, queue, priority, run_at, concurrency_key) "
                        "VALUES ('noop', %s, %s, now() + make_interval(secs => %s), %s)",
                        (self.q, prio, at, key))

    def test_not_fair_or_delayed_is_now_plus_the_delay(self):
        self.queued(-60)
        self.assertEqual(self.place(fair=False), 0)
        self.assertEqual(self.place(fair=False, after=-30), 0)
        self.assertEqual(self.place(delay_s=5, fair=False), 5)
        self.assertEqual(self.place(delay_s=5, fair=True, after=-30), 5, "a delay wins over fair")

    def test_fair_is_after_the_owners_last_place_within_the_head_and_now(self):
        # an empty line: the owner's place, or now for its first task (after NULL)
        self.assertEqual(self.place(after=None), 0)
        self.assertEqual(self.place(after=-30), -30)
        # only ready tasks without a key at this priority make the head
        self.queued(-90, key="k")
        self.queued(-80, prio=5)
        self.assertEqual(self.place(after=None), 0)
        self.queued(-60)
        self.queued(-40)
        self.assertEqual(self.place(after=None), -60, "a new owner lands at the head")
        self.assertEqual(self.place(after=-100), -60, "never before the head")
        self.assertEqual(self.place(after=-30), -30, "behind the owner's previous task")
        self.assertEqual(self.place(after=30), 0, "never after now")
        self.assertEqual(self.place(after=None, prio=5), -80)

    def test_a_keyed_task_joins_the_line_of_its_key(self):
        # a claim takes a key's tasks by priority, run_at and id: the key's line is fair too
        self.queued(-95)
        self.queued(-90, key="k")
        self.queued(-70, key="k")
        self.queued(-99, key="other")
        self.queued(-98, prio=5, key="k")
        self.assertEqual(self.place(after=None, key="k"), -90, "a new owner lands at the head")
        self.assertEqual(self.place(after=-100, key="k"), -90, "never before the head")
        self.assertEqual(self.place(after=-75, key="k"), -75, "behind the owner's previous task")
        self.assertEqual(self.place(after=30, key="k"), 0, "never after now")
        self.assertEqual(self.place(after=None, prio=5, key="k"), -98)
        self.assertEqual(self.place(after=None, key="empty"), 0, "an empty line: now")
        self.assertEqual(self.place(delay_s=5, after=-75, key="k"), 5, "a delay wins over fair")
        self.assertEqual(self.place(after=None), -95, "the plain line is the keyless tasks'")
        # a statement that inserts many (taskq.insert_tasks) looks each line's head up once
        with self.conn.cursor() as cur:
            cur.execute("SELECT extract(epoch FROM run_at - now())::float8 FROM "
                        "taskq.submit_many(%s::jsonb) ORDER BY ord",
                        ('[{"kind": "noop", "queue": "%s", "concurrency_key": "k", "fair": true},'
                         ' {"kind": "noop", "queue": "%s", "fair": true},'
                         ' {"kind": "noop", "queue": "%s", "concurrency_key": "other",'
                         ' "fair": true, "fair_after": "-infinity"}]' % (self.q, self.q, self.q),))
            self.assertEqual([r[0] for r in cur.fetchall()], [-90, -95, -99])

    def test_the_submits_use_it(self):
        with self.conn.cursor() as cur:
            # taskq.submit places its one task with fair_run_at; insert_tasks looks each queue's
            # head up once for the statement and places every row with fair_place, the rule
            # fair_run_at itself applies
            cur.execute("SELECT p.proname, p.prosrc LIKE '%taskq.fair_run_at(%', "
                        "p.prosrc LIKE '%taskq.fair_place(%' "
                        "AND p.prosrc LIKE '%taskq.fair_head(%' "
                        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                        "WHERE n.nspname = 'taskq' "
                        "AND p.proname IN ('submit', 'insert_tasks', 'fair_run_at') "
                        "ORDER BY 1")
            self.assertEqual(cur.fetchall(), [("fair_run_at", False, True),
                                              ("insert_tasks", False, True),
                                              ("submit", True, False)])
            # inlined into the caller: the plan shows the expression, not a call
            cur.execute("EXPLAIN VERBOSE SELECT taskq.fair_run_at(%s, 0::smallint, 0, false, "
                        "NULL)", (self.q,))
            plan = "\n".join(r[0] for r in cur.fetchall())
            self.assertNotIn("fair_run_at", plan)
            cur.execute("EXPLAIN VERBOSE SELECT taskq.fair_run_at(%s, 0::smallint, 0, false, "
                        "NULL, 'k')", (self.q,))
            plan = "\n".join(r[0] for r in cur.fetchall())
            self.assertNotIn("fair_run_at", plan)

    def test_the_head_is_always_an_ordered_index_scan(self):
        # fair_head's plans are kept for the session: made while the table looked empty they
        # were a sequential scan and a sort, which every submit of the next burst then ran over
        # the whole backlog. The function pins what its plans may use ...
        with self.conn.cursor() as cur:
            cur.execute("SELECT proconfig FROM pg_proc WHERE oid = "
                        "'taskq.fair_head(text, smallint, text)'::regprocedure")
            self.assertEqual(sorted(cur.fetchone()[0]), ["enable_bitmapscan=off",
                                                          "enable_seqscan=off", "enable_sort=off"])
            # ... and under those settings each line's head is the first entry of its index
            cur.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; "
                        "SET LOCAL enable_sort = off")
            head = ("EXPLAIN SELECT h.run_at FROM taskq.tasks h WHERE h.queue = %s "
                    "AND h.state = 'queued' AND {} AND h.priority = 0::smallint "
                    "ORDER BY h.priority DESC, h.run_at, h.id LIMIT 1")
            for key, index in (("h.concurrency_key IS NULL", "tasks_ready"),
                               ("h.concurrency_key = 'k'", "tasks_ready_keyed")):
                cur.execute(head.format(key), (self.q,))
                plan = "\n".join(r[0] for r in cur.fetchall())
                self.assertRegex(plan, r"Index (Only )?Scan using %s " % index)
                self.assertNotIn("Sort", plan)
                self.assertNotIn("Disabled", plan)

    def test_the_hot_functions_pin_their_plans(self):
        # the worker's statements keep their plans for the session: none of these may plan a
        # sequential scan (made while the table looked empty, it stays while it fills), and
        # the claim may only walk indexes in order, planned once
        with self.conn.cursor() as cur:
            cur.execute("SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n "
                        "ON n.oid = p.pronamespace WHERE n.nspname = 'taskq' AND p.proname IN "
                        "('claim', 'take', 'complete_many', 'fail', 'release', 'heartbeat')")
            got = {name: sorted(cfg or []) for name, cfg in cur.fetchall()}
        self.assertEqual(len(got), 6, got)
        for name, cfg in got.items():
            self.assertIn("enable_seqscan=off", cfg, name)
            self.assertIn("enable_bitmapscan=off", cfg, name)
        self.assertIn("plan_cache_mode=force_generic_plan", got["claim"])
        self.assertIn("enable_sort=off", got["claim"])
