"""Admin SQL: retention (taskq.prune, taskq.purge, the workers' own pruning), the fleet table
taskq.workers, the admin views and the cancel/retry functions with their events."""

import datetime
import socket
import uuid

import psycopg2

from taskq_harness import (TaskqTestCase, ENV, FINAL_STATES, api, events_of, wait_until)


def sorted_desc(xs):
    return all(a >= b for a, b in zip(xs, xs[1:]))


class RetentionTests(TaskqTestCase):

    def fixture(self, q, age):
        """On an unserved queue: 4 finished tasks aged `age`, 2 finished just now, 2 queued
        ones created `age` ago. Returns (old, recent, queued) id lists."""
        ids = [self.db.scalar("SELECT taskq.submit('noop', '{}'::jsonb, %s)::text", (q,))
               for _ in range(8)]
        for tid in ids[:6]:
            self.assertEqual(self.db.scalar("SELECT (taskq.cancel(%s)).outcome", (tid,)),
                             "cancelled")
        old, recent, queued = ids[:4], ids[4:6], ids[6:]
        self.db.query("UPDATE taskq.tasks SET finished_at = now() - %s::interval, "
                      "created_at = now() - %s::interval WHERE id = ANY(%s::uuid[])",
                      (age, age, old))
        self.db.query("UPDATE taskq.tasks SET created_at = now() - %s::interval "
                      "WHERE id = ANY(%s::uuid[])", (age, queued))
        return old, recent, queued

    def count(self, ids):
        return (self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE id = ANY(%s::uuid[])",
                               (ids,)),
                self.db.scalar("SELECT count(*) FROM taskq.task_events "
                               "WHERE task_id = ANY(%s::uuid[])", (ids,)))

    def assert_pruned(self, old, recent, queued):
        self.assertEqual(self.count(old), (0, 0), "old finished tasks or their events remain")
        self.assertEqual(self.count(recent), (2, 2), "recent finished tasks were pruned")
        self.assertEqual(self.count(queued)[0], 2, "unfinished tasks were pruned")

    def test_prune_deletes_old_finished_tasks_and_their_events(self):
        old, recent, queued = self.fixture(self.own_queue("pr"), "2 hours")
        self.assertEqual(self.count(old), (4, 4))
        n = self.db.scalar("SELECT taskq.prune('1 hour')")
        self.assertGreaterEqual(n, 4)
        self.assert_pruned(old, recent, queued)
        self.assertEqual(self.db.scalar("SELECT taskq.prune('1 hour')"), 0, "pruned twice")
        self.report("prune('1 hour') deleted %d" % n)

    def test_purge_deletes_everything_finished_older_than(self):
        old, recent, queued = self.fixture(self.own_queue("pu"), "3 days")
        n = self.db.scalar("SELECT taskq.purge('2 days')")
        self.assertGreaterEqual(n, 4)
        self.assert_pruned(old, recent, queued)

    def test_worker_maintenance_prunes_with_retention_h(self):
        q = self.own_queue("rh")
        old, recent, queued = self.fixture(q, "3 hours")
        self.start_worker(q, name="retention", concurrency=1, args=["--retention-h", "2"])
        wait_until(lambda: self.count(old)[0] == 0, timeout=15,
                   what="a worker with --retention-h 2 pruning 3 h old tasks")
        self.assert_pruned(old, recent, queued)


