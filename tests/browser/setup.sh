#!/usr/bin/env bash
# tests/browser/setup.sh — install what the browser tests need, idempotently:
#   Debian's chromium (/usr/bin/chromium; apt-get as root, else says what to run) and
#   playwright-core from package.json + package-lock.json into tests/browser/node_modules.
# playwright-core downloads no browser; the tests drive /usr/bin/chromium.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

say() { printf 'browser setup: %s\n' "$*" >&2; }
# shellcheck source=../lib/npm.sh
. "$here/../lib/npm.sh"

if [[ ! -x /usr/bin/chromium ]]; then
	if [[ $(id -u) -eq 0 ]]; then
		say "installing chromium (apt-get)"
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q chromium >/dev/null 2>&1 || {
			apt-get update -q >/dev/null
			apt-get install -y -q chromium >/dev/null
		}
	else
		say "/usr/bin/chromium is missing: run 'sudo apt-get install -y chromium'"
		exit 1
	fi
fi

need_node
# playwright-core downloads no browser; the tests drive /usr/bin/chromium
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm_current playwright-core >/dev/null
exit 0
