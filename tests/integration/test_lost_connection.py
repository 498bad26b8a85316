"""A submit whose database connection dies during its statement is tried once more on a fresh
connection and answers as if nothing had happened, without ever inserting a task twice.

Two ways a connection dies under a submit, both made for real on the test stack's PostgreSQL:

- before the commit: the statement waits on a lock this test holds (a parent's row, or an
  unfinished duplicate of a dedupe key in a transaction of the test), and the test ends
  taskq-fcgi's backend with pg_terminate_backend while it waits. The first try is rolled
  back; the retry inserts everything.
- after the commit, before the answer: synchronous_standby_names names a standby that never
  answers, so that a commit waits (wait event SyncRep) after its record is written; the test
  ends the backend there. PostgreSQL says "the transaction has already committed locally" and
  closes the connection: the tasks are in, and taskq-fcgi never heard so. The retry must find
  them by their ids rather than insert them again.

Every submit path is covered: a batch (POST /api/tasks/batch), a single submit through the
group commit, one with a dedupe key, one that names a parent. Needs a superuser connection
(pg_terminate_backend of another role's backend, ALTER SYSTEM); skipped otherwise.
"""

import contextlib
import json
import os
import threading

from taskq_harness import ENV, Db, TaskqTestCase, api, unique, wait_until

N = 1000


def psycopg_conn(autocommit):
    import psycopg2
    c = psycopg2.connect(ENV.db, connect_timeout=5)
    c.autocommit = autocommit
    return c


class Request(threading.Thread):
    """One API request in a thread of its own (it waits on the database while the test acts)."""

    def __init__(self, method, path, body):
        super().__init__(daemon=True)
        self.args, self.resp, self.error = (method, path, body), None, None

    def run(self):
        method, path, body = self.args
        try:
            self.resp = api.request(method, path, json_body=body, timeout=60)
        except Exception as e:  # reported by answer()
            self.error = e

    def answer(self):
        self.join(60)
        if self.error:
            raise self.error
        if self.resp is None:
            raise AssertionError("%s %s did not answer" % self.args[:2])
        return self.resp


def fcgi_log_retries():
    """How many `event=db_retry reason=...connection lost` lines taskq-fcgi's log holds."""
    try:
        with open(os.path.join(ENV.var, "log", "fcgi.log"), "rb") as f:
            return f.read().count(b"event=db_retry reason=")
    except OSError:
        return 0