class FleetTests(TaskqTestCase):

    def test_workers_row_heartbeat_running_and_exit(self):
        q = self.own_queue("fleet")
        w = self.start_worker(q, name="fleet", lease=3, concurrency=5)
        wid = w.worker_id()
        # the row comes with the first heartbeat, a moment after the start line
        wait_until(lambda: self.db.query("SELECT 1 FROM taskq.workers WHERE id = %s", (wid,)),
                   timeout=10, what="a taskq.workers row for %s" % wid)
        row = self.db.query("SELECT * FROM taskq.workers WHERE id = %s", (wid,))
        self.assertEqual(len(row), 1, "no taskq.workers row for %s" % wid)
        row = row[0]
        self.assertEqual(row["pid"], w.pid)
        self.assertEqual(row["concurrency"], 5)
        self.assertIn(q, row["queues"])
        self.assertEqual(row["host"], socket.gethostname())
        self.assertTrue(row["version"])
        self.assertLessEqual(row["started_at"], row["last_seen"])
        seen = [row["last_seen"]]

        def advanced():
            v = self.db.scalar("SELECT last_seen FROM taskq.workers WHERE id = %s", (wid,))
            if v is not None and v > seen[-1]:
                seen.append(v)
            return len(seen) >= 3
        wait_until(advanced, timeout=6, what="last_seen advancing twice (lease 3: every 1 s)")
        beat = (seen[2] - seen[1]).total_seconds()
        self.assertLess(beat, 2.0, "heartbeat every %.1fs with --lease 3" % beat)
        t = self.submit_ok("sleep", {"steps": 50, "step_ms": 100}, queue=q)
        wait_until(lambda: self.db.scalar("SELECT running FROM taskq.workers WHERE id = %s",
                                          (wid,)) == 1, timeout=5, what="running = 1")
        self.assertEqual(api.delete(t["id"]).status, 202)
        api.wait_for(t["id"], FINAL_STATES, timeout=5)
        rc, took = w.terminate(timeout=15)
        self.assertEqual(rc, 0, w.log_tail())
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.workers WHERE id = %s",
                                        (wid,)), 0, "row still there after a clean exit")
        self.report("heartbeat every %.2fs; exit 0 %.2fs after SIGTERM, row deleted" % (
            beat, took))


    def test_stale_worker_rows_are_deleted_by_maintenance(self):
        """Rows not seen for 5 minutes go, removed by any live worker's maintenance."""
        stale, fresh = "stale-" + uuid.uuid4().hex[:8], "fresh-" + uuid.uuid4().hex[:8]
        self.addCleanup(self.db.query, "DELETE FROM taskq.workers WHERE id IN (%s, %s)",
                        (stale, fresh))
        for wid, age in ((stale, "6 minutes"), (fresh, "4 minutes")):
            self.db.query("INSERT INTO taskq.workers (id, host, pid, version, queues, "
                          "concurrency, started_at, last_seen) VALUES (%s, 'gone.invalid', 1, "
                          "'0', 'nowhere', 1, now() - interval '1 hour', now() - %s::interval)",
                          (wid, age))
        self.start_worker(self.own_queue("maint"), name="maint", concurrency=1).worker_id()
        wait_until(lambda: self.db.scalar("SELECT count(*) FROM taskq.workers WHERE id = %s",
                                          (stale,)) == 0, timeout=8,
                   what="the 6-minute-old worker row deleted")
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.workers WHERE id = %s",
                                        (fresh,)), 1, "a 4-minute-old row was deleted")


