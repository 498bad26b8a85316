#!/usr/bin/python3
"""tests/package/manpages.py — a manual page against its program: no drift, no warnings.

usage: manpages.py PROGRAM PAGE [PAGE...]    (a page may be gzipped, as installed)
       manpages.py                          (under make check: every $srcdir/man/NAME.N
                                             against ./NAME, the binary just built)

For each PAGE of PROGRAM (a path to taskq, taskq-worker or taskq-fcgi):
  - `groff -man -ww -z` renders it without a warning (and `man --warnings -l`, when man-db is
    there, too);
  - the options its OPTIONS section lists (the .TP items whose tag is a --flag) are exactly
    the flags `PROGRAM --help` prints, and --help;
  - each option's item names the flag's environment variable and says "default VALUE" for
    its default (unless that is a path, which depends on the build's prefix), as --help
    prints them.
Prints "ok   PAGE: ..." or "FAIL PAGE: ..." per page; exit status 1 when one failed.
tests/package/run.sh runs it on the unpacked package, make check on the build tree; by hand,
after ./dev build:
  tests/package/manpages.py var/build/taskq-worker man/taskq-worker.8
"""

import glob
import gzip
import os
import re
import shutil
import subprocess
import sys

HELP_LINE = re.compile(r"^\s+--([a-z][a-z0-9-]*)\s+(.*)$")
ITEM_TAG = re.compile(r"^\.(?:B|BI|BR)\s+\\-\\-([a-z][a-z0-9\\-]*)")


def help_flags(program):
    """{flag: (variable or None, default or None)} from PROGRAM --help."""
    out = subprocess.run([program, "--help"], capture_output=True, text=True, timeout=30,
                         env=dict(os.environ, TASKQ_CONFIG=""))
    if out.returncode != 0:
        raise RuntimeError("%s --help: status %d: %s" % (program, out.returncode, out.stderr))
    flags = {}
    for line in out.stdout.splitlines():
        m = HELP_LINE.match(line)
        if not m:
            continue
        words = m.group(2).split()
        var = words.pop(0) if words and re.fullmatch(r"TASKQ_[A-Z0-9_]+", words[0]) else None
        default = words[0] if words and words[0] != "-" else None
        flags[m.group(1)] = (var, default)
    return flags


def read_page(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return f.read()


def plain(roff):
    """Roff source as text, enough for looking words up: font escapes and \\- undone."""
    s = re.sub(r"\\f[BIRP]|\\f\(..|\\&|\\%", "", roff)
    s = s.replace("\\-", "-").replace("\\e", "\\").replace("\\(aq", "'")
    s = re.sub(r'^\.[A-Z]+\s?', "", s, flags=re.M)
    return s.replace('"', "")


def option_items(source):
    """{flag: item text} of the .TP items of the OPTIONS section."""
    items, section, lines = {}, None, source.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(".SH"):
            section = line[3:].strip().strip('"')
            continue
        if section != "OPTIONS" or line.strip() != ".TP" or i + 1 >= len(lines):
            continue
        m = ITEM_TAG.match(lines[i + 1])
        if not m:
            continue
        body = []
        for nxt in lines[i + 1:]:
            if body and (nxt.startswith(".TP") or nxt.startswith(".SH")):
                break
            body.append(nxt)
        items[m.group(1).replace("\\-", "-")] = plain("\n".join(body))
    return items


def render_warnings(path, source):
    """groff's (and man's) warnings about the page, as text ('' when none)."""
    msgs = []
    r = subprocess.run(["groff", "-man", "-ww", "-z"], input=source, capture_output=True,
                       text=True, timeout=60)
    msgs.append(r.stderr.strip())
    if r.returncode != 0:
        msgs.append("groff: status %d" % r.returncode)
    if shutil.which("man"):
        r = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", path],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80"))
        msgs.append(r.stderr.strip())
    return "\n".join(m for m in msgs if m)


def check(program, path):
    source = read_page(path)
    problems = []
    warnings = render_warnings(path, source)
    if warnings:
        problems.append("renders with warnings: " + warnings.replace("\n", " | ")[:600])
    flags = help_flags(program)
    items = option_items(source)
    missing = sorted(set(flags) - set(items))
    extra = sorted(set(items) - set(flags) - {"help"})
    if missing:
        problems.append("--help has flags the page does not list: --" + ", --".join(missing))
    if extra:
        problems.append("the page lists flags --help does not: --" + ", --".join(extra))
    if "help" not in items:
        problems.append("the page does not list --help")
    for flag, (var, default) in sorted(flags.items()):
        text = items.get(flag)
        if text is None:
            continue
        if var and not re.search(r"\b%s\b" % re.escape(var), text):
            problems.append("--%s: its variable %s is not named" % (flag, var))
        if default and "/" not in default and \
                not re.search(r"default:?\s+%s(?!\w)" % re.escape(default), text):
            problems.append("--%s: its default %s is not given" % (flag, default))
    return problems, len(flags)


def check_build(srcdir):
    """make check: each page of srcdir/man against the program of its name in the current
    directory (the build tree); 77 (automake's skip) without groff."""
    if not shutil.which("groff"):
        print("skip: no groff (Debian package groff-base)")
        return 77
    pages = sorted(glob.glob(os.path.join(srcdir, "man", "*.[0-9]")))
    if not pages:
        print("FAIL no manual page in %s/man" % srcdir)
        return 1
    return max(main([os.path.join(".", re.sub(r"\.[0-9]$", "", os.path.basename(page))), page])
               for page in pages)


def main(argv):
    if not argv and "srcdir" in os.environ:
        return check_build(os.environ["srcdir"])
    if len(argv) < 2 or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv and argv[0] in ("-h", "--help") else 64
    program, pages = argv[0], argv[1:]
    failed = 0
    for page in pages:
        name = os.path.basename(page)
        try:
            problems, n = check(program, page)
        except (OSError, RuntimeError, subprocess.SubprocessError) as e:
            problems, n = ["%s: %s" % (type(e).__name__, e)], 0
        if problems:
            failed += 1
            print("FAIL %s: %s" % (name, "; ".join(problems)))
        else:
            print("ok   %s: renders without warnings; its %d options are %s --help's, with "
                  "their variables and defaults" % (name, n + 1, os.path.basename(program)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
