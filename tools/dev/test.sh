# shellcheck shell=bash
# tools/dev/test.sh — sourced by ./dev: ./dev test (builds, make check, fuzzing, the package,
# OpenAPI lint, integration and browser tests, sanitizer scan, the format check).
# shellcheck disable=SC2153 # PORT, VAR … are set by tools/dev/common.sh

T_PASSED=0
T_FAILED=0

# phase NAME PASSED FAILED — count and print one phase's result.
phase() {
	T_PASSED=$((T_PASSED + $2))
	T_FAILED=$((T_FAILED + $3))
	say "test: $1: $2 passed, $3 failed"
}

# step NAME STATUS — a step that is not a test itself (deps, build, stack): a failure
# counts as one failed test.
step() {
	if (($2 == 0)); then
		say "test: $1: ok"
	else
		T_FAILED=$((T_FAILED + 1))
		say "test: $1: FAILED"
	fi
}

# try CMD... — run CMD in a subshell with errexit in force (a `( ... ) || st=$?` would switch
# errexit off inside it); the status lands in TRY_STATUS.
try() {
	set +e
	(
		set -e
		"$@"
	)
	TRY_STATUS=$?
	set -e
}

final_line() { printf '%s passed, %s failed\n' "$T_PASSED" "$T_FAILED"; }

