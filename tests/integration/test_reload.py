"""Reload without loss: SIGHUP re-reads the configuration file in both daemons, SIGUSR1 reopens
the log file (logrotate), and neither drops a request or a task.

The worker tests run an extra taskq-worker with a configuration file of their own (its TASKQ_*
variables blanked, since variables beat the file); the taskq-fcgi tests use the stack's own
taskq-fcgi, which ./dev starts with --config $TASKQ_VAR/etc/taskq-fcgi.conf.
"""

import os
import signal
import threading
import time

from taskq_faults import WorkerProc
from taskq_harness import ENV, Client, TaskqTestCase, unique, wait_until

PROGRAMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs")
FCGI_CONF = os.path.join(ENV.var, "etc", "taskq-fcgi.conf")


def read_pid(name):
    with open(os.path.join(ENV.var, "run", "%s.pid" % name)) as f:
        return int(f.read().split()[0])


def log_lines(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace").splitlines()


def count_in_log(path, text):
    return sum(1 for line in log_lines(path) if text in line)


class ConfigFile:
    """A configuration file the test rewrites; the daemon re-reads it on SIGHUP."""

    def __init__(self, path, initial=""):
        self.path = path
        self.original = open(path).read() if os.path.exists(path) else None
        self.write(initial)

    def write(self, text):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.path)

    def restore(self):
        if self.original is None:
            os.unlink(self.path)
        else:
            self.write(self.original)


