"""Chains from SQL and their concurrency (sql/functions/chains.sql), driven transaction by
transaction on the stack's database: taskq.submit(after => ...), taskq.submit_many with
indexes, two parents finishing in two transactions at once, a child submitted while its parent
finishes (both orders), the heartbeat beside a submitter holding a parent, a long cascade,
retry of a cancelled child, and a completion's follow-ups under fencing. The queues used have
no worker: the test plays the worker with taskq.claim / taskq.complete / taskq.fail.
"""

import json
import threading
import time

import psycopg2

from taskq_harness import ENV, TaskqTestCase, wait_until
from taskq_faults import events_of


class Conn:
    """One psycopg2 connection with explicit transactions (autocommit off)."""

    def __init__(self):
        self.c = psycopg2.connect(ENV.db, connect_timeout=5)
        with self.c.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            self.pid = cur.fetchone()[0]

    def one(self, sql, params=()):
        with self.c.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0] if cur.description else None

    def commit(self):
        self.c.commit()

    def rollback(self):
        self.c.rollback()

    def close(self):
        self.c.close()

    def discard(self):
        """Rolls back and closes, whatever state the connection is in."""
        try:
            self.c.rollback()
            self.c.close()
        except Exception:  # noqa: BLE001
            pass


class Later(threading.Thread):
    """Runs fn() in a thread; join() returns its value (or raises its exception)."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.value, self.error = fn, None, None
        self.start()

    def run(self):
        try:
            self.value = self.fn()
        except Exception as e:  # noqa: BLE001 - handed to the test
            self.error = e

    def result(self, timeout=15):
        self.join(timeout)
        if self.is_alive():
            raise AssertionError("still blocked after %ss" % timeout)
        if self.error:
            raise self.error
        return self.value


class ChainSqlTests(TaskqTestCase):

    def conn(self):
        c = Conn()
        self.cleanup_first(c.discard)
        return c

    def submit(self, kind="noop", queue=None, after=None, policy=None):
        return self.db.scalar("SELECT taskq.submit(%s, queue => %s, after => %s::uuid[], "
                              "after_policy => %s)::text", (kind, queue, after, policy))

    def claim(self, q, k=1, worker="t-worker"):
        return [r["id"] for r in self.db.query(
            "SELECT id::text AS id FROM taskq.claim(%s, %s, %s, 60)", (worker, q, k))]

    def blocked_on(self, pid):
        """True once backend pid waits for a lock."""
        return wait_until(lambda: self.db.scalar(
            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", (pid,)),
            timeout=10, what="backend %s waiting for a lock" % pid)

    def parents(self, tid):
        return self.db.scalar("SELECT parents::text[] FROM taskq.tasks WHERE id = %s", (tid,))

    def unblocked_events(self, tid):
        return [e["event"] for e in events_of([tid])[tid]].count("unblocked")

    # ---- the SQL API ------------------------------------------------------------------------

    def test_submit_with_after_from_sql(self):
        q = self.own_queue("sqlafter")
        p = self.submit(queue=q)
        c = self.submit(queue=q, after=[p])
        row = self.db.task(c)
        self.assertEqual((row["state"], row["pending_parents"], self.parents(c),
                          row["after_policy"], row["message"]),
                         ("queued", 1, [p], "success", "waiting for 1 of 1 parent"))
        self.assertEqual(self.db.scalar("SELECT run_at = 'infinity' FROM taskq.tasks WHERE id = %s",
                                        (c,)), True)
        self.assertTrue(self.db.task(p)["has_children"])
        self.assertEqual(self.get_ok(c)["blocked"], True)
        # a whole DAG in one statement: indexes name earlier elements
        rows = self.db.query(
            "SELECT ord, id::text AS id, created, run_at = 'infinity' AS blocked "
            "FROM taskq.submit_many(%s::jsonb, 'sql-owner')",
            ('[{"kind":"noop","queue":"%s"},{"kind":"noop","queue":"%s","after":[0,"%s"]},'
             '{"kind":"noop","queue":"%s","after":[1],"after_policy":"always"}]' % (q, q, p, q),))
        self.assertEqual([(r["ord"], r["created"], r["blocked"]) for r in rows],
                         [(0, True, False), (1, True, True), (2, True, True)])
        mid = self.db.task(rows[1]["id"])
        self.assertEqual(self.parents(rows[1]["id"]), [rows[0]["id"], p])
        self.assertEqual(mid["owner"], "sql-owner")
        with self.assertRaises(psycopg2.Error) as cm:
            self.submit(queue=q, after=["01a20000-0000-7000-8000-000000000000"])
        self.assertEqual(cm.exception.pgcode, "22023")
        self.assertIn("no such parent task", str(cm.exception))
        with self.assertRaises(psycopg2.Error) as cm:
            self.db.query("SELECT * FROM taskq.submit_many(%s::jsonb, 'x', true, 'someone-else')",
                          ('[{"kind":"noop","queue":"%s","after":["%s"]}]' % (q, p),))
        self.assertIn("tasks[0]: no such parent task " + p, str(cm.exception))

    # ---- concurrency ------------------------------------------------------------------------

    def test_two_parents_finishing_at_once_release_the_child_once(self):
        """Both parents complete in two open transactions; the second waits for the child's
        row, then re-reads the count under the lock: one release, by the last parent."""
        for outcome in ("commit", "rollback"):
            with self.subTest(first=outcome):
                q, cq = self.own_queue("two"), self.own_queue("two-child")
                p1, p2 = self.submit(queue=q), self.submit(queue=q)
                child = self.submit(queue=cq, after=[p1, p2])
                self.assertEqual(sorted(self.claim(q, 2)), sorted([p1, p2]))
                a, b = self.conn(), self.conn()
                self.assertTrue(a.one("SELECT taskq.complete(%s, 't-worker', 1, '{}')", (p1,)))
                later = Later(lambda: (b.one("SELECT taskq.complete(%s, 't-worker', 1, '{}')",
                                             (p2,)), b.commit()))
                self.blocked_on(b.pid)
                getattr(a, outcome)()
                later.result()
                row = self.db.task(child)
                if outcome == "commit":
                    self.assertEqual((row["pending_parents"], row["message"]), (0, None), row)
                    self.assertEqual(row["run_at"], self.db.task(p2)["finished_at"])
                    self.assertEqual(self.unblocked_events(child), 1)
                else:  # the first parent did not finish after all: still one to wait for
                    self.assertEqual((row["pending_parents"], row["message"]),
                                     (1, "waiting for 1 of 2 parents"), row)
                    self.assertEqual(self.unblocked_events(child), 0)
                    self.assertEqual(self.db.scalar(
                        "SELECT array_agg(parent::text) FROM taskq.task_deps WHERE child = %s",
                        (child,)), [p1])

    def test_child_submitted_while_its_parent_finishes(self):
        q, cq = self.own_queue("race"), self.own_queue("race-child")
        # the parent's completion first: the submit waits for it, then sees it succeeded
        p = self.submit(queue=q)
        self.claim(q)
        a, b = self.conn(), self.conn()
        a.one("SELECT taskq.complete(%s, 't-worker', 1, '{}')", (p,))
        later = Later(lambda: (b.one("SELECT taskq.submit('noop', queue => %s, "
                                     "after => ARRAY[%s]::uuid[])::text", (cq, p)), b.commit()))
        self.blocked_on(b.pid)
        a.commit()
        child = later.result()[0]
        row = self.db.task(child)
        self.assertEqual((row["pending_parents"], row["message"], row["state"]), (0, None, "queued"))
        self.assertLess(row["run_at"].year, 9999)
        # the submit first: the completion waits for it, then sees the new edge
        p = self.submit(queue=q)
        self.claim(q)
        b.one("SELECT taskq.submit('noop', queue => %s, after => ARRAY[%s]::uuid[])::text", (cq, p))
        child = b.one("SELECT id::text FROM taskq.tasks WHERE %s = ANY(parents)", (p,))
        later = Later(lambda: (a.one("SELECT taskq.complete(%s, 't-worker', 1, '{}')", (p,)),
                               a.commit()))
        self.blocked_on(a.pid)
        b.commit()
        later.result()
        row = self.db.task(child)
        self.assertEqual((row["pending_parents"], row["message"]), (0, None), row)
        self.assertEqual(self.unblocked_events(child), 1)

    def test_heartbeat_skips_a_parent_held_by_a_submitter(self):
        q = self.own_queue("hb")
        p, other = self.submit(queue=q), self.submit(queue=q)
        self.claim(q, 2, worker="t-hb")
        b = self.conn()
        b.one("SELECT taskq.submit('noop', queue => %s, after => ARRAY[%s]::uuid[])", (q, p))
        hb = self.conn()
        hb.one("SET statement_timeout = '3s'")
        t0 = time.monotonic()
        renewed = hb.one(
            "SELECT array_agg(id::text) FROM taskq.heartbeat('t-hb', 60, %s::uuid[], "
            "ARRAY[1, 1], 'h', 1, 'v', %s, 2, NULL)", ([p, other], q))
        hb.commit()
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assertEqual(renewed, [other])
        b.commit()
        self.db.query("SELECT taskq.worker_exit('t-hb')")

    # ---- cascades, retries, follow-ups ---------------------------------------------------------

    def test_failure_cascades_down_a_long_chain(self):
        """300 tasks each after the previous one: the head's failure cancels all of them in
        one statement (level by level, not by trigger recursion)."""
        q, cq = self.own_queue("head"), self.own_queue("long")
        head = self.submit(queue=q)
        n = 300
        tasks = [{"kind": "noop", "queue": cq, "after": [head]}] + [
            {"kind": "noop", "queue": cq, "after": [i]} for i in range(n - 1)]
        ids = [r["id"] for r in self.db.query(
            "SELECT id::text AS id FROM taskq.submit_many(%s::jsonb)", (json.dumps(tasks),))]
        self.claim(q)
        self.assertEqual(self.db.scalar("SELECT taskq.fail(%s, 't-worker', 1, 'boom', false)",
                                        (head,)), "failed")
        self.assertEqual(self.db.count_state(ids, "cancelled"), n)
        last = self.db.task(ids[-1])
        self.assertTrue(last["error"].startswith("parent %s cancelled: parent " % ids[-2]))
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM taskq.task_events WHERE task_id = ANY(%s::uuid[]) "
            "AND event = 'cancelled'", (ids,)), n)

    def test_retried_child_waits_for_the_parents_still_unfinished(self):
        q, cq = self.own_queue("rq"), self.own_queue("rq-child")
        bad = self.submit(queue=q)
        self.claim(q)
        slow = self.submit(queue=q)
        child = self.submit(queue=cq, after=[bad, slow])
        self.db.query("SELECT taskq.fail(%s, 't-worker', 1, 'boom', false)", (bad,))
        row = self.db.task(child)
        self.assertEqual((row["state"], row["error"]), ("cancelled", "parent %s failed: boom" % bad))
        self.assertEqual(self.db.scalar("SELECT (taskq.retry(%s)).outcome", (child,)), "queued")
        row = self.db.task(child)
        self.assertEqual((row["state"], row["pending_parents"], row["message"]),
                         ("queued", 1, "waiting for 1 of 2 parents"))
        self.assertEqual(self.get_ok(child)["blocked"], True)
        self.claim(q)
        self.db.query("SELECT taskq.complete(%s, 't-worker', 1, '{}')", (slow,))
        row = self.db.task(child)
        self.assertEqual((row["state"], row["pending_parents"], row["message"]), ("queued", 0, None))
        self.assertLess(row["run_at"].year, 9999)

    def test_followups_exactly_once_under_fencing(self):
        """A completion whose attempt was rescued meanwhile records nothing and enqueues
        nothing; the current attempt's completion enqueues once; repeating it changes nothing."""
        q, fq = self.own_queue("fence"), self.own_queue("fence-next")
        p = self.submit(queue=q)
        res = '{"enqueue": [{"kind": "noop", "queue": "%s"}, {"kind": "noop", "queue": "%s"}]}' % (fq, fq)
        self.claim(q, worker="t-old")
        # the lease runs out: rescued and claimed again (attempt 2)
        self.db.query("UPDATE taskq.tasks SET lease_until = now() - interval '1 second' "
                      "WHERE id = %s", (p,))
        self.db.query("SELECT taskq.rescue()")
        self.assertEqual(self.claim(q, worker="t-new"), [p])
        self.assertFalse(self.db.scalar("SELECT taskq.complete(%s, 't-old', 1, %s)", (p, res)))
        count = "SELECT count(*) FROM taskq.tasks WHERE queue = %s"
        self.assertEqual(self.db.scalar(count, (fq,)), 0)
        self.assertTrue(self.db.scalar("SELECT taskq.complete(%s, 't-new', 2, %s)", (p, res)))
        self.assertEqual(self.db.scalar(count, (fq,)), 2)
        for worker, att in (("t-new", 2), ("t-old", 1)):
            self.assertFalse(self.db.scalar("SELECT taskq.complete(%s, %s, %s, %s)",
                                            (p, worker, att, res)))
        self.assertEqual(self.db.scalar(count, (fq,)), 2)
        # the batched verb too
        p2 = self.submit(queue=q)
        self.claim(q, worker="t-new")
        for _ in range(2):
            self.db.query("SELECT taskq.complete_many('t-new', ARRAY[%s]::uuid[], ARRAY[1], %s::jsonb)",
                          (p2, "[%s]" % res))
        self.assertEqual(self.db.scalar(count, (fq,)), 4)
        self.assertEqual(len(self.db.task(p2)["result"]["enqueued"]), 2)
