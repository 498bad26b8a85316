"""Announcing changes after the commit (sql/functions/live.sql, worker/announce.c): a session
with taskq.announce = 'later' (taskq-worker's hot connections) sends no NOTIFY from the change
trigger, so its commits never wait for the cluster-wide lock of a NOTIFYing commit, and
taskq.announce_tasks() sends the ids on taskq_task afterwards; every other session still
announces from the trigger. End to end (the worker's changes reaching long-polls and live
streams) is what test_streams, test_get and test_multitab check."""

import select
import time

import psycopg2

from taskq_harness import ENV, TaskqTestCase, unique


class AnnounceTests(TaskqTestCase):

    def setUp(self):
        super().setUp()
        self.listener = psycopg2.connect(ENV.db, connect_timeout=5)
        self.listener.autocommit = True
        self.addCleanup(self.listener.close)
        self.listener.cursor().execute("LISTEN taskq_task")
        self.conn = psycopg2.connect(ENV.db, connect_timeout=5)
        self.conn.autocommit = True
        self.addCleanup(self.conn.close)
        q = unique("announce")
        with self.conn.cursor() as cur:
            cur.execute("SELECT taskq.submit('noop', '{}'::jsonb, %s)::text", (q,))
            self.tid = self.track(cur.fetchone()[0])
        self.heard(0.3)  # whatever the submit itself announced

    def heard(self, wait_s):
        """The ids announced on taskq_task within wait_s seconds."""
        ids, deadline = [], time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if select.select([self.listener], [], [], deadline - time.monotonic())[0]:
                self.listener.poll()
                while self.listener.notifies:
                    ids += self.listener.notifies.pop(0).payload.split(",")
        return ids

    def touch(self):
        with self.conn.cursor() as cur:
            cur.execute("UPDATE taskq.tasks SET message = %s WHERE id = %s",
                        (unique("m"), self.tid))

    def test_a_session_that_announces_later_sends_nothing_from_the_trigger(self):
        with self.conn.cursor() as cur:
            cur.execute("SET taskq.announce = 'later'")
        self.touch()
        self.assertNotIn(self.tid, self.heard(0.5))
        with self.conn.cursor() as cur:
            cur.execute("SELECT taskq.announce_tasks(ARRAY[%s]::uuid[])", (self.tid,))
        self.assertIn(self.tid, self.heard(2))

    def test_other_sessions_announce_from_the_trigger(self):
        self.touch()
        self.assertIn(self.tid, self.heard(2))

    def test_announce_tasks_sends_chunks_of_200(self):
        ids = ["01234567-89ab-7def-8123-%012d" % i for i in range(450)]
        with self.conn.cursor() as cur:
            cur.execute("SELECT taskq.announce_tasks(%s::uuid[])", (ids,))
        self.listener.poll()
        got, deadline = [], time.monotonic() + 2
        while len(got) < 3 and time.monotonic() < deadline:
            select.select([self.listener], [], [], 0.2)
            self.listener.poll()
            while self.listener.notifies:
                got.append(self.listener.notifies.pop(0).payload.split(","))
        self.assertEqual([len(c) for c in got], [200, 200, 50])
        self.assertEqual(sum(got, []), ids)

    def test_rescue_announces_whoever_calls_it(self):
        with self.conn.cursor() as cur:
            cur.execute("SET taskq.announce = 'later'")
            cur.execute("SELECT prosrc LIKE '%set_config(''taskq.announce'', ''now'', true)%' "
                        "FROM pg_proc WHERE proname = 'rescue'")
            self.assertTrue(cur.fetchone()[0])
