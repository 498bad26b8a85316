"""Chains, fan-in and follow-ups over HTTP (sql/functions/chains.sql): a task submitted with
`after` waits, blocked, until its parents succeeded; a failed or cancelled parent cancels it
(and its own children) unless `after_policy` is "always"; command kinds read their parents'
results in TASKQ_PARENTS; a result's {"enqueue": [...]} inserts follow-ups atomically with
the completion, exactly once even when workers are killed around it.

Each test runs its own queues with its own extra workers (tests/lib WorkerProc); the command
kind t_chain is tests/integration/programs/chain.py.
"""

import datetime
import os
import random
import subprocess
import tempfile
import time

from taskq_harness import (ENV, TOP, Client, TaskqTestCase, new_token, parse_time, unique,
                           wait_final, wait_until)
from taskq_faults import events_of

CHAIN = os.path.join(TOP, "tests", "integration", "programs", "chain.py")
COMMANDS = "t_chain=" + CHAIN
NO_SUCH = "01a20000-0000-7000-8000-000000000000"


class ChainTests(TaskqTestCase):

    def ok(self, r, status=202):
        self.assertEqual(r.status, status, str(r))
        return r.json

    def submit_after(self, kind, after, payload=None, **fields):
        return self.ok(self.api.submit(kind, payload or {}, after=after, **fields))

    def batch(self, tasks):
        return self.ok(self.api.request("POST", "/api/tasks/batch", json_body=tasks))["ids"]

    def chain_worker(self, q, **kw):
        """An extra worker running t_chain on q, once taskq-fcgi knows the kind (its cache
        of kinds refreshes at most once a second): probed with a submit that names a parent
        that does not exist, which inserts nothing either way."""
        w = self.start_worker(q, args=["--commands", COMMANDS], **kw)
        w.worker_id()
        wait_until(lambda: self.api.submit("t_chain", {}, queue=q, after=[NO_SUCH]).json["error"]
                   ["code"] == "invalid_field", timeout=10, what="t_chain known to taskq-fcgi")
        return w

    def events(self, tid):
        return [e["event"] for e in events_of([tid])[tid]]

    def times(self, tid):
        t = self.db.task(tid)
        return t["run_at"], t["started_at"], t["finished_at"]

    # ---- chains -----------------------------------------------------------------------------

    def test_chain_of_three_runs_in_order(self):
        q = self.own_queue("chain")
        self.start_worker(q, concurrency=4).worker_id()
        step = {"steps": 3, "step_ms": 100}
        a = self.ok(self.api.submit("sleep", step, queue=q))
        b = self.submit_after("sleep", [a["id"]], step, queue=q)
        c = self.submit_after("sleep", [b["id"]], step, queue=q)
        for t, parent in ((b, a), (c, b)):
            self.assert_task_json(t)
            self.assertEqual((t["state"], t["blocked"], t["run_at"], t["parents"],
                              t["after_policy"], t["message"]),
                             ("queued", True, None, [parent["id"]], "success",
                              "waiting for 1 of 1 parent"), t)
        wait_final([a["id"], b["id"], c["id"]], timeout=20)
        done = [self.get_ok(x["id"]) for x in (a, b, c)]
        self.assertEqual([t["state"] for t in done], ["succeeded"] * 3, done)
        for prev, nxt in zip(done, done[1:]):
            self.assertGreaterEqual(parse_time(nxt["run_at"]), parse_time(prev["finished_at"]))
            self.assertGreaterEqual(parse_time(nxt["started_at"]), parse_time(prev["finished_at"]))
            self.assertFalse(nxt["blocked"])
            self.assertEqual(self.events(nxt["id"]), ["unblocked", "claimed", "succeeded"])
        gaps = [(parse_time(n["started_at"]) - parse_time(p["finished_at"])).total_seconds()
                for p, n in zip(done, done[1:])]
        self.report("parent finished -> child started: %s" % ", ".join(
            "%.0f ms" % (g * 1000) for g in gaps))

    def test_fan_in_of_ten_releases_its_child_exactly_once(self):
        """Ten parents of the same length on two workers (12 executors) finish at nearly the
        same moment, in several completion transactions; the child is released once, by the
        last of them, and claimed once. Three rounds."""
        q = self.own_queue("fanin")
        for name in ("fanin-a", "fanin-b"):
            self.start_worker(q, name=name, concurrency=6).worker_id()
        spreads, commits = [], []
        for _ in range(3):
            tasks = [{"kind": "sleep", "queue": q, "payload": {"steps": 4, "step_ms": 150}}
                     for _ in range(10)]
            tasks.append({"kind": "noop", "queue": q, "after": list(range(10))})
            ids = self.batch(tasks)
            parents, child = ids[:10], ids[10]
            t = self.get_ok(child)
            self.assertEqual((t["blocked"], t["parents"]), (True, parents), t)
            tally = wait_final(ids, timeout=30)
            self.assertEqual(tally.not_once_succeeded(), [], str(tally))
            evs = self.events(child)
            self.assertEqual(evs.count("claimed"), 1, evs)
            self.assertEqual(evs.count("unblocked"), 1, evs)
            finished = [self.db.task(p)["finished_at"] for p in parents]
            run_at, started, _ = self.times(child)
            # times are now(), the start of each transaction: the completion that releases the
            # child may have begun a few ms before another parent's, which committed first
            slack = datetime.timedelta(seconds=1)
            self.assertGreaterEqual(run_at, max(finished) - slack)
            self.assertGreaterEqual(started, max(finished) - slack)
            row = self.db.task(child)
            self.assertEqual((row["pending_parents"], row["message"]), (0, None), row)
            spreads.append((max(finished) - min(finished)).total_seconds())
            commits.append(len(set(finished)))
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM taskq.task_deps d JOIN taskq.tasks t ON t.id = d.child "
            "WHERE t.queue = %s", (q,)), 0)
        self.report("parents finished within %s ms, in %s completion transactions" % (
            "/".join("%.0f" % (s * 1000) for s in spreads), "/".join(map(str, commits))))

    def test_failed_parent_cancels_child_and_grandchild(self):
        q = self.own_queue("fail")
        self.start_worker(q, concurrency=4).worker_id()
        p = self.ok(self.api.submit("sleep", {"steps": 3, "step_ms": 100, "fail_at": 2},
                                    queue=q, max_attempts=1))
        c = self.submit_after("noop", [p["id"]], queue=q)
        g = self.submit_after("noop", [c["id"]], queue=q)
        wait_final([p["id"], c["id"], g["id"]], timeout=15)
        p, c, g = (self.get_ok(x["id"]) for x in (p, c, g))
        self.assertEqual((p["state"], c["state"], g["state"]), ("failed", "cancelled", "cancelled"))
        self.assertEqual(c["error"], "parent %s failed: failed at step 2" % p["id"])
        self.assertTrue(g["error"].startswith("parent %s cancelled: parent %s failed" % (
            c["id"], p["id"])), g["error"])
        for t in (c, g):
            self.assertEqual((t["blocked"], t["started_at"], t["attempts"]), (False, None, 0), t)
            self.assertEqual(self.events(t["id"]), ["cancelled"])
            self.assertIsNotNone(t["finished_at"])

    def test_after_policy_always_runs_anyway(self):
        q = self.own_queue("always")
        self.start_worker(q, concurrency=4).worker_id()
        bad = self.ok(self.api.submit("sleep", {"steps": 2, "step_ms": 100, "fail_at": 1},
                                      queue=q, max_attempts=1))
        good = self.ok(self.api.submit("sleep", {"steps": 2, "step_ms": 100}, queue=q))
        c = self.submit_after("noop", [bad["id"], good["id"]], queue=q, after_policy="always")
        self.assertEqual((c["after_policy"], c["message"]), ("always", "waiting for 2 of 2 parents"))
        t = self.api.wait_for(c["id"], ("succeeded", "failed", "cancelled"), timeout=15)
        self.assertEqual((t["state"], t["error"]), ("succeeded", None), t)
        self.assertEqual(self.get_ok(bad["id"])["state"], "failed")
        self.assertEqual(self.events(c["id"]), ["unblocked", "claimed", "succeeded"])
        # a parent that failed already: "always" runs at once, the default cancels at once
        now = self.submit_after("noop", [bad["id"]], queue=q, after_policy="always")
        self.assertFalse(now["blocked"])
        self.assertEqual(self.api.wait_for(now["id"], "succeeded", timeout=10)["parents"],
                         [bad["id"]])
        gone = self.submit_after("noop", [bad["id"]], queue=q)
        self.assertEqual((gone["state"], gone["error"]), (
            "cancelled", "parent %s failed: failed at step 1" % bad["id"]), gone)

    def test_blocked_tasks_are_not_claimed(self):
        parked = self.own_queue("parked")  # nobody serves it: the parent stays queued
        q = self.own_queue("blocked")
        w = self.start_worker(q, concurrency=4)
        w.worker_id()
        p = self.ok(self.api.submit("noop", queue=parked))
        c = self.submit_after("noop", [p["id"]], queue=q)
        ready = self.ok(self.api.submit("noop", queue=q))
        self.api.wait_for(ready["id"], "succeeded", timeout=10)  # the worker does claim in q
        time.sleep(1.0)
        t = self.get_ok(c["id"])
        self.assertEqual((t["state"], t["blocked"], t["run_at"], t["attempts"]),
                         ("queued", True, None, 0), t)
        self.assertEqual(self.events(c["id"]), [])
        self.assertEqual(self.db.scalar("SELECT run_at = 'infinity' FROM taskq.tasks WHERE id = %s",
                                        (c["id"],)), True)
        listed = self.ok(self.api.list(queue=q, state="queued"), 200)["tasks"]
        self.assertEqual([(x["id"], x["blocked"]) for x in listed], [(c["id"], True)])
        # a parent that succeeded already does not block; the one that is cancelled now
        # cancels its child
        done = self.submit_after("noop", [ready["id"]], queue=q)
        self.assertFalse(done["blocked"])
        self.api.wait_for(done["id"], "succeeded", timeout=10)
        self.ok(self.api.delete(p["id"]), 200)
        t = self.api.wait_for(c["id"], "cancelled", timeout=5)
        self.assertEqual(t["error"], "parent %s cancelled" % p["id"])

    def test_submit_errors(self):
        q = self.own_queue("errs")
        p = self.ok(self.api.submit("noop", queue=q))

        def bad(body, code, part, path="/api/tasks"):
            r = self.api.request("POST", path, json_body=body)
            self.assert_error(r, 400, code)
            self.assertIn(part, r.json["error"]["message"], str(r))
            return r.json["error"]

        bad({"kind": "noop", "after": [NO_SUCH]}, "invalid_field",
            "no such parent task " + NO_SUCH)
        bad({"kind": "noop", "after": [p["id"], NO_SUCH]}, "invalid_field", "no such parent")
        bad({"kind": "noop", "after": []}, "invalid_field", "1 to 100")
        bad({"kind": "noop", "after": [p["id"]] * 101}, "invalid_field", "1 to 100")
        bad({"kind": "noop", "after": ["nope"]}, "invalid_field", "after[0]")
        bad({"kind": "noop", "after": p["id"]}, "invalid_field", "array")
        bad({"kind": "noop", "after": [0]}, "invalid_field", "batches")
        bad({"kind": "noop", "after_policy": "always"}, "invalid_field", "needs after")
        bad({"kind": "noop", "after": [p["id"]], "after_policy": "maybe"}, "invalid_field",
            "after_policy")
        bad({"kind": "nope", "after": [p["id"]]}, "unknown_kind", "nope")
        # a batch: an element may name only earlier ones, never itself (so: no cycles)
        e = bad([{"kind": "noop", "queue": q}, {"kind": "noop", "queue": q, "after": [1]}],
                "invalid_field", "tasks[1]: after[0] is not the index of an earlier task",
                "/api/tasks/batch")
        self.assertEqual(e["index"], 1)
        e = bad([{"kind": "noop", "queue": q, "after": [1]}, {"kind": "noop", "queue": q}],
                "invalid_field", "tasks[0]", "/api/tasks/batch")
        self.assertEqual(e["index"], 0)
        e = bad([{"kind": "noop", "queue": q}, {"kind": "noop", "queue": q, "after": [NO_SUCH]}],
                "invalid_field", "tasks[1]: no such parent task", "/api/tasks/batch")
        self.assertEqual(e["index"], 1)
        self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE queue = %s",
                                        (q,)), 1, "a refused submit left rows behind")
        # duplicates count once
        t = self.submit_after("noop", [p["id"], p["id"]], queue=q)
        self.assertEqual((t["parents"], t["message"]), ([p["id"]], "waiting for 1 of 1 parent"))

    def test_owner_names_only_its_own_parents(self):
        self.skip_unless_auth()
        q = self.own_queue("own")
        alice, bob = (Client(token=new_token(unique(n))) for n in ("alice", "bob"))
        mine = self.ok(alice.submit("noop", queue=q))
        theirs = self.ok(bob.submit("noop", queue=q))
        r = alice.submit("noop", queue=q, after=[theirs["id"]])
        self.assert_error(r, 400, "invalid_field")
        self.assertEqual(r.json["error"]["message"], "no such parent task " + theirs["id"])
        r = alice.request("POST", "/api/tasks/batch", json_body=[
            {"kind": "noop", "queue": q, "after": [mine["id"], theirs["id"]]}])
        self.assert_error(r, 400, "invalid_field")
        self.ok(alice.submit("noop", queue=q, after=[mine["id"]]))
        # an admin (the suite's token) may name anyone's
        self.ok(self.api.submit("noop", queue=q, after=[mine["id"], theirs["id"]]))

    def test_cli_submit_after(self):
        q = self.own_queue("cli")
        p = self.ok(self.api.submit("noop", queue=q))

        def cli(*args):
            return subprocess.run([os.path.join(ENV.build, "taskq"), "--db", ENV.db] + list(args),
                                   capture_output=True, text=True, timeout=60)

        r = cli("submit", "noop", "--queue", q, "--after", p["id"], "--after-policy", "always")
        self.assertEqual(r.returncode, 0, r.stderr)
        t = self.get_ok(r.stdout.strip())
        self.assertEqual((t["parents"], t["after_policy"], t["blocked"]), ([p["id"]], "always", True))
        # refused as the API refuses the same body (its messages), naming the option
        for args, part in ((["--after", p["id"] + ",x"], "after[1] must be a task id"),
                           (["--after-policy", "always"], "after_policy needs after"),
                           (["--after", p["id"], "--after-policy", "maybe"],
                            'after_policy must be "success" or "always"')):
            r = cli("submit", "noop", "--queue", q, *args)
            self.assertEqual(r.returncode, 65, r.stderr)  # EX_DATAERR: a value refused
            self.assertIn(part, r.stderr)
            self.assertIn("(%s)" % args[-2], r.stderr)
        r = cli("submit", "noop", "--queue", q, "--after", NO_SUCH)
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertIn("no such parent task " + NO_SUCH, r.stderr)
        # a file: line 1002 (in the second statement of 1,000) names lines 0 and 1000
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl") as f:
            for i in range(1001):
                f.write('{"kind":"noop","queue":"%s"}\n' % q)
            f.write('{"kind":"noop","queue":"%s","after":[0,1000,"%s"]}\n' % (q, p["id"]))
            f.flush()
            r = cli("submit", "--file", f.name)
            self.assertEqual(r.returncode, 0, r.stderr)
            ids = r.stdout.split()
            self.assertEqual(len(ids), 1002)
            self.assertEqual(self.get_ok(ids[-1])["parents"], [ids[0], ids[1000], p["id"]])
            f.write('{"kind":"noop","queue":"%s","after":[1003]}\n' % q)
            f.flush()
            r = cli("submit", "--file", f.name)
            self.assertEqual(r.returncode, 65, r.stderr)
            self.assertIn("line 1003: after[0] is not the index of an earlier task", r.stderr)

    # ---- command kinds: the parents' results ------------------------------------------------

    def test_command_kind_reads_its_parents_results(self):
        q = self.own_queue("parents")
        self.chain_worker(q, concurrency=4)
        a = self.ok(self.api.submit("t_chain", {"value": 1}, queue=q))
        b = self.ok(self.api.submit("t_chain", {"value": [2, "two"]}, queue=q))
        c = self.submit_after("t_chain", [b["id"], a["id"]], queue=q)
        t = self.api.wait_for(c["id"], ("succeeded", "failed"), timeout=20)
        self.assertEqual(t["state"], "succeeded", t)
        got = t["result"]["parents"]
        self.assertEqual(t["result"]["parents_via"], "env")
        self.assertEqual([(p["id"], p["kind"], p["state"]) for p in got],
                         [(b["id"], "t_chain", "succeeded"), (a["id"], "t_chain", "succeeded")])
        self.assertEqual([p["result"]["value"] for p in got], [[2, "two"], 1])
        self.assertEqual(got[0]["result"], self.get_ok(b["id"])["result"])
        # without parents: no TASKQ_PARENTS at all
        self.assertIsNone(self.get_ok(a["id"])["result"]["parents_via"])
        # a result past what one environment variable holds comes as a file
        big = self.ok(self.api.submit("t_chain", {"blob": 200000}, queue=q))
        d = self.submit_after("t_chain", [big["id"]], queue=q)
        t = self.api.wait_for(d["id"], ("succeeded", "failed"), timeout=20)
        self.assertEqual(t["state"], "succeeded", t)
        self.assertEqual((t["result"]["parents_via"], t["result"]["parents_file_mode"]),
                         ("file", "600"))
        self.assertEqual(t["result"]["parents"][0]["id"], big["id"])
        self.assertFalse(os.path.exists(t["result"]["parents_file"]), "left behind")

    # ---- follow-ups ----------------------------------------------------------------------

    def test_followups_enqueued_with_the_completion(self):
        q, fq = self.own_queue("fu"), self.own_queue("fu-next")
        self.chain_worker(q, concurrency=4)
        p = self.ok(self.api.submit("t_chain", {
            "followups": 2, "queue": fq,
            "enqueue": [{"kind": "noop", "queue": fq, "after": [0, 1], "priority": 3},
                        {"kind": "t_chain", "payload": {"value": "next"}}]}, queue=q))
        t = self.api.wait_for(p["id"], ("succeeded", "failed"), timeout=20)
        self.assertEqual(t["state"], "succeeded", t)
        self.assertNotIn("enqueue", t["result"])
        ids = t["result"]["enqueued"]
        self.assertEqual(len(ids), 4, t)
        f = [self.get_ok(i) for i in ids]
        self.assertEqual([(x["queue"], x["owner"], x["parents"][0]) for x in f],
                         [(fq, t["owner"], p["id"])] * 3 + [(q, t["owner"], p["id"])])
        self.assertEqual([x["payload"] for x in f[:2]],
                         [{"parent": p["id"], "i": 0}, {"parent": p["id"], "i": 1}])
        # the fan-in over two follow-ups waits for them (nobody serves fq)
        self.assertEqual((f[2]["parents"], f[2]["blocked"], f[2]["message"], f[2]["priority"]),
                         ([p["id"], ids[0], ids[1]], True, "waiting for 2 of 3 parents", 3))
        # the last one ran in q and read its creator's result, as any child reads a parent's
        nxt = self.api.wait_for(ids[3], ("succeeded", "failed"), timeout=20)
        self.assertEqual(nxt["state"], "succeeded", nxt)
        self.assertEqual(nxt["result"]["parents"][0]["result"], t["result"])
        self.ok(self.api.delete(ids[0]), 200)
        self.assertEqual(self.api.wait_for(ids[2], "cancelled", timeout=5)["error"],
                         "parent %s cancelled" % ids[0])

    def test_bad_followup_fails_the_task_and_inserts_nothing(self):
        q = self.own_queue("badfu")
        self.chain_worker(q, concurrency=4)
        cases = (
            ([{"kind": "noop"}, {"kind": "no_such_kind"}], "enqueue[1]: unknown task kind"),
            ([{"kind": "noop", "priority": 5000}], "enqueue[0]: priority must be"),
            ([{"kind": "noop", "owner": "mallory"}], "enqueue[0]: unknown field 'owner'"),
            ([{"kind": "noop", "after": [0]}], "enqueue[0]: after[0] = 0 is not the index"),
            ([{"kind": "noop", "after": [NO_SUCH]}], "enqueue[0]: no such parent task"),
            ({"kind": "noop"}, "enqueue must be an array"),
        )
        tids = [self.ok(self.api.submit("t_chain", {"enqueue": e}, queue=q, max_attempts=3))["id"]
                for e, _ in cases]
        tally = wait_final(tids, timeout=20)
        for tid, (_, want) in zip(tids, cases):
            row = tally.rows[tid]
            self.assertEqual((row["state"], row["attempts"]), ("failed", 1), row)
            self.assertIn("result rejected by the database: " + want, row["error"])
            self.assertEqual(self.db.scalar("SELECT count(*) FROM taskq.tasks WHERE %s = ANY(parents)",
                                            (tid,)), 0)

    def test_kill9_around_completion_followups_exactly_once(self):
        """Workers killed with SIGKILL again and again while short tasks that enqueue three
        follow-ups each complete: a task whose completion committed has its three follow-ups,
        one whose completion did not has none and runs again; none ever has more."""
        n, per, kills = 60, 3, 12
        q, fq = self.own_queue("k9"), self.own_queue("k9-next")
        ws = [self.chain_worker(q, name="k9-%s" % c, lease=2, concurrency=6) for c in "ab"]
        ids = [self.ok(self.api.submit("t_chain", {"followups": per, "queue": fq,
                                                   "sleep_ms": random.randrange(100, 500)},
                                       queue=q, max_attempts=100))["id"] for _ in range(n)]
        counts_sql = ("SELECT t.id::text AS id, t.state::text AS state, "
                      "(SELECT count(*) FROM taskq.tasks f WHERE f.queue = %s "
                      " AND f.payload->>'parent' = t.id::text) AS n "
                      "FROM taskq.tasks t WHERE t.id = ANY(%s::uuid[])")
        running = ("SELECT count(*) FROM taskq.tasks WHERE queue = %s AND state = 'running' "
                   "AND worker_id = %s")
        for k in range(kills):
            w = ws[k % 2]
            wid = w.worker_id()
            if not wait_until(lambda: self.db.scalar(running, (q, wid)) or
                              self.db.count_state(ids, "succeeded") == n, timeout=20,
                              what="worker %s running tasks" % wid):
                break
            if self.db.count_state(ids, "succeeded") == n:
                break
            time.sleep(random.uniform(0.0, 0.3))  # somewhere in its tasks' runs and completions
            w.kill()
            for r in self.db.query(counts_sql, (fq, ids)):
                self.assertIn(r["n"], (0, per), r)      # never half, never doubled
                self.assertEqual(r["n"] == per, r["state"] == "succeeded", r)
            w.start()
        tally = wait_final(ids, timeout=60)
        self.assertEqual(tally.not_once_succeeded(), [], str(tally))
        rows = self.db.query(counts_sql, (fq, ids))
        self.assertEqual(sorted(r["n"] for r in rows), [per] * n, rows)
        for tid in ids:
            enq = self.db.task(tid)["result"]["enqueued"]
            fids = [r["id"] for r in self.db.query(
                "SELECT id::text AS id FROM taskq.tasks WHERE queue = %s AND payload->>'parent' = %s "
                "ORDER BY (payload->>'i')::int", (fq, tid))]
            self.assertEqual(enq, fids)
        rescued = sum(1 for evs in tally.events.values() for e in evs if e["event"] == "rescued")
        self.assertGreater(rescued, 0, "no run was killed: the test proved nothing")
        self.report("%s; %d kills, %d runs rescued and run again, %d follow-ups" % (
            tally.figures(), kills, rescued, per * n))
