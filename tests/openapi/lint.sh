#!/usr/bin/env bash
# tests/openapi/lint.sh — lints nginx/html/openapi.json with a third-party OpenAPI linter:
# Redocly CLI, at the version package-lock.json pins, with the rules of redocly.yaml (its
# recommended set, every rule an error). Installs it first when node_modules lacks that
# version (npm ci, as test_openapi_audit.py does for the schema validator beside it). Exit
# status 0 when the document has no problem at all, 1 otherwise (the problems are printed).
# ./dev test runs it as the step "openapi lint".
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
doc=$(cd "$here/../../nginx/html" && pwd)/openapi.json
cd "$here"

say() { printf 'openapi lint: %s\n' "$*" >&2; }
# shellcheck source=../lib/npm.sh
. "$here/../lib/npm.sh"

need_node
want=$(npm_current @redocly/cli)
engines=$(node -p 'require("./node_modules/@redocly/cli/package.json").engines.node')
say "@redocly/cli $want on node $(node --version) (it wants node $engines)"

# no telemetry and no update check: the linter needs nothing but the file
set +e
out=$(REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_COLOR=1 \
	node_modules/.bin/redocly lint --config redocly.yaml --format=stylish "$doc" 2>&1)
rc=$?
set -e
# (Redocly's boxed notice about Node.js 20's end of life is left out)
grep -v '^ *[╔║╚]' <<<"$out" | sed '/^$/d' >&2
if ((rc != 0)) || grep -qE '(error|warning) ' <<<"$out"; then
	say "problems in $doc (rules: tests/openapi/redocly.yaml)"
	exit 1
fi
exit 0
