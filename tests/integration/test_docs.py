"""The docs are true: every relative link resolves, and every ```sh block runs.

Files: README.md, NEWS.md and docs/*.md (each on README's map, and installed by Makefile.am).

Links: every relative link and image target outside code must name a file or directory of the
checkout, and its #anchor a heading of the Markdown file it names (GitHub's slugs: lower case,
punctuation other than - and _ dropped, spaces to -, -1, -2 ... for repeats). A bare #anchor
names a heading of the same file.

README's walk-through (## Five minutes with curl) is ```sh blocks only, so every step of it
runs here.

Shell blocks, the convention the docs follow:
  ```sh       runs as written against a ./dev run stack, so here against the stack under test;
  ```console  commands that need what that stack lacks (root, systemd, packages, other hosts,
              starting or stopping a stack, a long benchmark): never run;
  anything else (```text output, ```sql, ```bash script files, ```python ...): never run.
The sh blocks of one file run in order in one bash (`set -eu -o pipefail`), in the checkout's
top directory, so later blocks use what earlier ones set ($ID ...). The environment has TASKQ
(the stack's URL, which the docs default to ./dev run's) and TASKQ_VAR (so ./dev psql and
./dev taskq reach this stack), and none of TOKEN, AUTH, ID or TASKQ_TOKEN (the suite's token,
which the CLI would act with): the docs define every variable they use, as a reader copying
them needs. The stack under test has auth on (./dev run's has it off): where answers differ,
the docs expect auth on's and note auth off's. A block passes when the shell gets past it,
every error code its output shows ("code":"...") is one its text names, and the HTTP statuses
its output shows alone on a line (`curl -w '%{http_code}'`, `-w 'HTTP %{http_code}'`, the
status line of `curl -i`) are, in order, the ones its comments expect the same way (a comment
line `# 304`, `# HTTP 409 …`, `# HTTP/1.1 202 Accepted`): the answers the docs expect are
written as comments under the commands, so an answer they do not expect fails (a stale ETag
that gets a 200 where the text promises a 304, a kind the stack lacks that gets a 400 where it
promises a 201). A schedule the blocks made that the workers' scheduler disabled (a kind no
worker runs, a bad zone: its `event=schedule_disabled` line in the worker logs) fails too.
Afterwards the tasks left unfinished by owners whose tokens the file made are cancelled, and
those tokens revoked; schedules, rate limits or concurrency limits it left behind are removed
and fail the test (the docs clean up after themselves, as a reader's stack should be left).
"""

import glob
import os
import re
import subprocess
import unittest

from taskq_harness import ENV, TOP, TaskqTestCase, db

DOCS = ["README.md", "NEWS.md"] + sorted(
    os.path.join("docs", f) for f in os.listdir(os.path.join(TOP, "docs")) if f.endswith(".md"))
FILE_TIMEOUT = 100  # seconds for all sh blocks of one file (the runner's alarm is 120)
MARK = "@@taskq-docs-block"

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
ERROR_CODE = re.compile(r'"code"\s*:\s*"([a-z_]+)"')
# an HTTP status alone on a line of output, and a comment line that expects one
STATUS_SHOWN = re.compile(r"^(?:HTTP/[0-9.]+ |HTTP )?([1-5][0-9][0-9])(?: .*)?$")
STATUS_EXPECTED = re.compile(r"^\s*#\s*(?:HTTP/[0-9.]+ |HTTP )?([1-5][0-9][0-9])(?:\s.*)?$")
SCHEDULE_DISABLED = re.compile(r'event=schedule_disabled schedule=(\S+) msg="([^"]*)"')


def read(path):
    with open(os.path.join(TOP, path), encoding="utf-8") as f:
        return f.read()


def blocks(text):
    """[(info, first line number, body)] of the fenced code blocks, and the text outside them
    (fenced lines blanked, so line numbers stay)."""
    out, outside, fence, info, start, body = [], [], None, "", 0, []
    for n, line in enumerate(text.split("\n"), 1):
        m = FENCE.match(line)
        if fence is None:
            if m:
                fence, info, start, body = m.group(1), m.group(2).lower(), n + 1, []
                outside.append("")
            else:
                outside.append(line)
        elif m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not m.group(2):
            out.append((info, start, "\n".join(body)))
            fence = None
            outside.append("")
        else:
            body.append(line)
            outside.append("")
    return out, "\n".join(outside)


def slug(heading):
    """GitHub's anchor for a heading's text."""
    s = CODE_SPAN.sub(lambda m: m.group(2), heading)
    s = LINK.sub(lambda m: m.group(1), s)
    s = re.sub(r"<[^>]*>", lambda m: m.group(0)[1:-1], s)  # <taskq-progress> is text
    s = re.sub(r"[^\w\- ]", "", s.lower())
    return s.replace(" ", "-")


