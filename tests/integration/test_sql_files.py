"""The layout of sql/ (no database needed): each function, view and trigger is written once,
the schema chain holds no functions and the function files no tables, the schema steps are
numbered without gaps or repeats, and order.txt and Makefile.am name every file.

sql/schema/NNN_*.sql is applied once per database (recorded); sql/functions/*.sql is applied
by every `taskq migrate`, so a definition copied into a later file would silently replace the
earlier one, or leave a second overload behind.
"""

import glob
import os
import re
import subprocess
import unittest

from taskq_harness import TOP

SQL = os.path.join(TOP, "sql")
SCHEMA = os.path.join(SQL, "schema")
FUNCTIONS = os.path.join(SQL, "functions")

# The functions the schema chain defines itself, and why: a column default names it, so it
# must exist before the table, and the function files run after the chain.
SCHEMA_FUNCTIONS = {"taskq.uuid_v7": "the default of taskq.tasks.id"}

CREATE = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(FUNCTION|VIEW|TRIGGER)\s+([A-Za-z0-9_.]+)",
                    re.I | re.M)


def sql_files():
    return sorted(glob.glob(os.path.join(SCHEMA, "*.sql")) + glob.glob(os.path.join(FUNCTIONS, "*.sql")))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def strip_comments(text):
    return re.sub(r"--[^\n]*", "", text)


def defined():
    """{(kind, name): [files]} of every CREATE FUNCTION / VIEW / TRIGGER under sql/."""
    found = {}
    for path in sql_files():
        for kind, name in CREATE.findall(strip_comments(read(path))):
            found.setdefault((kind.upper(), name.lower()), []).append(os.path.relpath(path, SQL))
    return found


def makefile_list(var):
    text = read(os.path.join(TOP, "Makefile.am")).replace("\\\n", " ")
    m = re.search(r"^%s\s*=(.*)$" % re.escape(var), text, re.M)
    if not m:
        raise AssertionError("Makefile.am has no %s" % var)
    return m.group(1).split()


def order_list():
    names = []
    for line in read(os.path.join(FUNCTIONS, "order.txt")).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.append(line)
    return names


class SqlFilesTests(unittest.TestCase):

    def test_each_function_view_and_trigger_is_written_once(self):
        found = defined()
        self.assertGreater(len(found), 60, "too few definitions found: %s" % sorted(found))
        twice = {"%s %s" % k: v for k, v in found.items() if len(v) > 1}
        self.assertEqual(twice, {}, "defined more than once")
        # the rule as a person checks it: grep -ciE 'create (or replace )?function NAME\b'
        # over all of sql/ says 1 (the same for views and triggers)
        for (kind, name) in sorted(found):
            with self.subTest(name=name):
                p = subprocess.run(
                    ["grep", "-rhciE", r"create (or replace )?%s %s\b" % (kind.lower(),
                                                                         re.escape(name)), SQL],
                    capture_output=True, text=True)
                self.assertEqual(sum(int(n) for n in p.stdout.split()), 1,
                                 "grep counts for %s %s: %r" % (kind, name, p.stdout))
        self.report_text = "%d functions, %d views, %d triggers, each written once" % tuple(
            sum(1 for k in found if k[0] == kind) for kind in ("FUNCTION", "VIEW", "TRIGGER"))

    def test_schema_steps_hold_no_functions_views_or_triggers(self):
        for path in sorted(glob.glob(os.path.join(SCHEMA, "*.sql"))):
            for kind, name in CREATE.findall(strip_comments(read(path))):
                with self.subTest(file=os.path.basename(path), name=name):
                    self.assertIn(name.lower(), SCHEMA_FUNCTIONS if kind.upper() == "FUNCTION"
                                  else {}, "%s %s belongs in sql/functions/" % (kind, name))

    def test_function_files_hold_no_tables_and_replace_in_place(self):
        schema_words = re.compile(r"\b(CREATE\s+(TABLE|TYPE|SEQUENCE|(UNIQUE\s+)?INDEX)|ALTER\s+"
                                  r"(TABLE|TYPE)|DROP\s+(TABLE|TYPE|INDEX|COLUMN)|INSERT\s+INTO\s+"
                                  r"taskq\.(kinds|view_keys))\b", re.I)
        for path in sorted(glob.glob(os.path.join(FUNCTIONS, "*.sql"))):
            text = strip_comments(read(path))
            # bodies may insert and update rows; the schema chain alone changes tables
            outside = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)
            with self.subTest(file=os.path.basename(path)):
                self.assertIsNone(schema_words.search(outside),
                                  "a schema change in a function file (sql/schema/ takes it)")
                plain = re.findall(r"^\s*CREATE\s+(?!OR\s+REPLACE)(FUNCTION|VIEW|TRIGGER)\s+(\S+)",
                                   text, re.I | re.M)
                self.assertEqual(plain, [], "re-applied by every migrate: CREATE OR REPLACE")

    def test_schema_steps_are_numbered_from_1_without_gaps_or_repeats(self):
        names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(SCHEMA, "*.sql")))
        numbers = [int(n[:3]) for n in names if re.match(r"^\d{3}_[a-z0-9_]+\.sql$", n)]
        self.assertEqual(len(numbers), len(names), "not NNN_name.sql: %s" % names)
        self.assertEqual(numbers, list(range(1, len(names) + 1)), "steps: %s" % names)

    def test_order_txt_lists_every_function_file_once(self):
        listed = order_list()
        present = sorted(os.path.basename(p) for p in glob.glob(os.path.join(FUNCTIONS, "*.sql")))
        self.assertEqual(len(listed), len(set(listed)), "order.txt names a file twice")
        self.assertEqual(sorted(listed), present)
        self.assertEqual(listed[-1], "triggers.sql", "triggers.sql takes its locks last")

    def test_makefile_installs_every_sql_file(self):
        schema = sorted(os.path.relpath(p, TOP) for p in glob.glob(os.path.join(SCHEMA, "*.sql")))
        functions = sorted(os.path.relpath(p, TOP) for p in
                           glob.glob(os.path.join(FUNCTIONS, "*.sql")) +
                           [os.path.join(FUNCTIONS, "order.txt")])
        self.assertEqual(sorted(makefile_list("dist_sqlschema_DATA")), schema)
        self.assertEqual(sorted(makefile_list("dist_sqlfunctions_DATA")), functions)
        self.assertEqual(glob.glob(os.path.join(SQL, "*.sql")), [],
                         "SQL files outside sql/schema and sql/functions are never applied")


if __name__ == "__main__":
    unittest.main()
