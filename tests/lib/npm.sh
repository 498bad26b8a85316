# tests/lib/npm.sh — sourced by the test folders that install npm packages (tests/browser,
# tests/openapi): node and npm from Debian when missing, and `npm ci` when node_modules lacks
# the version package-lock.json pins. The caller defines say() and runs in its folder.

# need_node — node and npm on PATH: installed with apt-get as root, else exit 1 saying how.
need_node() {
	command -v node >/dev/null && command -v npm >/dev/null && return 0
	if [[ $(id -u) -ne 0 ]]; then
		say "node/npm are missing: run 'sudo apt-get install -y nodejs npm'"
		exit 1
	fi
	say "installing nodejs and npm (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q nodejs npm >/dev/null 2>&1 || {
		apt-get update -q >/dev/null
		apt-get install -y -q nodejs npm >/dev/null
	}
}

# npm_current PACKAGE — npm ci unless node_modules holds the locked version of PACKAGE;
# prints that version.
npm_current() {
	local want have
	want=$(node -p "require('./package-lock.json').packages['node_modules/$1'].version")
	have=$(node -p "try { require('./node_modules/$1/package.json').version } catch { '' }")
	if [[ $want != "$have" ]]; then
		say "npm ci ($1 $want)"
		npm ci --no-audit --no-fund --loglevel=error >/dev/null
	fi
	printf '%s\n' "$want"
}
