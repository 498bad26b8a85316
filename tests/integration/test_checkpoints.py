"""Checkpoints (sql/functions/signals.sql taskq.checkpoint; worker/kinds/command.c): a command
program's "checkpoint JSON" line is stored before its next line is read, fenced by its
attempt, and handed to the next run as TASKQ_CHECKPOINT; so a program killed with its worker
(kill -9 of the daemon, as in test_faults_kill.py) goes on from its last checkpoint on another
worker, and each step's side effect is done once.
"""

import os
import shutil
import tempfile

from taskq_harness import TOP, TaskqTestCase, api, wait_until

PROGRAMS = os.path.join(TOP, "tests", "integration", "programs")
COMMANDS = "t_steps=%s" % os.path.join(PROGRAMS, "steps.py")
LEASE = 3


class CheckpointTests(TaskqTestCase):

    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="taskq-steps-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def read(self, d, name):
        try:
            with open(os.path.join(d, name)) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def submit(self, payload, queue):
        return self.submit_new_kind("t_steps", payload, queue=queue, max_attempts=5)["id"]

    def test_five_steps_killed_in_step_3_finish_each_step_once_on_another_worker(self):
        q = self.own_queue("steps")
        d = self.tmpdir()
        a = self.start_worker(q, name="steps-a", lease=LEASE, concurrency=2,
                              args=["--commands", COMMANDS])
        wid_a = a.worker_id()
        tid = self.submit({"dir": d, "step_s": 0.1, "slow_step": 3, "slow_s": 60}, q)
        wait_until(lambda: os.path.exists(os.path.join(d, "slowed")), timeout=20,
                   what="the program in step 3")
        self.assertEqual(self.read(d, "log"), ["step 1", "step 2"])
        row = self.db.task(tid)
        self.assertEqual((row["state"], row["worker_id"], row["checkpoint"]),
                         ("running", wid_a, {"next": 3}))
        self.assertEqual(api.get(tid).json["checkpoint"], {"next": 3})
        killed_at = a.kill()
        b = self.start_worker(q, name="steps-b", lease=LEASE, concurrency=2,
                              args=["--commands", COMMANDS])
        wid_b = b.worker_id()
        done = api.wait_for(tid, ("succeeded", "failed", "cancelled"), timeout=LEASE + 30)
        self.assertEqual(done["state"], "succeeded", repr(done))
        self.assertEqual(done["result"], {"steps": 5})
        self.assertEqual(done["checkpoint"], {"next": 6})
        log = self.read(d, "log")
        self.assertEqual(log, ["step %d" % i for i in range(1, 6)],
                         "each step's side effect once: %s" % log)
        self.assertEqual(self.read(d, "runs"), ["1 1", "2 3"])
        self.assertEqual(self.db.task(tid)["worker_id"], wid_b)
        took = (self.db.task(tid)["finished_at"] - killed_at).total_seconds()
        self.report("killed in step 3 on %s; finished on %s %.1fs after the kill (lease %ds); "
                    "side effects: %s" % (wid_a, wid_b, took, LEASE, ", ".join(log)))

    def test_a_bad_checkpoint_or_wait_line_fails_the_task_for_good(self):
        q = self.own_queue("stepsbad")
        self.start_worker(q, name="steps-bad", lease=LEASE, concurrency=2,
                          args=["--commands", "t_badcp=%s" % os.path.join(PROGRAMS,
                                                                           "bad-protocol.sh")])
        for mode, words in (("checkpoint", "bad checkpoint line"), ("wait", "bad wait line")):
            t = self.submit_new_kind("t_badcp", {"mode": mode}, queue=q)
            done = api.wait_for(t["id"], ("succeeded", "failed"), timeout=15)
            self.assertEqual((done["state"], done["attempts"]), ("failed", 1), repr(done))
            self.assertIn(words, done["error"])
