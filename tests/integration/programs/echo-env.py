#!/usr/bin/python3
"""Reports what it was started with: stdin bytes, environment, argv, cwd, open fds, limits,
process group, blocked signals. With "fail_first": true the first attempt exits 5."""
import json
import os
import resource
import sys

raw = sys.stdin.buffer.read()
if json.loads(raw).get("fail_first") and os.environ.get("TASKQ_ATTEMPT") == "1":
    sys.stderr.write("first attempt fails on purpose\n")
    sys.exit(5)


def is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines()
              if ":\t" in line)
print("progress 50 reporting")
print(json.dumps({
    "stdin": raw.decode("utf-8"),
    "env": dict(os.environ),
    "argv": sys.argv,
    "cwd": os.getcwd(),
    "fds": [fd for fd in range(256) if is_open(fd)],
    "nofile_soft": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
    "core": list(resource.getrlimit(resource.RLIMIT_CORE)),
    "own_group": os.getpgid(0) == os.getpid(),
    "sigblk": status["SigBlk"].strip(),
}, ensure_ascii=False, indent=1))