def anchors(path):
    seen, out = {}, set()
    _, outside = blocks(read(path))
    for line in outside.split("\n"):
        m = HEADING.match(line)
        if not m:
            continue
        s = slug(m.group(2))
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else "%s-%d" % (s, n))
    return out


def links(path):
    """[(line number, target)] of the links and images outside code."""
    _, outside = blocks(read(path))
    out = []
    for n, line in enumerate(CODE_SPAN.sub(lambda m: "\n" * m.group(0).count("\n"),
                                           outside).split("\n"), 1):
        for m in LINK.finditer(line):
            out.append((n, m.group(2)))
    return out


class DocLinkTests(unittest.TestCase):
    def test_relative_links_resolve(self):
        bad = []
        for doc in DOCS:
            for n, target in links(doc):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
                    continue
                path, _, frag = target.partition("#")
                where = os.path.normpath(os.path.join(os.path.dirname(doc), path)) if path else doc
                if where.startswith("..") or not os.path.exists(os.path.join(TOP, where)):
                    bad.append("%s:%d: %s: no such file" % (doc, n, target))
                elif frag and (not where.endswith(".md") or frag not in anchors(where)):
                    bad.append("%s:%d: %s: no such heading in %s" % (doc, n, target, where))
        self.assertEqual(bad, [], "\n".join(bad))

    def test_every_doc_page_is_on_the_map(self):
        """README's Documentation section names every page of docs/."""
        targets = {t.partition("#")[0] for _, t in links("README.md")}
        missing = [d for d in DOCS if d.startswith("docs/") and d not in targets]
        self.assertEqual(missing, [], "pages README.md does not link")

    def test_readme_walk_through_runs(self):
        """Every code block of README's walk-through (## Five minutes with curl) is a ```sh
        block, which DocShellTests runs: none of its steps is fenced so that it is skipped."""
        text = read("README.md")
        found, outside = blocks(text)
        heads = [(n, m.group(1), m.group(2)) for n, line in enumerate(outside.split("\n"), 1)
                 for m in [HEADING.match(line)] if m]
        start = [n for n, level, h in heads if level == "##" and h == "Five minutes with curl"]
        self.assertEqual(len(start), 1, "README.md has no section 'Five minutes with curl'")
        end = min([n for n, level, _ in heads if len(level) <= 2 and n > start[0]] +
                  [len(outside.split("\n")) + 1])
        walk = [(n, info) for info, n, _ in found if start[0] < n < end]
        self.assertGreaterEqual(len(walk), 4, "README.md's walk-through has lost its blocks")
        skipped = ["README.md:%d: ```%s" % (n - 1, info) for n, info in walk if info != "sh"]
        self.assertEqual(skipped, [], "walk-through blocks test_docs would not run")

    def test_every_page_is_installed(self):
        """Makefile.am installs every page beside README.md (its links resolve there too)."""
        am = read("Makefile.am")
        missing = [d for d in DOCS if d not in am]
        self.assertEqual(missing, [], "pages Makefile.am does not install")


