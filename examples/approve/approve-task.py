#!/usr/bin/python3
"""approve-task — the slow part of an approval, as a taskq command kind.

The example's worker runs it for the kind "approve" (./dev example starts that worker with
--commands approve=…/approve-task.py). The payload arrives on stdin as one line of JSON;
each "progress P message" line on stdout updates the task; the last JSON value printed is
the result (docs/kinds.md, Command kinds). Five steps of step_ms (default 700 ms) each: about
3.5 s, the kind of wait a user would otherwise spend staring at a frozen button.

The wait protocol (docs/waits.md):
- A task submitted with "wait_for": {"signal": "approve"} (the app's approver link) runs
  once the approver sent the signal; TASKQ_SIGNALS holds its payload. {"approved": false}
  ends the task at once with a rejection. A payload with "needs_signal": true and no such
  signal yet makes the program itself ask to wait: it prints "wait approve 86400".
- Each step ends with a "checkpoint" line: a run that dies (its worker killed) goes on, on
  another worker, from the step after its last checkpoint (TASKQ_CHECKPOINT), so no step's
  side effect (the budget reservation, the ledger entry) is done twice.
"""

import json
import os
import sys
import time

STEPS = [
    (5, "checking the request"),
    (25, "checking the department budget"),
    (50, "reserving the amount"),
    (70, "notifying finance"),
    (90, "writing the ledger entry"),
]


def progress(pct, message):
    print("progress %d %s" % (pct, message), flush=True)


def summary_step(payload, signals):
    """The place for the approval's summary written by an LLM and streamed as the task's
    output; until that lands, a fixed sentence."""
    return "%s approved %s." % (payload.get("approver") or "The approver", payload.get("amount"))


def main():
    payload = json.loads(sys.stdin.readline() or "{}")
    signals = json.loads(os.environ.get("TASKQ_SIGNALS", "{}"))
    checkpoint = json.loads(os.environ.get("TASKQ_CHECKPOINT", "null")) or {"next": 0}
    step_s = min(max(int(payload.get("step_ms", 700)), 0), 5000) / 1000.0
    approval_id = int(payload.get("approval_id", 0))
    decision = signals.get("approve")
    if payload.get("needs_signal") and decision is None:
        print("wait approve 86400", flush=True)
        return
    if isinstance(decision, dict) and decision.get("approved") is False:
        print(json.dumps({"approval_id": approval_id, "request_id": payload.get("request_id"),
                          "rejected": True, "reason": decision.get("reason")}), flush=True)
        return
    for i, (pct, message) in enumerate(STEPS):
        if i < checkpoint["next"]:
            continue                      # done by an earlier run: not again
        progress(pct, message)
        time.sleep(step_s)
        print("checkpoint " + json.dumps({"next": i + 1}), flush=True)
    progress(100, "approved")
    print(json.dumps({
        "approval_id": approval_id,
        "request_id": payload.get("request_id"),
        "reference": "APR-%06d" % approval_id,
        "approved_by": payload.get("approver"),
        "amount": payload.get("amount"),
        "approved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "summary": summary_step(payload, signals),
    }), flush=True)


if __name__ == "__main__":
    main()
