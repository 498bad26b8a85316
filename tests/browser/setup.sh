#!/usr/bin/env bash
# tests/browser/setup.sh — install what the browser tests need, idempotently:
#   Debian's chromium (/usr/bin/chromium; apt-get as root, else says what to run) and
#   playwright-core from package.json + package-lock.json into tests/browser/node_modules.
# playwright-core downloads no browser; the tests drive /usr/bin/chromium.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

say() { printf 'browser setup: %s\n' "$*" >&2; }

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

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	if [[ $(id -u) -eq 0 ]]; then
		say "installing nodejs and npm (apt-get)"
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q nodejs npm >/dev/null 2>&1 || {
			apt-get update -q >/dev/null
			apt-get install -y -q nodejs npm >/dev/null
		}
	else
		say "node/npm are missing: run 'sudo apt-get install -y nodejs npm'"
		exit 1
	fi
fi

# node_modules is current when it holds the locked version of playwright-core
want=$(node -e 'console.log(require("./package-lock.json").packages["node_modules/playwright-core"].version)')
have=$(node -e 'try{console.log(require("./node_modules/playwright-core/package.json").version)}catch{console.log("")}')
if [[ $want != "$have" ]]; then
	say "npm ci (playwright-core $want)"
	export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
	npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1 ||
		npm install --no-audit --no-fund --loglevel=error >/dev/null
fi
exit 0
