"""Recurring schedules: /api/schedules, taskq.schedules in SQL, `taskq schedule`, and the
workers' scheduler threads firing each fire time exactly once however many workers run.
(DST cases are in the cron module's unit tests: tests/unit/t_cron.c.)"""

import glob
import os
import subprocess
import time

from taskq_harness import (ENV, Client, TaskqTestCase, dev, new_token, percentile, unique,
                           wait_until)


def cli(*args):
    exe = os.path.join(ENV.build, "taskq")
    return subprocess.run([exe, "--db", ENV.db] + [str(a) for a in args], capture_output=True,
                          text=True, timeout=60)


class ScheduleTestCase(TaskqTestCase):
    def drop_at_teardown(self, *names):
        for name in names:
            self.cleanup_first(self.db.query,
                               "DELETE FROM taskq.schedules WHERE name = %s RETURNING name", (name,))

    def schedule(self, **body):
        name = body.setdefault("name", unique("s").replace("-", "_"))
        self.drop_at_teardown(name)
        return self.api.request("POST", "/api/schedules", json_body=body)

    def fires(self, name):
        return self.db.query(
            "SELECT f.fire_at, f.fired_at, f.task_id::text AS task_id, f.worker_id, t.created_at,"
            " extract(epoch FROM f.fire_at)::bigint AS at_s,"
            " extract(epoch FROM t.created_at - f.fire_at) AS delay_s"
            " FROM taskq.schedule_fires f JOIN taskq.tasks t ON t.id = f.task_id"
            " WHERE f.schedule = %s ORDER BY f.fire_at", (name,))