free_port() {
	local p
	if p=$("$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null); then
		printf '%s\n' "$p"
		return 0
	fi
	for ((p = 20000 + RANDOM % 20000; ; p++)); do
		port_in_use "$p" || break
	done
	printf '%s\n' "$p"
}

# unit_tests — make check in the ASan build: everything that needs no stack (Makefile.am's
# "### tests"). The unit tests count one per check-framework test (its "NN%: Checks: N,
# Failures: F, Errors: E" line); each other test of make check (the fuzz targets over their
# seeds, the manual pages, the daemons without PostgreSQL) counts once, from its .trs file.
unit_tests() {
	local dir=$TOP/var/build-asan rc=0 n f e line passed=0 failed=0 found=0 log trs
	local others=0 other_failed=0
	find "$dir/tests" \( -name '*.log' -o -name '*.trs' \) -type f -delete 2>/dev/null || true
	say "test: make check in var/build-asan (unit tests, fuzz seed replays, manual pages, daemons)"
	make -C "$dir" -j2 check >"$dir/dev-check.log" 2>&1 || rc=$?
	for log in "$dir"/tests/unit/*.log; do
		[[ -e $log ]] || continue
		while IFS= read -r line; do
			if [[ $line =~ ^[0-9]+%:\ Checks:\ ([0-9]+),\ Failures:\ ([0-9]+),\ Errors:\ ([0-9]+) ]]; then
				n=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} e=${BASH_REMATCH[3]}
				passed=$((passed + n - f - e))
				failed=$((failed + f + e))
				found=1
			fi
		done <"$log"
	done
	while IFS= read -r trs; do
		[[ $trs == */tests/unit/* ]] && continue # counted by its check lines
		case $(sed -n 's/^:test-result: //p' "$trs" | head -n 1) in
		PASS | XFAIL) others=$((others + 1)) ;;
		SKIP) say "test: skipped: $(basename "$trs" .trs)" ;;
		*) other_failed=$((other_failed + 1)) ;;
		esac
	done < <(find "$dir/tests" -name '*.trs' -type f | sort)
	if ((rc != 0)); then
		tail -n 40 "$dir/dev-check.log" >&2
		[[ -f $dir/test-suite.log ]] && cat "$dir/test-suite.log" >&2
		((failed + other_failed == 0)) && failed=1
	fi
	((found || rc)) || warn "make check passed but printed no check summary lines"
	phase "unit" "$passed" "$failed"
	phase "make check, the rest" "$others" "$other_failed"
}

# layer_check — what the per-target include paths of Makefile.am cannot see: lib/ names each
# header it includes from lib/ ("store/db.h", never "../../fcgi/x.h"), no two lib/ modules
# include each other's headers, and libpq (<libpq-fe.h>, store/exec.h) stays in lib/store/.
layer_check() {
	local f inc mod dep bad=0
	local -A deps=()
	say "test: layers (lib/ includes only lib/, no mutual includes, libpq only in lib/store/)"
	while IFS=: read -r f inc; do
		inc=${inc#*\"} inc=${inc%\"}
		if [[ $inc == *..* || ! -f $TOP/lib/$inc ]]; then
			warn "layers: $f includes \"$inc\", which is not a header under lib/"
			bad=1
		fi
		mod=${f%.*} dep=lib/${inc%.h}
		[[ $mod == "$dep" ]] || deps[$mod>$dep]=1
	done < <(cd "$TOP" && grep -rHo '^#include "[^"]*"' lib)
	for f in "${!deps[@]}"; do
		mod=${f%>*} dep=${f#*>}
		if [[ -n ${deps[$dep>$mod]:-} && $mod < $dep ]]; then
			warn "layers: $mod and $dep include each other's headers"
			bad=1
		fi
	done
	if (cd "$TOP" && grep -rlE '^#include ("store/exec\.h"|<libpq-fe\.h>)' --include='*.[ch]' \
		lib fcgi worker cli tests | grep -vE '^lib/store/(exec\.h|[a-z_]+\.c)$'); then
		warn "layers: the files above use libpq outside lib/store/'s exec.h and .c files"
		bad=1
	fi
	phase "layers" $((1 - bad)) "$bad"
}

# layout_checks — the source tree keeps its rooms (tests/layout/rooms.py: static checks of
# the includes of worker/kinds/, file sizes and include cycles; no build, instant).
layout_checks() {
	local out=$TOP/var/layout.out rc
	say "test: layout (tests/layout/rooms.py)"
	set +e
	"$PYTHON" "$TOP/tests/layout/rooms.py" </dev/null 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	set -e
	suite_phase layout "$out" "$rc"
}

# openapi_lint — nginx/html/openapi.json through a third-party linter (tests/openapi/lint.sh:
# Redocly CLI at the version tests/openapi/package-lock.json pins, installed there by npm ci
# when missing, with tests/openapi/redocly.yaml's rules): one test, failed by any problem.
openapi_lint() {
	local rc
	say "test: openapi lint (tests/openapi/lint.sh: Redocly CLI, tests/openapi/redocly.yaml)"
	set +e
	"$TOP/tests/openapi/lint.sh" </dev/null 9>&-
	rc=$?
	set -e
	phase "openapi lint" $((rc == 0)) $((rc != 0))
}

# test_token — an admin token for the suites, in TASKQ_TOKEN.
test_token() {
	TASKQ_TOKEN=$(TASKQ_TOKEN='' "$BUILD/taskq" --db "$CONNINFO" token create tests --admin \
		--note "./dev test" 2>/dev/null) || {
		warn "taskq token create failed"
		return 1
	}
	export TASKQ_TOKEN
}

# test_owner_cap — every owner's cap on unfinished tasks (taskq.owner_caps, row "*") low
# enough for test_auth and test_batch to reach it.
test_owner_cap() {
	TASKQ_TOKEN='' "$BUILD/taskq" --db "$CONNINFO" limit set owner '*' 500 >/dev/null || {
		warn "taskq limit set owner '*' failed"
		return 1
	}
}

start_test_stack() {
	start_stack || return 1
	wait_healthy 60
}

TEST_STACK_UP=0
test_stop_stack() {
	((TEST_STACK_UP)) || return 0
	TEST_STACK_UP=0
	say "test: stopping the test stack"
	stop_all
}

# stack_load — what the ASan daemons went through before the scan (their leak check runs
# at exit): requests nginx logged, tasks and task events in the table.
STACK_LOAD=""
stack_load() {
	local reqs=0 counts=""
	[[ -f $LOG/nginx-access.log ]] && reqs=$(wc -l <"$LOG/nginx-access.log")
	counts=$(psql -d "$CONNINFO" -Atc "SELECT (SELECT count(*) FROM taskq.tasks) || ' tasks, ' ||
		(SELECT count(*) FROM taskq.task_events) || ' task events'" 2>/dev/null) || counts="?"
	STACK_LOAD="$reqs HTTP requests, $counts"
}

# sanitizer_scan — one failure per daemon log holding a sanitizer report.
sanitizer_scan() {
	local f first bad=0
	for f in "$LOG"/*.log; do
		[[ -e $f ]] || continue
		first=$(grep -n -m1 -E 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$f" |
			cut -d: -f1) || true
		[[ -n $first ]] || continue
		bad=$((bad + 1))
		warn "sanitizer report in $f:"
		tail -n "+$first" "$f" | head -n 40 >&2
	done
	# an nginx worker that crashed (nchan asserts, say) is a failure too
	if [[ -f $LOG/nginx-error.log ]] && grep -q 'exited on signal' "$LOG/nginx-error.log"; then
		bad=$((bad + 1))
		warn "nginx workers crashed:"
		grep -B2 'exited on signal' "$LOG/nginx-error.log" | head -n 12 >&2
	fi
	[[ -z $STACK_LOAD ]] || say "test: sanitizers: ASan+UBSan+LeakSanitizer daemons after $STACK_LOAD"
	phase "sanitizers" 0 "$bad"
}

integration_tests() {
	local out=$VAR/integration.out rc line p="" f=""
	if [[ ! -f $TOP/tests/integration/run.py ]]; then
		warn "tests/integration/run.py missing"
		phase "integration" 0 1
		return 0
	fi
	say "test: integration tests (tests/integration/run.py${*:+ $*})"
	set +e
	(cd "$TOP" && exec env TASKQ_URL="http://127.0.0.1:$PORT" TASKQ_VAR="$VAR" \
		TASKQ_BUILD="$BUILD" TASKQ_DB="$CONNINFO" TASKQ_DEV="$TOP/dev" \
		TASKQ_SQL_DIR="$TOP/sql" PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
		NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" \
		no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}" \
		"$PYTHON" tests/integration/run.py "$@") </dev/null 9>&- 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	set -e
	suite_phase integration "$out" "$rc"
}

# suite_phase NAME OUT RC — counts a suite from its "NAME: N passed, N failed" line in OUT.
suite_phase() {
	local name=$1 out=$2 rc=$3 line p f
	line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$out" | tail -n 1) || true
	if [[ $line =~ ^$name:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
		p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
		if ((rc != 0 && f == 0)); then
			warn "$name tests exited with status $rc"
			f=1
		fi
	else
		warn "$name tests (status $rc) printed no '$name: N passed, N failed' line"
		p=0 f=1
	fi
	phase "$name" "$p" "$f"
}

# browser_tests [FILTER...] — the dashboard in headless Chromium (tests/browser), against the
# running test stack; skipped when a filter names only other tests.
browser_tests() {
	local out=$VAR/browser.out rc
	[[ -f $TOP/tests/browser/run.mjs ]] || return 0
	if (($#)) && [[ " $* " != *browser* ]]; then
		return 0
	fi
	say "test: browser tests (tests/browser, headless chromium)"
	if ! "$TOP/tests/browser/setup.sh" </dev/null; then
		warn "tests/browser/setup.sh failed"
		phase "browser" 0 1
		return 0
	fi
	set +e
	(cd "$TOP/tests/browser" && exec env TASKQ_URL="http://127.0.0.1:$PORT" \
		TASKQ_DEV="$TOP/dev" TASKQ_VAR="$VAR" TASKQ_PORT="$PORT" \
		NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost" \
		node run.mjs) </dev/null 9>&- 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	set -e
	suite_phase browser "$out" "$rc"
}

# package_tests — the Debian package and the systemd units (tests/package/run.sh builds in a
# copy under /tmp: the checkout stays clean).
package_tests() {
	local out=$TOP/var/package.out rc
	[[ -x $TOP/tests/package/run.sh ]] || return 0
	say "test: package (dpkg-buildpackage, lintian, systemd-analyze verify)"
	set +e
	"$TOP/tests/package/run.sh" </dev/null 9>&- 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	set -e
	suite_phase package "$out" "$rc"
}

# test_lock — one `./dev test` at a time per checkout: they share var/build* and var/test.
test_lock() {
	ensure_var_location
	mkdir -p "$TOP/var"
	exec 9>"$TOP/var/.test.lock"
	if ! flock -n 9; then
		say "test: another ./dev test runs in this checkout; waiting for it"
		flock 9
	fi
}

# cluster_tests [FILTER...] — tests/cluster on a cluster of network namespaces (./dev cluster,
# the normal build): up, the tests on the client host, down; the figures they print (lines
# starting `figure:`) are kept in $TASKQ_VAR/cluster-figures.txt.
CLUSTER_UP=0
cluster_down() {
	((CLUSTER_UP)) || return 0
	CLUSTER_UP=0
	say "test: taking the cluster down"
	try cl_down
	step "cluster down" "$TRY_STATUS"
	local left procs
	left=$(ip netns list 2>/dev/null | grep -E '^(tq-|tqsw)' | tr '\n' ' ') || true
	[[ -z $left ]] || warn "namespaces left behind: $left"
	procs=$(pgrep -a -f -- "$CL/") || true
	[[ -z $procs ]] || warn "processes left behind: $procs"
	step "cluster leaves nothing behind" "$([[ -z $left$procs ]] && echo 0 || echo 1)"
}

cluster_tests() {
	local out rc
	if ! is_root; then
		warn "test: the cluster tests need root (network namespaces): skipped"
		return 0
	fi
	source "$TOP/tools/dev/cluster.sh"
	unset TASKQ_DATABASE_URL
	export TASKQ_VAR=$TOP/var/test
	TASKQ_BUILD=$(cd "$TOP/var/build" && pwd -P)
	export TASKQ_BUILD
	cl_paths
	out=$VAR/cluster.out
	trap cluster_down EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	say "test: cluster up (./dev cluster up, TASKQ_VAR=$VAR)"
	CLUSTER_UP=1
	try cl_up
	step "cluster up" "$TRY_STATUS"
	if ((TRY_STATUS == 0)); then
		say "test: cluster tests (tests/cluster/run.py${*:+ $*}, on the client host)"
		set +e
		(cd "$TOP" && exec ip netns exec tq-client env TASKQ_CLUSTER="$CL" \
			TASKQ_DEV="$TOP/dev" TASKQ_CLUSTER_LEASE_S="$CL_LEASE" PYTHONUNBUFFERED=1 \
			PYTHONDONTWRITEBYTECODE=1 "$PYTHON" tests/cluster/run.py "$@") </dev/null 9>&- 2>&1 |
			tee "$out"
		rc=${PIPESTATUS[0]}
		set -e
		grep '^figure:' "$out" >"$VAR/cluster-figures.txt" || true
		suite_phase cluster "$out" "$rc"
	fi
	cluster_down
}

# test_prepare — the lock, the Debian packages and the plain build, first in every test run.
test_prepare() {
	test_lock
	say "test: deps"
	try cmd_deps
	step "deps" "$TRY_STATUS"
	say "test: build (var/build)"
	try do_build plain 0
	step "build" "$TRY_STATUS"
}

cmd_test() {
	local port st
	if [[ ${1:-} == --cluster ]]; then
		shift
		test_prepare
		((TRY_STATUS == 0)) && cluster_tests "$@"
		final_line
		((T_FAILED == 0))
		return
	fi
	export UBSAN_OPTIONS=print_stacktrace=1
	export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1
	test_prepare
	say "test: build (var/build-asan)"
	try do_build asan 0
	step "build-asan" "$TRY_STATUS"
	if ((TRY_STATUS != 0)); then
		final_line
		exit 1
	fi

	# the formatter's check (./dev fmt --check): every C file as .clang-format has it
	source "$TOP/tools/dev/fmt.sh"
	fmt_test

	unit_tests
	layer_check
	layout_checks
	# the OpenAPI document through a third-party linter (no stack needed)
	if [[ $# -eq 0 || " $* " == *openapi* ]]; then
		openapi_lint
	fi

	# libFuzzer: each target a short while from its seeds (./dev fuzz runs them long)
	if [[ $# -eq 0 || " $* " == *fuzz* ]]; then
		source "$TOP/tools/dev/fuzz.sh"
		fuzz_smoke "${TASKQ_FUZZ_S:-20}"
	fi
	if [[ $# -eq 0 || " $* " == *package* ]]; then
		package_tests
	fi

	# the test stack: its own TASKQ_VAR, a free port, a fresh cluster, the ASan binaries
	unset TASKQ_DATABASE_URL
	port=$(free_port)
	export TASKQ_VAR=$TOP/var/test TASKQ_PORT=$port TASKQ_CONCURRENCY=24
	# the http kind's tests talk to a server of theirs on 127.0.0.1 (and check that other
	# loopback addresses stay refused); webhooks are signed with a known secret
	export TASKQ_HTTP_ALLOW='*,127.0.0.1/32' TASKQ_CALLBACK_SECRET=taskq-test-secret
	export TASKQ_HTTP_HEADERS='testauth=X-Test-Auth: sekrit-from-config'
	export TASKQ_HTTP_MAX_BODY=262144
	# the install default: every /api/ request needs a token (the tests get an admin's)
	export TASKQ_AUTH=on
	# per-owner rate low enough for tests/integration/test_auth.py to reach it (the cap on
	# unfinished tasks is the database's: test_owner_cap below)
	export TASKQ_OWNER_RATE=100 TASKQ_OWNER_BURST=400
	# few enough long-poll waiters for test_streams to reach the bound
	export TASKQ_MAX_WAITERS=64
	# circuit breakers: short cool-downs, so that a host some test makes fail five times in a
	# row holds the next tests back 2 s at most (test_breakers sets its own per host)
	export TASKQ_BREAKER_COOLDOWN_S=2 TASKQ_BREAKER_MAX_COOLDOWN_S=8
	# and an upstream that asks to wait holds the next tests back 10 s at most
	export TASKQ_HTTP_RETRY_AFTER_MAX_S=10
	TASKQ_BUILD=$(cd "$TOP/var/build-asan" && pwd -P)
	export TASKQ_BUILD
	stack_paths
	if [[ -d $VAR ]]; then
		stop_all # a stack left over from an interrupted run
		rm -rf "$PGDATA" "$LOG" "$RUN" "$NGX" "${VAR:?}/etc" "$VAR/integration.out"
	fi
	trap test_stop_stack EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	say "test: starting the test stack on port $PORT (TASKQ_VAR=$VAR)"
	TEST_STACK_UP=1
	try start_test_stack
	st=$TRY_STATUS
	((st != 0)) || { test_token && test_owner_cap; } || st=1
	resolve_var
	if ((st != 0)); then show_log_tails; fi
	step "stack" "$st"
	if ((st == 0)); then
		integration_tests "$@"
		browser_tests "$@"
	fi
	stack_load
	test_stop_stack
	sanitizer_scan
	final_line
	((T_FAILED == 0))
}

###############################################################################
