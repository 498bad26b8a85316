#!/usr/bin/python3
"""A task body for chains and follow-ups. Payload (every field optional):
  "sleep_ms": M     sleep M ms first
  "followups": N    enqueue N noop tasks (in "queue", else the task's own) whose payload names
                    this task: {"parent": <TASKQ_TASK_ID>, "i": k}
  "enqueue": [...]  enqueue these tasks as they are (after "followups", if both)
  "blob": N         put a string of N bytes in the result (a large result)
  "value": V        put V in the result
  "exit": C         exit with status C after printing the result
The result also says what the program got as its parents: "parents" (the JSON array of
TASKQ_PARENTS, or of the file TASKQ_PARENTS_FILE names, else null), "parents_via" ("env",
"file" or null), "parents_file" and "parents_file_mode" (its path and octal mode, for a
file)."""
import json
import os
import sys
import time

payload = json.loads(sys.stdin.read() or "{}")
if payload.get("sleep_ms"):
    time.sleep(payload["sleep_ms"] / 1000.0)

result = {"task": os.environ.get("TASKQ_TASK_ID"), "parents": None, "parents_via": None}
if "TASKQ_PARENTS" in os.environ:
    result["parents"] = json.loads(os.environ["TASKQ_PARENTS"])
    result["parents_via"] = "env"
elif "TASKQ_PARENTS_FILE" in os.environ:
    path = os.environ["TASKQ_PARENTS_FILE"]
    with open(path) as f:
        result["parents"] = json.load(f)
    result["parents_via"] = "file"
    result["parents_file"] = path
    result["parents_file_mode"] = "%o" % (os.stat(path).st_mode & 0o777)
    # a big list of parents would make this result too big to keep: their ids are enough
    for p in result["parents"]:
        p["result"] = "(%d bytes)" % len(json.dumps(p["result"]))

enqueue = []
for k in range(payload.get("followups", 0)):
    t = {"kind": "noop", "payload": {"parent": os.environ.get("TASKQ_TASK_ID"), "i": k}}
    if payload.get("queue"):
        t["queue"] = payload["queue"]
    enqueue.append(t)
if isinstance(payload.get("enqueue"), list):
    enqueue += payload["enqueue"]
if enqueue:
    result["enqueue"] = enqueue
elif "enqueue" in payload:
    result["enqueue"] = payload["enqueue"]  # whatever it is: not a list
if payload.get("blob"):
    result["blob"] = "x" * payload["blob"]
if "value" in payload:
    result["value"] = payload["value"]

print("progress 90 done")
print(json.dumps(result))
sys.exit(payload.get("exit", 0))