class ScheduleFiringTests(ScheduleTestCase):
    def test_every_second_fires_once_per_second_with_three_workers(self):
        q = self.own_queue("sched")
        # the stack's worker and two more: three scheduler threads race for every fire time
        for i in range(2):
            self.start_worker(q, name="sched%d" % i, concurrency=2).worker_id()
        r = self.schedule(cron="* * * * * *", kind="noop", queue=q, payload={"tick": True})
        self.assertEqual(r.status, 201, r)
        name = r.json["name"]
        time.sleep(10.5)
        self.db.query("UPDATE taskq.schedules SET enabled = false WHERE name = %s RETURNING name",
                      (name,))
        time.sleep(1.2)  # a round that read it before the update ends
        rows = self.fires(name)
        seconds = [row["at_s"] for row in rows]
        self.assertGreaterEqual(len(seconds), 9, rows)
        # one fire per second, none missing in between, none doubled
        self.assertEqual(seconds, list(range(seconds[0], seconds[0] + len(seconds))))
        tasks = self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s", (q,))
        self.assertEqual(tasks, len(seconds))
        delays = [float(row["delay_s"]) for row in rows]
        workers = {row["worker_id"] for row in rows}
        self.report("%d fires in %d s by %d workers; jitter (task created - fire time) p50 %.1f ms,"
                    " p99 %.1f ms, max %.1f ms" % (
                        len(seconds), seconds[-1] - seconds[0] + 1, len(workers),
                        percentile(delays, 50) * 1e3, percentile(delays, 99) * 1e3,
                        max(delays) * 1e3))

    def downtime(self, backfill, missed_minutes):
        """A per-minute schedule whose fleet was away for missed_minutes: its next fire time is
        that far in the past, as a stopped fleet leaves it."""
        q = self.own_queue("sched")
        r = self.schedule(cron="* * * * *", kind="noop", queue=q, backfill=backfill)
        self.assertEqual(r.status, 201, r)
        name = r.json["name"]
        self.db.query("UPDATE taskq.schedules SET next_fire_at = date_trunc('minute', now())"
                      " - make_interval(mins => %s) WHERE name = %s RETURNING name",
                      (missed_minutes, name))
        wait_until(lambda: self.db.scalar("SELECT next_fire_at > now() FROM taskq.schedules"
                                          " WHERE name = %s", (name,)), timeout=10,
                   what="the scheduler's catch-up round")
        return name, [row["at_s"] for row in self.fires(name)]

    def test_backfill_after_downtime(self):
        now_minute = int(time.time()) // 60 * 60
        name, fired = self.downtime(backfill=0, missed_minutes=10)
        self.assertEqual(len(fired), 1, fired)  # only the latest
        self.assertIn(fired[0], (now_minute, now_minute + 60))
        name, fired = self.downtime(backfill=3, missed_minutes=10)
        self.assertEqual(len(fired), 4, fired)  # the latest and the 3 before it
        self.assertEqual(fired, list(range(fired[0], fired[0] + 4 * 60, 60)))
        self.assertIn(fired[-1], (now_minute, now_minute + 60))
        name, fired = self.downtime(backfill=50, missed_minutes=5)
        self.assertEqual(len(fired), 6, fired)  # all that were missed: fewer than the backfill

    def test_backfill_after_the_fleet_was_stopped(self):
        """The stack's worker is the fleet (this test starts no other): stop it for 6 s while a
        schedule fires every second with backfill 2; when it comes back, the latest missed
        time and the 2 before it run, late, and the rest of the downtime is skipped."""
        q = self.own_queue("sched")
        r = self.schedule(cron="* * * * * *", kind="noop", queue=q, backfill=2)
        self.assertEqual(r.status, 201, r)
        name = r.json["name"]
        wait_until(lambda: len(self.fires(name)) >= 2, timeout=10, what="fires before the stop")
        p = dev("daemon", "stop", "worker")
        self.assertEqual(p.returncode, 0, p.stderr)
        try:
            before = [row["at_s"] for row in self.fires(name)]
            time.sleep(6)
            self.assertEqual([row["at_s"] for row in self.fires(name)], before)  # nobody fired
        finally:
            p = dev("daemon", "start", "worker")
        self.assertEqual(p.returncode, 0, p.stderr)
        wait_until(lambda: len(self.fires(name)) >= len(before) + 5, timeout=15,
                   what="fires after the restart")
        self.db.query("UPDATE taskq.schedules SET enabled = false WHERE name = %s RETURNING name",
                      (name,))
        time.sleep(1.2)
        rows = self.fires(name)
        after = [row for row in rows if row["at_s"] > before[-1]]
        late = [row["at_s"] for row in after
                if (row["fired_at"] - row["fire_at"]).total_seconds() >= 1.0]
        self.assertEqual(len(late), 2, [(row["at_s"], str(row["fired_at"])) for row in after])
        seconds = [row["at_s"] for row in after]
        skipped = seconds[0] - before[-1] - 1
        self.assertGreaterEqual(skipped, 3, seconds)  # the downtime's older times: not run
        self.assertEqual(seconds, list(range(seconds[0], seconds[0] + len(seconds))))
        self.report("stopped 6 s: %d fire times skipped, 2 backfilled late, then on time" % skipped)

    def test_a_schedule_inserted_with_sql_starts_and_a_bad_one_is_disabled(self):
        q = self.own_queue("sched")
        good, bad = unique("sql").replace("-", "_"), unique("sqlbad").replace("-", "_")
        self.drop_at_teardown(good, bad)
        self.db.query("INSERT INTO taskq.schedules (name, cron, kind, queue) VALUES"
                      " (%s, '* * * * * *', 'noop', %s), (%s, '99 * * * *', 'noop', %s)"
                      " RETURNING name", (good, q, bad, q))
        wait_until(lambda: len(self.fires(good)) >= 2, timeout=10, what="fires of the SQL schedule")
        row = self.db.query("SELECT enabled, last_error FROM taskq.schedules WHERE name = %s",
                            (bad,))[0]
        self.assertFalse(row["enabled"])
        self.assertIn("minute field", row["last_error"])
        self.assertEqual(self.fires(bad), [])

    def test_a_schedule_of_an_unknown_kind_is_disabled_with_the_reason(self):
        """HTTP and the CLI refuse a kind no worker registered; a schedule inserted with SQL
        is disabled by the next scheduler round, with the same words in last_error and a log
        line, before it fires a task that could only fail."""
        q = self.own_queue("sched")
        kind = unique("nokind").replace("-", "_")
        name = unique("sqlkind").replace("-", "_")
        self.drop_at_teardown(name)
        self.db.query("INSERT INTO taskq.schedules (name, cron, kind, queue) VALUES"
                      " (%s, '* * * * * *', %s, %s) RETURNING name", (name, kind, q))
        wait_until(lambda: not self.db.scalar("SELECT enabled FROM taskq.schedules"
                                              " WHERE name = %s", (name,)),
                   timeout=10, what="the schedule of an unknown kind disabled")
        row = self.db.query("SELECT enabled, last_error, next_fire_at FROM taskq.schedules"
                            " WHERE name = %s", (name,))[0]
        self.assertEqual((row["enabled"], row["last_error"], row["next_fire_at"]),
                         (False, "unknown task kind '%s'" % kind, None))
        time.sleep(1.5)  # rounds after the disable fire nothing either
        self.assertEqual(self.fires(name), [])
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s",
                                        (q,)), 0)
        logs = ""  # the stack's worker's log, or that of an extra worker a test runs
        for path in glob.glob(os.path.join(ENV.var, "log", "worker*.log")):
            with open(path, errors="replace") as f:
                logs += f.read()
        self.assertIn("event=schedule_disabled schedule=%s msg=\"unknown task kind" % name, logs)
        # fired by hand, it is refused as taskq.submit refuses the kind
        with self.assertRaisesRegex(Exception, "unknown task kind '%s'" % kind):
            self.db.query("UPDATE taskq.schedules SET enabled = true WHERE name = %s;"
                          " SELECT taskq.fire_schedule(%s, now())::text", (name, name))
        self.db.query("UPDATE taskq.schedules SET enabled = false WHERE name = %s"
                      " RETURNING name", (name,))
        self.assertEqual(self.fires(name), [])
        # the API and the CLI refuse it with the same words
        r = self.schedule(cron="* * * * * *", kind=kind, queue=q)
        self.assert_error(r, 400, "unknown_kind")
        self.assertIn("unknown task kind '%s'" % kind, r.json["error"]["message"])
        other = unique("clikind").replace("-", "_")
        self.drop_at_teardown(other)
        p = cli("schedule", "add", other, "* * * * * *", kind)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("unknown task kind '%s'" % kind, p.stderr)