class AdminViewTests(TaskqTestCase):

    def test_views_shape_and_rows(self):
        q = self.own_queue("views")
        wid = self.start_worker(q, name="views", concurrency=2).worker_id()
        failed = self.submit_ok("sleep", {"steps": 1, "step_ms": 10, "fail_at": 1}, queue=q,
                                max_attempts=1)
        api.wait_for(failed["id"], "failed", timeout=15)
        running = self.submit_ok("sleep", {"steps": 100, "step_ms": 100}, queue=q)
        queued = self.submit_ok("noop", queue=q, delay_s=3600)
        api.wait_for(running["id"], lambda x: x["state"] == "running" and x["progress"] > 0,
                     timeout=15)
        d = self.db
        cols = {v: d.columns("taskq." + v)
                for v in ("queue_stats", "running", "stuck", "recent_failures")}
        self.assertEqual(cols["queue_stats"][:4], ["queue", "state", "count", "oldest_age"])
        self.assertEqual(cols["running"][:10], [
            "id", "kind", "queue", "worker_id", "attempts", "progress", "message", "started_at",
            "lease_until", "running_for"])
        self.assertEqual(cols["recent_failures"][:6], [
            "id", "kind", "queue", "attempts", "error", "finished_at"])
        self.assertEqual(cols["stuck"][:4], ["id", "kind", "queue", "worker_id"])
        self.assertIn("reason", cols["stuck"])

        qs = {r["state"]: r for r in d.query("SELECT queue, state::text AS state, count, "
                                              "oldest_age FROM taskq.queue_stats "
                                              "WHERE queue = %s", (q,))}
        self.assertEqual({s: r["count"] for s, r in qs.items()},
                         {"queued": 1, "running": 1, "failed": 1})
        for r in qs.values():
            self.assertIsInstance(r["oldest_age"], datetime.timedelta)
            self.assertGreaterEqual(r["oldest_age"], datetime.timedelta(0))
        run = d.query("SELECT * FROM taskq.running WHERE id = %s", (running["id"],))
        self.assertEqual(len(run), 1)
        self.assertEqual((run[0]["worker_id"], run[0]["attempts"], run[0]["kind"]),
                         (wid, 1, "sleep"))
        self.assertGreater(run[0]["running_for"], datetime.timedelta(0))
        self.assertGreater(run[0]["progress"], 0)
        self.assertEqual(d.query("SELECT id FROM taskq.running WHERE id = %s",
                                 (queued["id"],)), [])
        self.assertEqual(d.query("SELECT id FROM taskq.stuck WHERE queue = %s", (q,)), [],
                         "a healthy running task is listed as stuck")
        rf = d.query("SELECT * FROM taskq.recent_failures")
        self.assertTrue(sorted_desc([r["finished_at"] for r in rf]), "not newest first")
        mine = [r for r in rf if str(r["id"]) == failed["id"]]
        self.assertEqual(len(mine), 1)
        self.assertIn("failed at step 1", mine[0]["error"])
        self.assertEqual(mine[0]["attempts"], 1)

    def test_stuck_lists_expired_leases_and_overdue_tasks(self):
        """Two fabricated stuck rows, inside a transaction that is rolled back (so no
        worker's rescue sees them)."""
        q = "stuck-" + uuid.uuid4().hex[:12]
        conn = psycopg2.connect(ENV.db)
        try:
            cur = conn.cursor()
            ids = []
            for _ in range(3):
                cur.execute("SELECT taskq.submit('noop', '{}'::jsonb, %s)::text", (q,))
                ids.append(cur.fetchone()[0])
            cur.execute("UPDATE taskq.tasks SET state = 'running', worker_id = 'fake', "
                        "attempts = 1, started_at = now() - interval '10 minutes', "
                        "lease_until = CASE id WHEN %s::uuid THEN now() - interval '1 minute' "
                        "ELSE now() + interval '1 minute' END, "
                        "timeout_s = CASE id WHEN %s::uuid THEN 60 ELSE NULL END "
                        "WHERE id = ANY(%s::uuid[])", (ids[0], ids[1], ids))
            cur.execute("SELECT id::text, worker_id, reason FROM taskq.stuck WHERE queue = %s",
                        (q,))
            got = {r[0]: r for r in cur.fetchall()}
        finally:
            conn.rollback()
            conn.close()
        self.assertEqual(set(got), {ids[0], ids[1]}, "expired lease and overdue listed, "
                         "a running task with a live lease and no timeout not")
        self.assertEqual(got[ids[0]][1], "fake")
        self.assertTrue(got[ids[0]][2] and got[ids[1]][2])
        self.assertNotEqual(got[ids[0]][2], got[ids[1]][2], "the reasons differ")
        self.report("reasons %r, %r" % (got[ids[0]][2], got[ids[1]][2]))

    def test_sql_cancel_and_retry_outcomes_and_events(self):
        q = self.own_queue("cr")
        tid = self.db.scalar("SELECT taskq.submit('noop', '{}'::jsonb, %s)::text", (q,))
        call = "SELECT outcome, (t).state::text AS state FROM taskq.%s(%%s)"
        steps = [("cancel", "cancelled", "cancelled"), ("retry", "queued", "queued"),
                 ("cancel", "cancelled", "cancelled"), ("cancel", "finished", "cancelled"),
                 ("retry", "queued", "queued"), ("retry", "wrong_state", "queued")]
        for fn, outcome, state in steps:
            r = self.db.query(call % fn, (tid,))[0]
            self.assertEqual((r["outcome"], r["state"]), (outcome, state), "%s: %r" % (fn, r))
        r = self.db.query(call % "cancel", (str(uuid.uuid4()),))[0]
        self.assertEqual((r["outcome"], r["state"]), ("not_found", None))
        evs = [e["event"] for e in events_of([tid])[tid]]
        self.assertEqual(evs, ["cancelled", "retried", "cancelled", "retried"])
