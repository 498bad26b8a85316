# shellcheck shell=bash
# tools/dev/example.sh — sourced by ./dev: ./dev example [stop], the example app
# (examples/approve) beside a running stack.
#
# Two processes, like an application team would run them: the app itself (python3, a unix
# socket in run/ that the stack's nginx proxies as /example/) and a taskq-worker of its own
# that serves the queue "approve" with the command kinds "approve" (approve-task.py) and
# "approve_summary" (summary-task.py: a summary streamed from an LLM API as output). Both
# log to log/ and stop with ./dev example stop, ./dev stop or the end of ./dev test.

EXAMPLE_QUEUE=approve

# example_dir — examples/approve, or a copy under $VAR when the stack's user cannot read the
# checkout (as write_nginx_conf does for the dashboard).
example_dir() {
	local dir=$TOP/examples/approve
	if is_root && ! user_can -x "$dir/approve-task.py"; then
		rm -rf "$VAR/example"
		cp -R "$dir" "$VAR/example"
		chown -R "$STACK_USER:" "$VAR/example"
		dir=$VAR/example
	fi
	printf '%s\n' "$dir"
}

start_example_worker() {
	local dir=$1
	running example-worker >/dev/null && return 0
	launch example-worker "$LOG/example-worker.log" 1 \
		"$BUILD/taskq-worker" --db "$CONNINFO" --queues "$EXAMPLE_QUEUE" \
		--commands "approve=$dir/approve-task.py,approve_summary=$dir/summary-task.py" \
		--concurrency 8 --scheduler off || return 1
	sleep 0.2
	running example-worker >/dev/null || {
		show_tail "$LOG/example-worker.log" 20
		warn "the example's taskq-worker exited at once"
		return 1
	}
}

start_example_app() {
	local dir=$1
	running example >/dev/null && return 0
	launch example "$LOG/example.log" 1 \
		"$PYTHON" "$dir/app.py" --socket "$RUN/example.sock" --db "$CONNINFO" || return 1
}

# example_wait SECONDS — until GET /example/healthz through nginx answers 200 (the app is up
# and its worker has registered the kind).
example_wait() {
	local deadline=$((SECONDS + $1)) code=""
	while ((SECONDS < deadline)); do
		code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' --max-time 2 \
			"http://127.0.0.1:$PORT/example/healthz" 2>/dev/null) || true
		[[ $code == 200 ]] && return 0
		if ! running example >/dev/null; then
			show_tail "$LOG/example.log" 20
			warn "the example app exited"
			return 1
		fi
		sleep 0.2
	done
	show_tail "$LOG/example.log" 20
	warn "GET /example/healthz did not answer 200 within $1 s (last: ${code:-none})"
	return 1
}

example_stop() {
	local d
	for d in example example-worker; do signal_daemon "$d" TERM; done
	for d in example example-worker; do finish_daemon "$d"; done
	rm -f "$RUN/example.sock"
}

cmd_example() {
	local action=${1:-start} dir
	stack_paths
	load_stack_env
	case $action in
	start)
		if ! running nginx >/dev/null || ! running fcgi >/dev/null; then
			die "no stack runs in $VAR (port $PORT): ./dev start first"
		fi
		check_binaries
		[[ -f $NGX/taskq-example.conf ]] ||
			die "this stack's nginx has no /example/ location: restart it (./dev daemon restart nginx)"
		dir=$(example_dir)
		start_example_worker "$dir" || die "the example's worker did not start"
		start_example_app "$dir" || die "the example app did not start"
		if ! example_wait 30; then
			example_stop
			die "the example did not come up"
		fi
		say "example: http://127.0.0.1:$PORT/example/  (logs: $LOG/example.log, $LOG/example-worker.log; ./dev example stop)"
		;;
	stop)
		example_stop
		say "example: stopped"
		;;
	*) die "usage: ./dev example [start|stop]" ;;
	esac
}