class DocShellTests(TaskqTestCase):
    """One test per file with ```sh blocks (added below)."""

    def run_file(self, doc):
        sh = [(start, body) for info, start, body in blocks(read(doc))[0] if info == "sh"]
        script = ["set -eu -o pipefail", "cd %s" % sh_quote(TOP)]
        for i, (start, body) in enumerate(sh):
            script.append("printf '\\n%s %d\\n'" % (MARK, i))
            script.append(body)
        script.append("printf '\\n%s end\\n'" % MARK)
        env = {k: v for k, v in os.environ.items()
               if k not in ("TOKEN", "AUTH", "ID", "R", "TASKQ_TOKEN")}
        env.update(TASKQ=ENV.url, TASKQ_VAR=ENV.var, TASKQ_BUILD=ENV.build)
        before = self.snapshot()
        logs = worker_logs()
        try:
            p = subprocess.run(["bash", "--noprofile", "--norc", "-c", "\n".join(script)],
                               cwd=TOP, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=FILE_TIMEOUT)
            out, rc = p.stdout, p.returncode
        except subprocess.TimeoutExpired as e:
            out, rc = (e.stdout or b"").decode("utf-8", "replace"), "timeout"
        finally:
            left = self.clean_up(before)
        parts = re.split(r"\n%s (\d+|end)\n" % MARK, "\n" + out)
        ran = dict(zip(parts[1::2], parts[2::2]))
        for i, (start, body) in enumerate(sh):
            if str(i) not in ran:
                break
            shown = set(ERROR_CODE.findall(ran[str(i)]))
            unexpected = sorted(c for c in shown if c not in body)
            self.assertEqual(unexpected, [], "%s:%d: the block answered errors it does not "
                             "expect:\n%s" % (doc, start, tail(ran[str(i)])))
            if (str(i + 1) if i + 1 < len(sh) else "end") not in ran:
                continue    # it failed: said below
            got, want = statuses(ran[str(i)], STATUS_SHOWN), statuses(body, STATUS_EXPECTED)
            if got != want:
                self.fail("%s:%d: the block answered HTTP statuses %s where its comments "
                          "expect %s:\n%s" % (doc, start, " ".join(got) or "none",
                                               " ".join(want) or "none", tail(ran[str(i)])))
        if "end" not in ran:
            last = max((int(k) for k in ran if k != "end"), default=0)
            self.fail("%s:%d: the block failed (exit %s):\n%s" % (
                doc, sh[last][0], rc, tail(ran.get(str(last), out))))
        self.assertEqual(left, [], "%s left these behind" % doc)
        disabled = ["%s (%s)" % m for m in SCHEDULE_DISABLED.findall(worker_logs(logs))
                    if m[0] not in before["schedules"]]
        self.assertEqual(disabled, [], "%s: the scheduler disabled schedules the blocks made"
                         % doc)

    def snapshot(self):
        q = db().query
        return {
            "token": q("SELECT coalesce(max(id), 0) AS id FROM taskq.tokens")[0]["id"],
            "schedules": {r["name"] for r in q("SELECT name FROM taskq.schedules")},
            "rate_limits": {(r["scope"], r["name"]) for r in
                            q("SELECT scope, name FROM taskq.rate_limits")},
            "concurrency_limits": {r["key"] for r in
                                   q("SELECT key FROM taskq.concurrency_limits")},
        }

    def clean_up(self, before):
        """Cancels the unfinished tasks of owners the blocks made tokens for and revokes those
        tokens; removes the schedules and limits the blocks left, and returns their names."""
        q, left = db().query, []
        owners = [r["owner"] for r in q("SELECT DISTINCT owner FROM taskq.tokens WHERE id > %s",
                                        (before["token"],))]
        q("SELECT taskq.cancel(id) FROM taskq.tasks WHERE owner = ANY(%s) "
          "AND state IN ('queued', 'running')", (owners,))
        q("UPDATE taskq.tokens SET revoked_at = now() WHERE id > %s AND revoked_at IS NULL",
          (before["token"],))
        for r in q("SELECT name FROM taskq.schedules"):
            if r["name"] not in before["schedules"]:
                q("DELETE FROM taskq.schedules WHERE name = %s", (r["name"],))
                left.append("schedule %s" % r["name"])
        for r in q("SELECT scope, name FROM taskq.rate_limits"):
            if (r["scope"], r["name"]) not in before["rate_limits"]:
                q("DELETE FROM taskq.rate_limits WHERE scope = %s AND name = %s",
                  (r["scope"], r["name"]))
                left.append("rate limit %s %s" % (r["scope"], r["name"]))
        for r in q("SELECT key FROM taskq.concurrency_limits"):
            if r["key"] not in before["concurrency_limits"]:
                q("DELETE FROM taskq.concurrency_limits WHERE key = %s", (r["key"],))
                left.append("concurrency limit %s" % r["key"])
        return left


def statuses(text, pattern):
    """The HTTP statuses of text's lines that pattern matches, in order."""
    return [m.group(1) for m in map(pattern.match, text.replace("\r", "").split("\n")) if m]


def worker_logs(since=None):
    """With no argument, {path: size} of the stack's worker logs; with such a map, what those
    logs got since (a log that was not there yet: all of it)."""
    paths = glob.glob(os.path.join(ENV.var, "log", "worker*.log"))
    if since is None:
        return {p: os.path.getsize(p) for p in paths}
    out = []
    for p in paths:
        with open(p, encoding="utf-8", errors="replace") as f:
            f.seek(since.get(p, 0))
            out.append(f.read())
    return "\n".join(out)


def sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def tail(text, n=40):
    lines = text.strip("\n").split("\n")
    return "\n".join(lines[-n:])


def _add(doc):
    name = "test_sh_" + re.sub(r"\W", "_", doc[:-3]).lower()
    setattr(DocShellTests, name, lambda self: self.run_file(doc))


for _doc in DOCS:
    if os.path.exists(os.path.join(TOP, _doc)) and any(
            info == "sh" for info, _, _ in blocks(read(_doc))[0]):
        _add(_doc)