class ScheduleApiTests(ScheduleTestCase):
    def test_create_read_replace_delete(self):
        r = self.schedule(cron="30 2 * * *", tz="Europe/Berlin", kind="noop", payload={"a": 1.10},
                          priority=5, max_attempts=2, timeout_s=60, backfill=1)
        self.assertEqual(r.status, 201, r)
        s = r.json
        self.assertEqual(r.header("Location"), "/api/schedules/%s" % s["name"])
        self.assertEqual((s["cron"], s["tz"], s["priority"], s["max_attempts"], s["timeout_s"],
                          s["backfill"], s["enabled"]),
                         ("30 2 * * *", "Europe/Berlin", 5, 2, 60, 1, True))
        self.assertEqual(s["payload"], {"a": 1.10})
        # 02:30 in Berlin is 00:30 or 01:30 UTC
        self.assertRegex(s["next_fire_at"], r"T0[01]:30:00Z$")
        self.assertEqual(self.api.request("GET", "/api/schedules/%s" % s["name"]).json, s)
        self.assert_error(self.schedule(name=s["name"], cron="* * * * *", kind="noop"), 409,
                          "wrong_state")
        r = self.api.request("PUT", "/api/schedules/%s" % s["name"],
                             json_body={"cron": "@hourly", "kind": "sleep", "enabled": False})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["cron"], r.json["kind"], r.json["enabled"], r.json["tz"]),
                         ("@hourly", "sleep", False, "UTC"))
        names = [x["name"] for x in self.api.request("GET", "/api/schedules").json["schedules"]]
        self.assertIn(s["name"], names)
        self.assertEqual(self.api.request("DELETE", "/api/schedules/%s" % s["name"]).status, 204)
        self.assert_error(self.api.request("GET", "/api/schedules/%s" % s["name"]), 404, "not_found")
        self.assert_error(self.api.request("DELETE", "/api/schedules/%s" % s["name"]), 404,
                          "not_found")
        created = unique("put").replace("-", "_")
        self.drop_at_teardown(created)
        r = self.api.request("PUT", "/api/schedules/%s" % created,
                             json_body={"cron": "*/5 * * * *", "kind": "noop"})
        self.assertEqual(r.status, 201, r)

    def test_bad_schedules_are_refused_with_the_reason(self):
        cases = [
            ({"cron": "61 * * * *", "kind": "noop"}, "invalid_field", "minute field"),
            ({"cron": "* * *", "kind": "noop"}, "invalid_field", "expected 5 or 6 fields"),
            ({"cron": "0 0 30 2 *", "kind": "noop"}, "invalid_field", "never"),
            ({"cron": "@often", "kind": "noop"}, "invalid_field", "alias"),
            ({"cron": "0 2 * * *", "tz": "Mars/Olympus", "kind": "noop"}, "invalid_field",
             "time zone"),
            ({"cron": "0 2 * * *", "tz": "../../etc/passwd", "kind": "noop"}, "invalid_field",
             "tz"),
            ({"cron": "0 2 * * *", "kind": "no_such_kind"}, "unknown_kind", "unknown task kind"),
            ({"cron": "0 2 * * *"}, "invalid_field", "kind is required"),
            ({"kind": "noop"}, "invalid_field", "cron is required"),
            ({"cron": "0 2 * * *", "kind": "noop", "dedupe_key": "x"}, "invalid_field",
             "unknown field"),
            ({"cron": "0 2 * * *", "kind": "noop", "backfill": -1}, "invalid_field", "backfill"),
            ({"cron": 5, "kind": "noop"}, "invalid_field", "cron must be a string"),
            ({"cron": "0 2 * * *", "kind": "noop", "name": "bad name!"}, "invalid_field", "name"),
        ]
        for body, code, text in cases:
            r = self.schedule(**body) if "name" in body else self.schedule(**body)
            self.assert_error(r, 400, code)
            self.assertIn(text, r.json["error"]["message"], body)
        r = self.api.request("PUT", "/api/schedules/a", json_body={"name": "b", "cron": "* * * * *",
                                                                    "kind": "noop"})
        self.assert_error(r, 400, "invalid_field")
        self.assert_error(self.api.request("GET", "/api/schedules/bad%20name"), 400, "invalid_field")
        self.assert_error(self.api.request("GET", "/api/schedules?x=1"), 400, "invalid_field")

    def test_owners_see_and_change_their_own_schedules_only(self):
        alice, bob = unique("alice"), unique("bob")
        a, b = Client(token=new_token(alice)), Client(token=new_token(bob))
        q = self.own_queue("sched")
        name = unique("own").replace("-", "_")
        self.drop_at_teardown(name)
        r = a.request("POST", "/api/schedules",
                      json_body={"name": name, "cron": "* * * * * *", "kind": "noop", "queue": q})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["owner"], alice)
        self.assert_error(b.request("GET", "/api/schedules/%s" % name), 404, "not_found")
        self.assert_error(b.request("DELETE", "/api/schedules/%s" % name), 404, "not_found")
        self.assert_error(b.request("PUT", "/api/schedules/%s" % name,
                                    json_body={"cron": "* * * * *", "kind": "noop"}), 404,
                          "not_found")
        self.assertEqual(b.request("GET", "/api/schedules").json["schedules"], [])
        self.assertEqual([s["name"] for s in a.request("GET", "/api/schedules").json["schedules"]],
                         [name])
        # the tasks it makes are alice's
        wait_until(lambda: len(self.fires(name)) >= 1, timeout=10, what="a fire")
        owners = self.db.query("SELECT DISTINCT t.owner FROM taskq.schedule_fires f JOIN"
                               " taskq.tasks t ON t.id = f.task_id WHERE f.schedule = %s", (name,))
        self.assertEqual([o["owner"] for o in owners], [alice])
        # an admin may replace it; it stays alice's
        r = self.api.request("PUT", "/api/schedules/%s" % name,
                             json_body={"cron": "@daily", "kind": "noop"})
        self.assertEqual((r.status, r.json["owner"]), (200, alice))

    def test_cli(self):
        name = unique("cli").replace("-", "_")
        self.drop_at_teardown(name)
        r = cli("schedule", "add", name, "0 9 * * MON-FRI", "noop", '{"report": "daily"}',
                "--tz", "America/New_York", "--backfill", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("added %s: next fire at" % name, r.stdout)
        r = cli("schedule", "list")
        self.assertIn(name, r.stdout)
        self.assertIn("America/New_York", r.stdout)
        r = cli("schedule", "add", unique("x"), "0 9 * * FOO", "noop")
        self.assertEqual(r.returncode, 65)  # EX_DATAERR: a value refused
        self.assertIn("day-of-week", r.stderr.lower().replace("day of week", "day-of-week"))
        self.assertEqual(cli("schedule", "rm", name).returncode, 0)
        self.assertEqual(cli("schedule", "rm", name).returncode, 3)
