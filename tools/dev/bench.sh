# shellcheck shell=bash
# tools/dev/bench.sh — sourced by ./dev: ./dev bench (tests/bench/bench.py on a stack of its own).
# shellcheck disable=SC2153 # PORT, VAR … are set by tools/dev/common.sh
#
# Builds var/build (-O2), copies its binaries to var/bench/bin (a rebuild by someone else
# during the run cannot swap them), starts a fresh stack in var/bench on a free port, runs
# tests/bench/bench.py and stops the stack. Knobs (environment): REPS (3), QUICK=1, ONLY
# (raw submit batch drain pickup poll footprint scale writes progress endurance drain1m peers
# console; default all but endurance, drain1m, peers and console), CONSOLE_N (10,000,000
# finished tasks for the console's reads; QUICK=1: 1,000,000), CONSOLE_DRAIN_N (200,000), PGBENCH_SECONDS (10),
# WRK_SECONDS (8), WARMUP_SECONDS (2), DRAIN_N (50000), DRAIN_CONCURRENCY ("8 32"),
# PICKUP_N (500), PEERS_ONLY (ONLY for the peers' run.sh). Output: the table on stdout,
# var/bench/results.json and results.md.

BENCH_STACK_UP=0
bench_stop_stack() {
	((BENCH_STACK_UP)) || return 0
	BENCH_STACK_UP=0
	say "bench: stopping the bench stack"
	stop_all
}

# bench_lock — one ./dev bench at a time per checkout (they share var/bench). Fd 9, like
# ./dev test's lock: launch and as_user close it, so no daemon holds it.
bench_lock() {
	ensure_var_location
	mkdir -p "$TOP/var"
	exec 9>"$TOP/var/.bench.lock"
	if ! flock -n 9; then
		say "bench: another ./dev bench runs in this checkout; waiting for it"
		flock 9
	fi
}

# bench_binaries — the -O2 build's binaries, copied where the stack's user can run them.
bench_binaries() {
	local dir=$TOP/var/bench/bin b
	mkdir -p "$dir"
	for b in taskq-fcgi taskq-worker taskq; do
		cp -f "$TOP/var/build/$b" "$dir/$b.new"
		mv -f "$dir/$b.new" "$dir/$b"
	done
	is_root && chown -R "$STACK_USER:" "$dir"
	printf '%s\n' "$(cd "$dir" && pwd -P)"
}

cmd_bench() {
	local port st=0 bin
	(($# == 0)) || die "bench takes no arguments; use REPS=, QUICK=1, ONLY=\"…\" (see tools/dev/bench.sh)"
	bench_lock
	say "bench: deps"
	cmd_deps
	say "bench: build (var/build)"
	do_build plain 0
	mkdir -p "$TOP/var/bench"
	bin=$(bench_binaries)

	unset TASKQ_DATABASE_URL
	port=$(free_port)
	export TASKQ_VAR=$TOP/var/bench TASKQ_PORT=$port TASKQ_BUILD=$bin
	export TASKQ_CONCURRENCY=${TASKQ_CONCURRENCY:-8}
	# as installed: auth on (an admin token, so no per-owner limit), fair queueing on
	export TASKQ_AUTH=${TASKQ_AUTH:-on}
	stack_paths
	if [[ -d $PGDATA || -d $RUN ]]; then
		stop_all # a stack left over from an interrupted run
		rm -rf "$PGDATA" "$LOG" "$RUN" "$NGX"
	fi
	rm -f "$VAR/results.json" "$VAR/results.md"
	trap bench_stop_stack EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	say "bench: starting the bench stack on port $PORT (TASKQ_VAR=$VAR)"
	BENCH_STACK_UP=1
	try start_test_stack
	((TRY_STATUS != 0)) || [[ $TASKQ_AUTH != on ]] || test_token || TRY_STATUS=1
	# the owners of the groups' SQL submits (submit_many(…, 'bench'), the endurance group's
	# 'bench-endurance') are not capped: the batch and writes groups queue 20,000 at once, and
	# a backlog that grows under a held horizon must not turn into refused submits, over the
	# default cap of 10,000 unfinished
	local owner
	for owner in bench bench-endurance; do
		((TRY_STATUS != 0)) || TASKQ_TOKEN='' "$BUILD/taskq" --db "$CONNINFO" \
			limit set owner "$owner" 0 >/dev/null || TRY_STATUS=1
	done
	resolve_var
	if ((TRY_STATUS != 0)); then
		show_log_tails
		die "bench: the bench stack did not come up (logs above, in $LOG)"
	fi

	set +e
	(cd "$TOP/tests/bench" && exec env TASKQ_TOP="$TOP" TASKQ_VAR="$VAR" TASKQ_RUN="$RUN" \
		TASKQ_LOG="$LOG" TASKQ_PGDATA="$PGDATA" TASKQ_DB="$CONNINFO" \
		TASKQ_URL="http://127.0.0.1:$PORT" TASKQ_PORT="$PORT" TASKQ_DEV="$TOP/dev" \
		TASKQ_BUILD="$BUILD" PGBIN="$PGBIN" STACK_USER="$STACK_USER" \
		BENCH_PEERS_DIR="$TOP/../shared/bench/peers" \
		BENCH_COMMAND="${QUICK:+QUICK=$QUICK }${ONLY:+ONLY=\"$ONLY\" }${REPS:+REPS=$REPS }./dev bench" \
		PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
		NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" \
		no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}" \
		"$PYTHON" bench.py) </dev/null 9>&-
	st=$?
	set -e
	bench_stop_stack
	((st == 0)) || die "bench: tests/bench/bench.py exited with status $st"
}