class LostConnectionTests(TaskqTestCase):

    def setUp(self):
        super().setUp()
        if not self.db.scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
            self.skipTest("needs a superuser connection to PostgreSQL")
        self.retries_before = fcgi_log_retries()

    def waiting_backend(self, event_type, event=None, timeout=20):
        """The pid of taskq-fcgi's backend that waits on event_type (and event) now."""
        def find():
            return self.db.scalar(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'taskq-fcgi'"
                " AND wait_event_type = %s AND (%s::text IS NULL OR wait_event = %s)"
                " ORDER BY backend_start DESC LIMIT 1", (event_type, event, event))
        return wait_until(find, timeout=timeout, interval=0.02,
                          what="taskq-fcgi's backend waiting on %s" % (event or event_type))

    def retry_waits(self, req, first, event_type, event=None):
        """Once the request's first backend is gone: its retry, on a new connection, waits
        for the same lock (or the request answered already: its answer tells)."""
        def seen():
            if not req.is_alive():
                return "answered"
            pid = self.db.scalar(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'taskq-fcgi'"
                " AND wait_event_type = %s AND (%s::text IS NULL OR wait_event = %s)"
                " AND pid <> %s LIMIT 1", (event_type, event, event, first))
            return pid
        return wait_until(seen, timeout=20, interval=0.02, what="the retry")

    def terminate(self, pid):
        self.assertTrue(self.db.scalar("SELECT pg_terminate_backend(%s)", (pid,)))
        wait_until(lambda: not self.db.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)),
            timeout=10, what="backend %s gone" % pid)

    @contextlib.contextmanager
    def held(self, sql, params=()):
        """sql runs in a transaction of the test's own, open until the block ends (then rolled
        back), so that what waits for its locks waits until then."""
        c = psycopg_conn(autocommit=False)
        try:
            with c.cursor() as cur:
                cur.execute(sql, params)
            yield
        finally:
            c.rollback()
            c.close()

    @contextlib.contextmanager
    def commits_wait(self):
        """Every commit that writes waits for a synchronous standby that never answers, until
        the block ends (ALTER SYSTEM, reset in any case). In force once a probe's commit is
        seen waiting (SyncRep; the setting reaches the server's processes a moment after the
        reload), which is then cancelled."""
        admin = Db()

        def probe_waits():
            probe = psycopg_conn(autocommit=True)
            pid = probe.get_backend_pid()
            # a commit waits only when its transaction wrote WAL (catalog rows here)
            t = threading.Thread(target=lambda: probe.cursor().execute(
                "CREATE TEMP TABLE taskq_sync_probe ()"), daemon=True)
            t.start()
            try:
                return wait_until(lambda: not t.is_alive() or admin.scalar(
                    "SELECT wait_event = 'SyncRep' FROM pg_stat_activity WHERE pid = %s",
                    (pid,)), timeout=5, interval=0.02) is True and t.is_alive()
            finally:
                admin.query("SELECT pg_cancel_backend(%s)", (pid,))
                t.join(10)
                probe.close()
        try:
            admin.query("ALTER SYSTEM SET synchronous_standby_names = 'taskq_test_nobody'")
            admin.query("SELECT pg_reload_conf()")
            wait_until(probe_waits, timeout=15, interval=0.1,
                       what="a commit waiting for the standby")
            yield
        finally:
            admin.query("ALTER SYSTEM RESET synchronous_standby_names")
            admin.query("SELECT pg_reload_conf()")
            admin.close()

    def assert_retried(self):
        wait_until(lambda: fcgi_log_retries() > self.retries_before, timeout=5,
                   what="taskq-fcgi's event=db_retry line")

    def assert_batch_once(self, q, r, n):
        self.assertEqual(r.status, 202, str(r))
        self.assertEqual((r.json["count"], r.json["created"]), (n, n), str(r)[:300])
        ids = r.json["ids"]
        self.assertEqual(len(set(ids)), n)
        rows = self.db.query("SELECT id::text AS id, (payload->>'i')::int AS i"
                             " FROM taskq.tasks WHERE queue = %s", (q,))
        self.assertEqual(len(rows), n, "tasks in the queue: %d, sent %d" % (len(rows), n))
        at = {row["id"]: row["i"] for row in rows}
        self.assertEqual([at.get(t) for t in ids], list(range(n)))

    def test_batch_killed_while_it_waits_lands_once(self):
        parent = self.submit_ok("noop", queue=self.own_queue("lost-parent"))["id"]
        q = self.own_queue("lost")
        tasks = [{"kind": "noop", "queue": q, "payload": {"i": i}} for i in range(N)]
        tasks[-1]["after"] = [parent]   # linked last: it waits for the parent's row lock
        with self.held("SELECT 1 FROM taskq.tasks WHERE id = %s FOR UPDATE", (parent,)):
            req = Request("POST", "/api/tasks/batch", tasks)
            req.start()
            first = self.waiting_backend("Lock")
            self.terminate(first)
            self.retry_waits(req, first, "Lock")
        r = req.answer()
        self.assert_batch_once(q, r, N)
        self.assert_retried()
        self.assertEqual(self.db.scalar(
            "SELECT pending_parents FROM taskq.tasks WHERE id = %s", (r.json["ids"][-1],)), 1)

    def test_batch_committed_but_answer_lost_lands_once(self):
        q = self.own_queue("lost")
        tasks = [{"kind": "noop", "queue": q, "payload": {"i": i}} for i in range(N)]
        with self.commits_wait():
            req = Request("POST", "/api/tasks/batch", tasks)
            req.start()
            # its commit is written and waits for the standby: the tasks are in
            self.terminate(self.waiting_backend("IPC", "SyncRep"))
        r = req.answer()
        self.assert_batch_once(q, r, N)
        self.assert_retried()

    def test_group_commit_committed_but_answer_lost_lands_once(self):
        q = self.own_queue("lost")
        with self.commits_wait():
            req = Request("POST", "/api/tasks", {"kind": "noop", "queue": q})
            req.start()
            self.terminate(self.waiting_backend("IPC", "SyncRep"))
        r = req.answer()
        self.assertEqual(r.status, 202, str(r))
        self.assertEqual(self.db.query("SELECT id::text AS id FROM taskq.tasks WHERE queue = %s",
                                       (q,)), [{"id": r.json["id"]}])
        self.assertEqual(r.json["state"], "queued")
        self.assert_retried()

    def test_dedupe_submit_killed_while_it_waits_lands_once(self):
        q = self.own_queue("lost")
        key = unique("dk")
        owner = api.request("GET", "/api/me").json.get("owner") or "anonymous"
        # an unfinished duplicate in the test's open transaction: the submit's INSERT waits
        # to learn whether it commits
        with self.held("SELECT taskq.submit('noop', '{}', %s, dedupe_key => %s, owner => %s)",
                       (q, key, owner)):
            req = Request("POST", "/api/tasks", {"kind": "noop", "queue": q, "dedupe_key": key})
            req.start()
            first = self.waiting_backend("Lock", "transactionid")
            self.terminate(first)
            self.retry_waits(req, first, "Lock", "transactionid")
        r = req.answer()
        self.assertEqual(r.status, 202, str(r))   # created: the duplicate was rolled back
        self.assertEqual(self.db.query(
            "SELECT id::text AS id, dedupe_key FROM taskq.tasks WHERE queue = %s", (q,)),
            [{"id": r.json["id"], "dedupe_key": key}])
        self.assert_retried()

    def test_submit_with_a_parent_killed_while_it_waits_lands_once(self):
        parent = self.submit_ok("noop", queue=self.own_queue("lost-parent"))["id"]
        q = self.own_queue("lost")
        with self.held("SELECT 1 FROM taskq.tasks WHERE id = %s FOR UPDATE", (parent,)):
            req = Request("POST", "/api/tasks", {"kind": "noop", "queue": q, "after": [parent]})
            req.start()
            first = self.waiting_backend("Lock")
            self.terminate(first)
            self.retry_waits(req, first, "Lock")
        r = req.answer()
        self.assertEqual(r.status, 202, str(r))
        rows = self.db.query("SELECT id::text AS id, pending_parents FROM taskq.tasks"
                             " WHERE queue = %s", (q,))
        self.assertEqual(rows, [{"id": r.json["id"], "pending_parents": 1}])
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.task_deps WHERE child = %s",
                                        (r.json["id"],)), 1)
        self.assert_retried()

    def test_sql_submit_many_with_ids_answers_a_second_call_with_the_same_tasks(self):
        q = self.own_queue("lost")
        ids = [self.db.scalar("SELECT taskq.uuid_v7()::text") for _ in range(3)]
        tasks = json.dumps([{"kind": "noop", "queue": q, "id": i} for i in ids])
        for _ in range(2):
            rows = self.db.query("SELECT id::text AS id, created FROM taskq.submit_many("
                                 "%s::jsonb, 'sqlowner')", (tasks,))
            self.assertEqual(rows, [{"id": i, "created": True} for i in ids])
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s",
                                        (q,)), 3)
        # another owner's task id is refused
        with self.assertRaises(Exception) as cm:
            self.db.query("SELECT * FROM taskq.submit_many(%s::jsonb, 'other')", (tasks,))
        self.assertIn("is taken", str(cm.exception))
