#!/usr/bin/env python3
"""A command program that streams output (the "output TEXT" lines of the command protocol).

Payload {"n": N, "gap_ms": M, "size": S, "json": bool, "stamp": bool, "fail_first": bool}:
prints N output lines M ms apart, each the chunk "<i> " plus S-2 filler characters (with
"stamp", "<i> <unix time in ns>" instead, for latency tests), as `output "<chunk>"` (a JSON
string: no line break added) when "json", else as `output <chunk>` (the worker adds '\\n');
a progress line every 10 chunks; then a result {"chunks": N}. With "fail_first", attempt 1
fails after its output, so a retry continues the task's seq.
"""
import json
import os
import sys
import time

p = json.loads(sys.stdin.readline() or "{}")
n, gap, size = int(p.get("n", 5)), p.get("gap_ms", 0) / 1000.0, int(p.get("size", 8))
for i in range(1, n + 1):
    if p.get("stamp"):
        chunk = "%d %d" % (i, time.time_ns())
    else:
        chunk = ("%d " % i).ljust(max(size, 2), "x")
    if p.get("json"):
        print("output " + json.dumps(chunk), flush=True)
    else:
        print("output " + chunk, flush=True)
    if i % 10 == 0:
        print("progress %d chunk %d" % (i * 99 // n, i), flush=True)
    if gap:
        time.sleep(gap)
if p.get("fail_first") and os.environ.get("TASKQ_ATTEMPT") == "1":
    sys.exit(3)
print(json.dumps({"chunks": n}))
