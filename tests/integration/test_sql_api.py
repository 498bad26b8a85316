"""The SQL API: applications may submit from their own transactions with taskq.submit()."""

import psycopg2

from taskq_harness import TaskqTestCase, unique


class SqlApiTests(TaskqTestCase):

    def test_submit_from_sql_returns_id_seen_over_http(self):
        q = unique("q")
        tid = self.db.scalar("SELECT taskq.submit('noop', '{\"a\": 1}'::jsonb, %s)::text", (q,))
        self.assertIsNotNone(tid)
        self.track(tid)
        t = self.get_ok(tid)
        self.assertEqual((t["kind"], t["queue"], t["payload"], t["state"]),
                         ("noop", q, {"a": 1}, "queued"))

    def test_submit_from_sql_dedupe_returns_existing_id(self):
        q, dk = unique("q"), unique("dk")
        sql = "SELECT taskq.submit('noop', '{}'::jsonb, %s, dedupe_key => %s)::text"
        a = self.db.scalar(sql, (q, dk))
        self.track(a)
        b = self.db.scalar(sql, (q, dk))
        self.assertEqual(a, b)
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE dedupe_key = %s",
                                        (dk,)), 1)

    def test_submit_from_sql_unknown_kind_raises(self):
        with self.assertRaises(psycopg2.Error) as cm:
            self.db.query("SELECT taskq.submit('no_such_kind_%s')" % unique("k").replace("-", "_"))
        self.assertEqual(cm.exception.pgcode, "22023", str(cm.exception))
