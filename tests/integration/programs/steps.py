#!/usr/bin/python3
"""Five steps, each with a side effect (a line "step N" appended to DIR/log) and a checkpoint
after it ({"next": N + 1}); a run starts at the step its TASKQ_CHECKPOINT names. Payload
{"dir", "step_s"?, "slow_step"?, "slow_s"?}: step slow_step sleeps slow_s before its side
effect the first time (DIR/slowed marks it), so that a test can kill the worker there."""
import json
import os
import sys
import time

p = json.loads(sys.stdin.read())
d = p["dir"]
cp = json.loads(os.environ.get("TASKQ_CHECKPOINT", "null")) or {"next": 1}
with open(os.path.join(d, "runs"), "a") as f:
    f.write("%s %s\n" % (os.environ["TASKQ_ATTEMPT"], cp["next"]))
for step in range(cp["next"], 6):
    print("progress %d step %d of 5" % (step * 20 - 10, step), flush=True)
    time.sleep(p.get("step_s", 0.1))
    marker = os.path.join(d, "slowed")
    if step == p.get("slow_step") and not os.path.exists(marker):
        open(marker, "w").close()
        time.sleep(p.get("slow_s", 30))
    with open(os.path.join(d, "log"), "a") as f:
        f.write("step %d\n" % step)
    print("checkpoint " + json.dumps({"next": step + 1}), flush=True)
print(json.dumps({"steps": 5}))
