#!/usr/bin/python3
"""The wait protocol's test program. Payload {"signal", "timeout_s"?, "mode"?, "runs_file"?,
"always_wait"?}: appends a line to runs_file at each run; when TASKQ_SIGNALS holds the signal
(and, with always_wait, on the second run or later) it prints the result
{"got": payload of the signal, "signals": all of them, "checkpoint": TASKQ_CHECKPOINT};
else it stores a checkpoint and prints "wait SIGNAL [TIMEOUT_S [MODE]]" and exits 0."""
import json
import os
import sys

p = json.loads(sys.stdin.read())
runs = 0
if p.get("runs_file"):
    with open(p["runs_file"], "a") as f:
        f.write("run\n")
    with open(p["runs_file"]) as f:
        runs = len(f.readlines())
signals = json.loads(os.environ.get("TASKQ_SIGNALS", "{}"))
cp = json.loads(os.environ.get("TASKQ_CHECKPOINT", "null"))
name = p["signal"]
if name in signals and (not p.get("always_wait") or runs > 1):
    print(json.dumps({"got": signals[name], "signals": signals, "checkpoint": cp, "runs": runs}))
    sys.exit(0)
print("checkpoint " + json.dumps({"asked": name, "runs": runs}))
line = "wait " + name
if p.get("timeout_s"):
    line += " %s" % p["timeout_s"]
    if p.get("mode"):
        line += " " + p["mode"]
print(line, flush=True)