class WorkerReloadTests(TaskqTestCase):
    def start_configured(self, conf_text, log_file=None):
        queue = self.own_queue("reload")
        path = os.path.join(ENV.var, "etc", "worker-%s.conf" % unique("r"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        conf = ConfigFile(path, conf_text)
        args = ["--config", path]
        if log_file:
            args += ["--log-file", log_file]
        # the stack's TASKQ_* variables would beat the file: blank the ones under test
        env = {"TASKQ_COMMANDS": "", "TASKQ_HTTP_HEADERS": "", "TASKQ_HTTP_ALLOW": "",
               "TASKQ_LOG_LEVEL": "", "TASKQ_POLL_S": ""}
        w = WorkerProc(queue, name=self._testMethodName, args=args, env=env)
        self._workers.append(w)
        w.start()
        w.worker_id()
        return queue, conf, w

    def wait_kind(self, kind):
        """Until the worker has registered kind and taskq-fcgi's kind cache can see it (a miss
        reloads the cache when it is older than a second)."""
        wait_until(lambda: self.db.scalar("SELECT count(*) FROM taskq.kinds WHERE name = %s",
                                          (kind,)) == 1, timeout=10, what="kind registered")
        time.sleep(1.1)

    def wait_log(self, w, path, text, before):
        wait_until(lambda: count_in_log(path, text) > before, timeout=10,
                   what="%r in %s" % (text, path))

    def test_sighup_adds_and_drops_command_kinds_without_losing_a_running_task(self):
        kind = unique("rk").replace("-", "_")
        slow = os.path.join(PROGRAMS, "progress.sh")  # ~1.5 s, then a result
        queue, conf, w = self.start_configured("commands = %s=%s\n" % (kind, slow))
        # the kind is registered: taskq-fcgi takes it
        self.wait_kind(kind)
        running = self.submit_ok(kind, {}, queue=queue)
        wait_for_state(self, running["id"], "running")
        # a reload that drops the kind while it runs: the running attempt keeps its program
        new_kind = unique("rk").replace("-", "_")
        before = count_in_log(w.log_path, "event=reloaded")
        conf.write("commands = %s=%s\n" % (new_kind, os.path.join(PROGRAMS, "result.sh")))
        os.kill(w.pid, signal.SIGHUP)
        self.wait_log(w, w.log_path, "event=reloaded", before)
        done = self.api.wait_for(running["id"], lambda t: t["state"] in (
            "succeeded", "failed", "cancelled"), timeout=20)
        self.assertEqual(done["state"], "succeeded", done)
        self.assertEqual(done["result"].get("steps"), 4)
        # the new kind runs
        self.wait_kind(new_kind)
        t = self.submit_ok(new_kind, {"a": 1}, queue=queue)
        t = self.api.wait_for(t["id"], lambda t: t["state"] in ("succeeded", "failed"),
                              timeout=20)
        self.assertEqual(t["state"], "succeeded", t)
        self.assertTrue(w.alive)

    def test_a_bad_file_changes_nothing(self):
        kind = unique("rk").replace("-", "_")
        queue, conf, w = self.start_configured(
            "commands = %s=%s\n" % (kind, os.path.join(PROGRAMS, "result.sh")))
        self.wait_kind(kind)
        cases = ["no_such_key = 1\n",                          # unknown key
                 "commands = relative=bin/x\n",                # a relative program path
                 "http-allow = 10.0.0.0/99\n",                 # a bad CIDR
                 "log-level = loud\n",                         # not a level
                 "poll = 0\n"]                                 # out of range
        for text in cases:
            before = count_in_log(w.log_path, "event=reload_failed")
            conf.write(text)
            os.kill(w.pid, signal.SIGHUP)
            self.wait_log(w, w.log_path, "event=reload_failed", before)
        # the first configuration still holds: its kind runs
        t = self.submit_ok(kind, {"b": 2}, queue=queue)
        t = self.api.wait_for(t["id"], lambda t: t["state"] in ("succeeded", "failed"),
                              timeout=20)
        self.assertEqual(t["state"], "succeeded", t)
        # a restart-only setting is kept, and said so
        # (one the command line does not set: flags beat the file)
        before = count_in_log(w.log_path, "event=reload_kept option=log-file")
        conf.write("commands = %s=%s\nlog-file = %s\n" % (
            kind, os.path.join(PROGRAMS, "result.sh"), os.path.join(ENV.var, "log", "never.log")))
        os.kill(w.pid, signal.SIGHUP)
        self.wait_log(w, w.log_path, "event=reload_kept option=log-file", before)
        self.assertTrue(w.alive)

    def test_sigusr1_reopens_the_log_file(self):
        log_file = os.path.join(ENV.var, "log", "worker-%s.log" % unique("logfile"))
        queue, conf, w = self.start_configured("", log_file=log_file)
        wait_until(lambda: os.path.exists(log_file) and count_in_log(log_file, "event=started") > 0,
                   timeout=10, what="the log file")
        rotated = log_file + ".1"
        os.rename(log_file, rotated)  # what logrotate does
        os.kill(w.pid, signal.SIGUSR1)
        wait_until(lambda: os.path.exists(log_file), timeout=10, what="a new log file")
        self.wait_log(w, log_file, "event=log_reopened", 0)
        before = count_in_log(log_file, "event=sighup")
        os.kill(w.pid, signal.SIGHUP)
        self.wait_log(w, log_file, "event=sighup", before)
        self.assertEqual(count_in_log(rotated, "event=sighup"), 0)
        # the rotated file ends with the last line before the reopen
        self.assertIn("event=started", "\n".join(log_lines(rotated)))
        os.rename(rotated, log_file + ".old.log")  # the sanitizer scan reads $VAR/log/*.log


def wait_for_state(tc, task_id, state, timeout=15):
    return tc.api.wait_for(task_id, lambda t: t["state"] == state, timeout=timeout)


class FcgiReloadTests(TaskqTestCase):
    def setUp(self):
        super().setUp()
        self.conf = ConfigFile(FCGI_CONF, open(FCGI_CONF).read() if os.path.exists(FCGI_CONF) else "")
        self.pid = read_pid("fcgi")
        self.log = os.path.join(ENV.var, "log", "fcgi.log")

    def tearDown(self):
        before = count_in_log(self.log, "event=reloaded")
        self.conf.restore()
        os.kill(self.pid, signal.SIGHUP)
        wait_until(lambda: count_in_log(self.log, "event=reloaded") > before, timeout=10,
                   what="reload back")
        super().tearDown()

    def reload(self, text, ok=True):
        marker = "event=reloaded" if ok else "event=reload_failed"
        before = count_in_log(self.log, marker)
        self.conf.write(self.conf.original + text)
        os.kill(self.pid, signal.SIGHUP)
        wait_until(lambda: count_in_log(self.log, marker) > before, timeout=10, what=marker)

    def test_sighup_changes_the_body_limit_and_drops_no_request(self):
        body = {"kind": "noop", "payload": {"pad": "x" * 3000}}
        self.assertEqual(self.api.request("POST", "/api/tasks", json_body=body).status, 202)
        self.reload("max-body = 2048\n")
        r = self.api.request("POST", "/api/tasks", json_body=body)
        self.assert_error(r, 413, "too_large")
        # while 20 reloads run, a steady stream of submits and reads sees no failure
        stop, statuses, errors = threading.Event(), [], []

        def load():
            c = Client(keepalive=True)
            try:
                while not stop.is_set():
                    r = c.request("POST", "/api/tasks", json_body={"kind": "noop", "payload": {}})
                    statuses.append(r.status)
                    if r.status == 202:
                        statuses.append(c.get(r.json["id"]).status)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
            finally:
                c.close()

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            for i in range(20):
                self.reload("max-body = %d\n" % (2048 + i))
                time.sleep(0.02)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertEqual(errors, [])
        bad = [s for s in statuses if s not in (200, 202)]
        self.assertGreater(len(statuses), 50)
        self.assertEqual(bad, [], "non-2xx answers during reloads")
        self.report("%d requests during 20 reloads, 0 failed" % len(statuses))

    def test_a_bad_file_keeps_serving_with_the_old_settings(self):
        self.reload("max-body = 2048\n")
        self.reload("max-body = 10\n", ok=False)        # below the range
        self.reload("fair = sometimes\n", ok=False)     # not on/off
        body = {"kind": "noop", "payload": {"pad": "x" * 3000}}
        self.assert_error(self.api.request("POST", "/api/tasks", json_body=body), 413, "too_large")
        self.assertEqual(self.api.healthz().status, 200)

    def test_stray_signals_do_not_stop_request_threads(self):
        # SIGUSR2 once woke the request threads (ignored now); SIGUSR1 reopens the log (none here)
        for _ in range(3):
            os.kill(self.pid, signal.SIGUSR2)
            os.kill(self.pid, signal.SIGUSR1)
        time.sleep(0.2)
        c = Client()
        statuses = [c.healthz().status for _ in range(40)]
        self.assertEqual(set(statuses), {200})
        self.assertEqual(read_pid("fcgi"), self.pid)
