#!/usr/bin/env python3
"""tests/layout/rooms.py: the source tree keeps its rooms. Static checks over the C sources,
no build needed (./dev test runs it beside the unit tests):

  kinds-api      a file of worker/kinds/ includes only worker/kinds/api.h, headers beside it
                 in worker/kinds/ (a kind's private helpers) and lib/ headers (found anywhere
                 under lib/), plus system headers: a kind never sees the worker's engine;
  size           no C or C++ file of lib/, worker/, fcgi/, cli/ or the unit and fuzz tests is
                 over 600 lines;
  no-cycles      no two modules of worker/ or fcgi/ include each other's headers.

It must not compile or run anything. Last line: "layout: N passed, N failed"; exit status 1
when a check failed."""
import os
import re
import sys

TOP = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
KINDS = os.path.join("worker", "kinds")
MAX_LINES = 600
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def sources(*dirs, exts=(".c", ".h")):
    for d in dirs:
        for root, _, files in os.walk(os.path.join(TOP, d)):
            for f in sorted(files):
                if f.endswith(exts):
                    yield os.path.relpath(os.path.join(root, f), TOP)


def includes(path):
    with open(os.path.join(TOP, path), encoding="utf-8", errors="replace") as f:
        return INCLUDE.findall(f.read())


def lib_header(name):
    """True when name is a header of lib/, by its path under lib/ or by its name alone (lib/
    may be grouped in sub-folders that are on the include path)."""
    name = os.path.normpath(name)
    if name.startswith(".."):
        return False
    for p in sources("lib", exts=(".h",)):
        rel = os.path.relpath(p, "lib")
        if rel == name or rel.endswith(os.sep + name):
            return True
    return False


def check_kinds_api():
    bad = []
    kinds_dir = os.path.join(TOP, KINDS)
    for path in sources(KINDS):
        for inc in includes(path):
            here = os.path.normpath(os.path.join(os.path.dirname(os.path.join(TOP, path)), inc))
            if os.path.dirname(here) == kinds_dir and os.path.exists(here):
                continue  # api.h or a kind-private header beside it
            if lib_header(inc):
                continue
            bad.append(f'{path}: includes "{inc}" (a kind sees only api.h, its own helpers and lib/)')
    return bad


def check_size():
    bad = []
    for path in sources("lib", "worker", "fcgi", "cli", "tests/unit", "tests/fuzz", exts=(".c", ".cc", ".h")):
        with open(os.path.join(TOP, path), encoding="utf-8", errors="replace") as f:
            n = sum(1 for _ in f)
        if n > MAX_LINES:
            bad.append(f"{path}: {n} lines (at most {MAX_LINES}: split it by what it owns)")
    return bad


def module(path):
    return re.sub(r"_impl$", "", os.path.splitext(path)[0])


def check_cycles():
    """A module is a .c/.h pair (with its private x_impl.h, if any); module A depends on B when
    a file of A includes B's header (resolved beside the including file, then in its binary's
    folder)."""
    bad = []
    for top in ("worker", "fcgi"):
        headers = {p for p in sources(top, exts=(".h",))}
        deps = {}
        for path in sources(top):
            mod = module(path)
            for inc in includes(path):
                for base in (os.path.dirname(path), top):
                    h = os.path.normpath(os.path.join(base, inc))
                    if h in headers:
                        other = module(h)
                        if other != mod:
                            deps.setdefault(mod, set()).add(other)
                        break
        for a in sorted(deps):
            for b in sorted(deps[a]):
                if a < b and a in deps.get(b, ()):
                    bad.append(f"{a} and {b} include each other's headers")
    return bad


def main():
    passed = failed = 0
    for name, check in (("kinds-api", check_kinds_api), ("size", check_size),
                        ("no-cycles", check_cycles)):
        bad = check()
        if bad:
            failed += 1
            print(f"FAIL {name}")
            for line in bad:
                print(f"     | {line}")
        else:
            passed += 1
            print(f"ok   {name}")
    print(f"layout: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
