"""Group commit: submits that arrive together share one INSERT and one commit (fcgi/bg/combine.c).
Every one still gets its own 202 with its own task, only after the commit, and nothing is
lost or doubled."""

import re
import threading

from taskq_harness import Client, TaskqTestCase


def group_histogram():
    text = Client().request("GET", "/metrics").body.decode()
    counts = dict(re.findall(r'^taskq_submit_group_size_bucket\{le="([^"]+)"\} (\d+)$', text, re.M))
    total = re.search(r"^taskq_submit_group_size_sum (\S+)$", text, re.M)
    return {k: int(v) for k, v in counts.items()}, float(total.group(1)) if total else 0.0


class GroupCommitTests(TaskqTestCase):
    def test_concurrent_submits_each_get_their_own_task(self):
        q = self.own_queue("group")
        before, before_sum = group_histogram()
        results, errors = [], []

        def client(k):
            c = Client(keepalive=True)
            try:
                for i in range(40):
                    r = c.submit("noop", {"client": k, "i": i}, queue=q)
                    results.append((k, i, r.status, r.json.get("id"), r.json.get("payload")))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
            finally:
                c.close()

        threads = [threading.Thread(target=client, args=(k,)) for k in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 24 * 40)
        self.assertEqual({r[2] for r in results}, {202})
        ids = [r[3] for r in results]
        self.assertEqual(len(set(ids)), len(ids))
        # each answer carries its own task
        for k, i, _, _, payload in results:
            self.assertEqual(payload, {"client": k, "i": i})
        rows = self.db.query("SELECT id::text AS id, payload FROM taskq.tasks WHERE queue = %s", (q,))
        self.assertEqual(len(rows), len(ids))
        by_id = {row["id"]: row["payload"] for row in rows}
        for k, i, _, tid, _ in results:
            self.assertEqual(by_id[tid], {"client": k, "i": i})
        after, after_sum = group_histogram()
        groups = after["+Inf"] - before.get("+Inf", 0)
        grouped = after_sum - before_sum
        self.assertGreaterEqual(grouped, len(ids))
        self.report("%d submits from 24 clients in %d statements (%.1f a statement)" % (
            len(ids), groups, grouped / max(groups, 1)))
