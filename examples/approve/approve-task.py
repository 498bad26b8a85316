#!/usr/bin/python3
"""approve-task — the slow part of an approval, as a taskq command kind.

The example's worker runs it for the kind "approve" (./dev example starts that worker with
--commands approve=…/approve-task.py). The payload arrives on stdin as one line of JSON;
each "progress P message" line on stdout updates the task; the last JSON value printed is
the result (README.md, Command kinds). Five steps of step_ms (default 700 ms) each: about
3.5 s, the kind of wait a user would otherwise spend staring at a frozen button.
"""

import json
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


def main():
    payload = json.loads(sys.stdin.readline() or "{}")
    step_s = min(max(int(payload.get("step_ms", 700)), 0), 5000) / 1000.0
    approval_id = int(payload.get("approval_id", 0))
    for pct, message in STEPS:
        progress(pct, message)
        time.sleep(step_s)
    progress(100, "approved")
    print(json.dumps({
        "approval_id": approval_id,
        "request_id": payload.get("request_id"),
        "reference": "APR-%06d" % approval_id,
        "approved_by": payload.get("approver"),
        "amount": payload.get("amount"),
        "approved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }), flush=True)


if __name__ == "__main__":
    main()
