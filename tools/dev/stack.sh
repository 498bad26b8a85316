# shellcheck shell=bash
# tools/dev/stack.sh — sourced by ./dev: starting, supervising and stopping the dev stack.
comm_of() {
	case $1 in
	postgres) echo postgres ;;
	worker | example-worker) echo taskq-worker ;;
	example) echo python3 ;;
	fcgi) echo taskq-fcgi ;;
	nginx) echo nginx ;;
	esac
}

pid_file() { printf '%s\n' "$RUN/$1.pid"; }

# read_pid NAME — the pid in NAME's pid file, or nothing.
read_pid() {
	local f pid=""
	f=$(pid_file "$1")
	if [[ -r $f ]]; then read -r pid 2>/dev/null <"$f" || true; fi
	[[ $pid =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
	return 0
}

# proc_alive PID COMM — PID is a live (not zombie) process named COMM (or one of the
# launchers that exec into it), so a stale pid file never makes us signal a stranger.
proc_alive() {
	local pid=$1 want=$2 comm=""
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	read -r comm 2>/dev/null <"/proc/$pid/comm" || return 1
	grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && return 1
	case $comm in
	"$want" | *"$want" | setsid | setpriv) return 0 ;;
	*) return 1 ;;
	esac
}

# running NAME — prints NAME's pid and succeeds when it runs.
running() {
	local pid
	pid=$(read_pid "$1")
	[[ -n $pid ]] && proc_alive "$pid" "$(comm_of "$1")" && printf '%s\n' "$pid"
}

# wait_gone PID COMM SECONDS — wait until PID has exited; fails on timeout.
wait_gone() {
	local pid=$1 want=$2 tenths=$(($3 * 10))
	while proc_alive "$pid" "$want"; do
		((tenths-- > 0)) || return 1
		sleep 0.1
	done
	return 0
}

# launch NAME LOG AS_USER CMD... — start a daemon in the background, in its own session (so
# a Ctrl-C meant for ./dev does not reach it), as the stack's user when AS_USER is 1 and we
# are root, output appended to LOG. The pid file gets the daemon's own pid (setsid and setpriv
# exec into it). A small waiter subshell stays the daemon's parent and writes its exit status
# to run/NAME.status when it ends: that is how `./dev run` can say how a daemon died, whoever
# started it. (Waiting in this shell instead would make bash print "Killed" job notices.)
launch() {
	local name=$1 log=$2 as_user=$3 pidf tenths=100
	shift 3
	if ((as_user)) && is_root; then
		set -- setpriv --reuid="$STACK_USER" --regid="$STACK_USER" --init-groups -- "$@"
	fi
	pidf=$(pid_file "$name")
	rm -f "$pidf" "$RUN/$name.status"
	(
		exec 9>&- # the lock of `./dev test`
		(
			cd "$VAR" || exit 1
			export HOME=$VAR
			exec setsid "$@"
		) </dev/null >>"$log" 2>&1 &
		pid=$!
		printf '%s\n' "$pid" >"$pidf.new"
		mv -f "$pidf.new" "$pidf"
		trap '' INT HUP TERM
		st=0
		wait "$pid" || st=$?
		printf '%s\n' "$st" >"$RUN/$name.status"
	) </dev/null >/dev/null 2>&1 &
	until [[ -s $pidf ]]; do
		((tenths-- > 0)) || return 1
		sleep 0.02
	done
}

# exit_status NAME — how NAME's last run ended ("0", "137, SIGKILL"), when known.
exit_status() {
	local st=""
	if [[ -r $RUN/$1.status ]]; then read -r st 2>/dev/null <"$RUN/$1.status" || true; fi
	[[ $st =~ ^[0-9]+$ ]] || return 1
	if ((st > 128)); then
		st="$st, SIG$(kill -l $((st - 128)) 2>/dev/null || echo "?")"
	fi
	printf '%s\n' "$st"
}

###############################################################################
### the stack: directories, config files

# The queues the stack's worker serves: every queue the README and docs/ submit to, so that
# their examples run here (a task of a queue no live worker serves waits, and says so).
readonly STACK_QUEUES=default,reports,slow,llm

# ensure_conf_files — $VAR/etc/taskq-{worker,fcgi}.conf, the stack's configuration files
# (key = value, keys as the flags; TASKQ_* variables beat them): the worker's serves
# STACK_QUEUES at first, the rest is yours to edit; `./dev daemon reload worker|fcgi` makes a
# running daemon re-read its file (SIGHUP; a change of queues takes a restart).
ensure_conf_files() {
	local d
	mkdir -p "$VAR/etc"
	for d in worker fcgi; do
		[[ -f $VAR/etc/taskq-$d.conf ]] && continue
		printf '# taskq-%s settings for this stack: key = value, keys as the flags of
# taskq-%s --help. TASKQ_* variables beat this file. After an edit:
#   ./dev daemon reload %s
' \
			"$d" "$d" "$d" >"$VAR/etc/taskq-$d.conf"
		if [[ $d == worker ]]; then
			printf '# the queues the docs use (./dev daemon restart worker after a change)
queues = %s
' "$STACK_QUEUES" >>"$VAR/etc/taskq-$d.conf"
		fi
	done
	is_root && chown -R "$STACK_USER:" "$VAR/etc"
	return 0
}

ensure_stack_dirs() {
	ensure_var_location
	mkdir -p "$VAR"
	resolve_var
	mkdir -p "$RUN" "$LOG" "$NGX/tmp"
	if is_root; then
		chown "$STACK_USER:" "$VAR"
		chown -R "$STACK_USER:" "$RUN" "$LOG" "$NGX"
		[[ -d $PGDATA ]] && chown -R "$STACK_USER:" "$PGDATA"
		user_can -w "$RUN" ||
			die "user $STACK_USER cannot write $RUN; put TASKQ_VAR somewhere it can reach"
	fi
	ensure_conf_files
	# unix socket paths are limited to 107 bytes
	local sock=$RUN/.s.PGSQL.5432
	((${#sock} < 100)) || die "socket path $sock is too long; use a shorter TASKQ_VAR"
}

check_binaries() {
	local b
	# without symlinks: the taskq user may not be able to walk through the checkout
	if [[ -d $BUILD ]]; then BUILD=$(cd "$BUILD" && pwd -P); fi
	for b in taskq-fcgi taskq-worker taskq; do
		[[ -x $BUILD/$b ]] || die "$BUILD/$b missing: run ./dev build"
	done
	user_can -x "$BUILD/taskq-worker" ||
		die "user $STACK_USER cannot run $BUILD/taskq-worker; use a TASKQ_BUILD it can reach"
}

# fill_template IN OUT NAME=VALUE... — replace @NAME@ by VALUE.
fill_template() {
	local in=$1 out=$2 text kv
	shift 2
	text=$(<"$in")
	for kv in "$@"; do
		text=${text//"@${kv%%=*}@"/"${kv#*=}"}
	done
	if [[ $text =~ @[A-Z_]+@ ]]; then
		die "$in: placeholder ${BASH_REMATCH[0]} was not filled in"
	fi
	printf '%s\n' "$text" >"$out"
}

write_nginx_conf() {
	local html=$TOP/nginx/html user_line="" workers=2
	if is_root; then
		user_line="user $STACK_USER $STACK_USER;"
		if ! user_can -r "$html/index.html"; then
			# the checkout is out of the worker's reach: serve a copy
			rm -rf "$NGX/html"
			cp -R "$html" "$NGX/html"
			chown -R "$STACK_USER:" "$NGX/html"
			html=$NGX/html
		fi
	fi
	local streams="" publisher="" load_nchan=""
	if [[ -f $NCHAN_MODULE ]]; then
		load_nchan="load_module $NCHAN_MODULE;"
		fill_template "$TOP/nginx/taskq-streams.conf.in" "$NGX/taskq-streams.conf" \
			"PUB_SOCKET=$RUN/nchan-pub.sock"
		fill_template "$TOP/nginx/taskq-publisher.conf.in" "$NGX/taskq-publisher.conf" \
			"PUB_SOCKET=$RUN/nchan-pub.sock" "FCGI_SOCKET=$RUN/fcgi.sock" \
			"FASTCGI_PARAMS=/etc/nginx/fastcgi_params"
		streams="include $NGX/taskq-streams.conf;"
		publisher="include $NGX/taskq-publisher.conf;"
	fi
	# the example app's /example/ (./dev example), in the dev stack only
	fill_template "$TOP/nginx/taskq-example.conf.in" "$NGX/taskq-example.conf" \
		"EXAMPLE_SOCKET=$RUN/example.sock"
	fill_template "$TOP/nginx/taskq.conf.in" "$NGX/taskq.conf" \
		"LISTEN=127.0.0.1:$PORT" "HTML=$html" "FCGI_SOCKET=$RUN/fcgi.sock" \
		"FASTCGI_PARAMS=/etc/nginx/fastcgi_params" "ACCESS_LOG=$LOG/nginx-access.log" \
		"STREAMS=$streams include $NGX/taskq-example.conf;"
	fill_template "$TOP/nginx/nginx-dev.conf.in" "$NGX/nginx.conf" \
		"USER_LINE=$user_line" "VAR=$VAR" "TOP=$TOP" "WORKERS=$workers" \
		"LOAD_NCHAN=$load_nchan" "PUBLISHER=$publisher"
}

# write_pg_conf — the dev settings, in a file that postgresql.conf includes; rewritten at
# every start so a moved TASKQ_VAR still works.
write_pg_conf() {
	local f=$PGDATA/taskq-dev.conf
	{
		echo "# written by ./dev at every start; edit ./dev, not this file"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = $(sql_quote "$RUN")"
		echo "port = 5432"
		echo "max_connections = 200"
		echo "external_pid_file = $(sql_quote "$RUN/postgres.pid")"
		echo "logging_collector = off"
		echo "log_destination = 'stderr'"
		echo "log_line_prefix = '%m [%p] %q%u@%d '"
	} >"$f"
	is_root && chown "$STACK_USER:" "$f"
	grep -q "^include_if_exists = 'taskq-dev.conf'" "$PGDATA/postgresql.conf" ||
		echo "include_if_exists = 'taskq-dev.conf'" >>"$PGDATA/postgresql.conf"
}

###############################################################################
### the stack: one start function per daemon (they return non-zero instead of exiting, so
### the supervisor survives a failed restart)

start_postgres() {
	local try out
	((PG_MANAGED)) || return 0
	running postgres >/dev/null && return 0
	[[ -n $PGBIN ]] || {
		warn "no PostgreSQL under /usr/lib/postgresql: run ./dev deps"
		return 1
	}
	if [[ ! -f $PGDATA/PG_VERSION ]]; then
		rm -rf "$PGDATA"
		say "initdb ($PGDATA)"
		if ! as_user "$PGBIN/initdb" -D "$PGDATA" -U taskq --auth=trust -E UTF8 \
			--locale=C.UTF-8 >"$LOG/initdb.log" 2>&1; then
			((${STOPPING:-0})) || cat "$LOG/initdb.log" >&2
			warn "initdb failed"
			return 1
		fi
		find_pgbin
	fi
	write_pg_conf
	rm -f "$RUN/postgres.pid"
	# a killed postmaster leaves backends behind for a moment: retry a few times
	for try in 1 2 3 4 5; do
		if out=$(as_user "$PGBIN/pg_ctl" -D "$PGDATA" -l "$LOG/postgres.log" -w -t 60 -s \
			start 2>&1); then
			break
		fi
		((try < 5)) || {
			printf '%s\n' "$out" >&2
			show_tail "$LOG/postgres.log" 20
			warn "postgres did not start"
			return 1
		}
		sleep 1
	done
	out=$("$PGBIN/psql" -X -q -At -h "$RUN" -p 5432 -U taskq -d postgres \
		-c "select 1 from pg_database where datname = 'taskq'") || {
		warn "cannot query the cluster"
		return 1
	}
	if [[ $out != 1 ]]; then
		"$PGBIN/createdb" -h "$RUN" -p 5432 -U taskq taskq || {
			warn "createdb failed"
			return 1
		}
	fi
}

migrate() {
	local out
	# as the database's admin: a TASKQ_TOKEN of the caller's is no business of migrate's
	if ! out=$(TASKQ_TOKEN='' TASKQ_SQL_DIR=$TOP/sql "$BUILD/taskq" --db "$CONNINFO" migrate \
		--sql-dir "$TOP/sql" 2>&1); then
		printf '%s\n' "$out" >&2
		warn "migrate failed"
		return 1
	fi
	[[ -z $out ]] || printf '%s\n' "$out" | sed 's/^/dev: migrate: /'
}

start_worker() {
	running worker >/dev/null && return 0
	launch worker "$LOG/worker.log" 1 \
		"$BUILD/taskq-worker" --config "$VAR/etc/taskq-worker.conf" --db "$CONNINFO" \
		--concurrency "$CONCURRENCY" || return 1
	sleep 0.2
	running worker >/dev/null || {
		show_tail "$LOG/worker.log" 20
		warn "taskq-worker exited at once"
		return 1
	}
}

# await_ready NAME LOG TRIES PAUSE WHY TEST... — until TEST succeeds, at most TRIES times
# PAUSE seconds apart while daemon NAME runs; else LOG's tail and the warning WHY, status 1.
await_ready() {
	local name=$1 log=$2 tries=$3 pause=$4 why=$5
	shift 5
	until "$@"; do
		if ! running "$name" >/dev/null || ((tries-- <= 0)); then
			show_tail "$log" 20
			warn "$why"
			return 1
		fi
		sleep "$pause"
	done
}

start_fcgi() {
	running fcgi >/dev/null && return 0
	rm -f "$RUN/fcgi.sock"
	local publish=()
	[[ -f $NCHAN_MODULE ]] && publish=(--publish "$RUN/nchan-pub.sock")
	# the daemons' default is auth on; a local stack runs without unless TASKQ_AUTH=on
	launch fcgi "$LOG/fcgi.log" 1 \
		"$BUILD/taskq-fcgi" --config "$VAR/etc/taskq-fcgi.conf" --db "$CONNINFO" \
		--listen "$RUN/fcgi.sock" "${publish[@]}" \
		--auth "${TASKQ_AUTH:-off}" || return 1
	await_ready fcgi "$LOG/fcgi.log" 150 0.1 "taskq-fcgi did not create $RUN/fcgi.sock" \
		test -S "$RUN/fcgi.sock"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_nginx() {
	local out
	local -a nginx=(nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$LOG/nginx-error.log")
	running nginx >/dev/null && return 0
	write_nginx_conf
	if ! out=$("${nginx[@]}" -t -q 2>&1); then
		printf '%s\n' "$out" >&2
		warn "nginx: the generated configuration ($NGX/nginx.conf) does not pass nginx -t"
		return 1
	fi
	if port_in_use "$PORT"; then
		warn "port $PORT is already in use; pick another with TASKQ_PORT=..."
		return 1
	fi
	# daemon off: nginx stays the waiter's child like the other daemons; its master runs as
	# root (to bind and switch to the "user" of nginx.conf), its workers as taskq
	launch nginx "$LOG/nginx-error.log" 0 "${nginx[@]}" || return 1
	await_ready nginx "$LOG/nginx-error.log" 100 0.05 \
		"nginx did not start listening on 127.0.0.1:$PORT" port_in_use "$PORT"
}

start_daemon() { "start_$1"; }

# start_stack — everything, in order; the caller stops what started when this fails.
start_stack() {
	ensure_stack_dirs
	check_binaries
	save_stack_env
	rm -f "$RUN"/*.held
	start_postgres || return 1
	migrate || return 1
	start_worker || return 1
	start_fcgi || return 1
	start_nginx || return 1
}

# wait_healthy SECONDS — until GET /healthz answers 200; fails early when a daemon died.
wait_healthy() {
	local deadline=$((SECONDS + $1)) code d
	while ((SECONDS < deadline)); do
		code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' --max-time 2 \
			"http://127.0.0.1:$PORT/healthz" 2>/dev/null) || true
		[[ $code == 200 ]] && return 0
		for d in "${DAEMONS[@]}"; do
			[[ $d == postgres ]] && ((!PG_MANAGED)) && continue
			if ! running "$d" >/dev/null; then
				warn "$d is not running"
				return 1
			fi
		done
		((${STOPPING:-0})) && return 1
		sleep 0.25
	done
	warn "GET http://127.0.0.1:$PORT/healthz did not answer 200 within $1 s (last: ${code:-none})"
	return 1
}

###############################################################################
### the stack: stopping

stop_postgres() {
	((PG_MANAGED)) || return 0
	[[ -f $PGDATA/PG_VERSION && -n $PGBIN ]] || return 0
	if as_user "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
		as_user "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 -s stop ||
			warn "pg_ctl stop failed"
	fi
	rm -f "$RUN/postgres.pid"
}

stop_timeout() {
	case $1 in
	worker | example-worker) echo $((GRACE + 5)) ;;
	*) echo 10 ;;
	esac
}

# signal_daemon NAME SIGNAL — nginx gets it on its whole process group (master + workers).
signal_daemon() {
	local pid
	pid=$(running "$1") || return 0
	if [[ $1 == nginx && $2 == KILL ]]; then
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	else
		kill "-$2" "$pid" 2>/dev/null || true
	fi
}

# finish_daemon NAME — wait for NAME to exit after SIGTERM, SIGKILL after its timeout.
finish_daemon() {
	local name=$1 pid
	pid=$(read_pid "$name")
	if [[ -n $pid ]]; then
		if ! wait_gone "$pid" "$(comm_of "$name")" "$(stop_timeout "$name")"; then
			warn "$name did not stop in time: SIGKILL"
			signal_daemon "$name" KILL
			wait_gone "$pid" "$(comm_of "$name")" 5 || warn "$name (pid $pid) survived SIGKILL"
		fi
	fi
	rm -f "$(pid_file "$name")"
	[[ $name == fcgi ]] && rm -f "$RUN/fcgi.sock"
	return 0
}

stop_daemon() {
	case $1 in
	postgres) stop_postgres ;;
	*)
		signal_daemon "$1" TERM
		finish_daemon "$1"
		;;
	esac
}

kill_daemon() {
	case $1 in
	postgres) ((PG_MANAGED)) && signal_daemon postgres KILL ;;
	*) signal_daemon "$1" KILL ;;
	esac
	return 0
}

# stop_all — the example app (./dev example) and its worker, nginx, taskq-fcgi and
# taskq-worker together, then PostgreSQL.
stop_all() {
	local d
	for d in example example-worker nginx fcgi worker; do
		signal_daemon "$d" TERM
	done
	for d in example example-worker nginx fcgi worker; do
		finish_daemon "$d"
	done
	stop_postgres
	rm -f "$RUN"/*.held
}

###############################################################################
### commands: run, start, stop, status, daemon

# supervisor_pid — pid of a `./dev run` supervising this TASKQ_VAR.
supervisor_pid() {
	local pid="" comm=""
	if [[ -r $RUN/dev.pid ]]; then read -r pid 2>/dev/null <"$RUN/dev.pid" || true; fi
	[[ $pid =~ ^[0-9]+$ && $pid != "$$" ]] || return 1
	read -r comm 2>/dev/null <"/proc/$pid/comm" || return 1
	[[ $comm == dev || $comm == bash ]] || return 1
	grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && return 1
	printf '%s\n' "$pid"
}

announce() {
	local bold="" off=""
	if [[ -t 1 ]]; then
		bold=$'\e[1;31m'
		off=$'\e[0m'
	fi
	say "taskq is up: http://127.0.0.1:$PORT/"
	if [[ ${TASKQ_AUTH:-off} == on ]]; then
		say "auth: on -- make a token with: ./dev taskq token create OWNER [--admin]"
	else
		say "${bold}auth: OFF (local development; TASKQ_AUTH=on turns it on) -- no token needed, every task is visible to anyone who can reach 127.0.0.1:$PORT${off}"
	fi
	say "logs in $LOG; state in $VAR"
}

cmd_start() {
	stack_paths
	cmd_deps
	build_for_stack
	ensure_stack_dirs
	if supervisor_pid >/dev/null; then
		say "a ./dev run (pid $(supervisor_pid)) already supervises $VAR"
		return 0
	fi
	local adopted=0
	if adopt_running_stack; then adopted=1; fi
	if ! start_stack || ! wait_healthy 60; then
		show_log_tails
		((adopted)) || stop_all
		die "the stack did not come up (logs above, in $LOG)"
	fi
	announce
}

# the supervisor's state
STOPPING=0
declare -A BACKOFF=() NEXT_AT=() STARTED_AT=() PENDING=()

# supervise_one NAME — restart NAME if it died, with a back-off when it keeps dying.
supervise_one() {
	local d=$1 st="" s tenths=5 lived delay=0
	[[ -e $RUN/$d.held ]] && return 0
	running "$d" >/dev/null && return 0
	if [[ -z ${PENDING[$d]:-} ]]; then
		# the waiter writes the exit status a moment after the death (postgres has none)
		while [[ $d != postgres && ! -e $RUN/$d.status ]] && ((tenths-- > 0)); do sleep 0.1; done
		if s=$(exit_status "$d"); then st=" (status $s)"; fi
		# the first quick death restarts at once, the next ones wait 1, 2, 4 ... 30 s
		lived=$((SECONDS - ${STARTED_AT[$d]:-0}))
		if ((lived < 10)); then
			delay=${BACKOFF[$d]:-0}
			BACKOFF[$d]=$((delay == 0 ? 1 : (delay * 2 > 30 ? 30 : delay * 2)))
		else
			BACKOFF[$d]=0
		fi
		NEXT_AT[$d]=$((SECONDS + delay))
		PENDING[$d]=1
		if ((delay > 0)); then
			say "$d exited$st, restarting in ${delay}s"
		else
			say "$d exited$st, restarting"
		fi
	fi
	((SECONDS >= ${NEXT_AT[$d]:-0})) || return 0
	unset "PENDING[$d]"
	STARTED_AT[$d]=$SECONDS
	if ! start_daemon "$d"; then
		warn "restarting $d failed"
	fi
}

on_run_exit() {
	local rc=$?
	trap - EXIT INT TERM HUP
	say "stopping"
	stop_all
	rm -f "$RUN/dev.pid"
	say "stopped"
	# Ctrl-C / SIGTERM is the normal way out of `./dev run`
	((STOPPING)) && exit 0
	exit "$rc"
}

cmd_run() {
	local d other
	stack_paths
	cmd_deps
	build_for_stack
	ensure_stack_dirs
	if other=$(supervisor_pid); then
		die "./dev run (pid $other) already supervises $VAR; ./dev stop stops it"
	fi
	adopt_running_stack || true
	trap 'STOPPING=1' INT TERM HUP
	trap on_run_exit EXIT
	printf '%s\n' "$$" >"$RUN/dev.pid"
	if ! start_stack || ! wait_healthy 60; then
		((STOPPING)) && exit 0
		show_log_tails
		STOPPING=0
		die "the stack did not come up (logs above, in $LOG)"
	fi
	for d in "${DAEMONS[@]}"; do STARTED_AT[$d]=$SECONDS; done
	announce
	say "supervising; Ctrl-C stops everything"
	while ((!STOPPING)); do
		for d in "${DAEMONS[@]}"; do
			((STOPPING)) && break
			[[ $d == postgres ]] && ((!PG_MANAGED)) && continue
			supervise_one "$d"
		done
		((STOPPING)) || sleep 1
	done
	exit 0
}

cmd_stop() {
	local sup d any=0
	stack_paths
	load_stack_env
	[[ -d $VAR ]] || {
		say "no stack in $VAR"
		return 0
	}
	if sup=$(supervisor_pid); then
		say "stopping ./dev run (pid $sup)"
		kill -TERM "$sup" 2>/dev/null || true
		# it stops the daemons itself; give it their time plus a margin
		local tenths=$(((GRACE + 40) * 10))
		while supervisor_pid >/dev/null && ((tenths-- > 0)); do sleep 0.1; done
		supervisor_pid >/dev/null && warn "./dev run (pid $sup) did not exit"
	fi
	for d in "${DAEMONS[@]}" example example-worker; do
		if running "$d" >/dev/null; then any=1; fi
	done
	if ((PG_MANAGED)) && [[ -f $PGDATA/PG_VERSION && -n $PGBIN ]] &&
		as_user "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
		any=1
	fi
	if ((!any)); then
		rm -f "$RUN"/{worker,fcgi,nginx,postgres}.pid "$RUN"/*.held
		if [[ -n ${sup:-} ]]; then say "stopped"; else say "no stack running in $VAR"; fi
		return 0
	fi
	stop_all
	say "stopped"
}

cmd_status() {
	local d pid st
	stack_paths
	load_stack_env
	for d in "${DAEMONS[@]}"; do
		if [[ $d == postgres ]] && ((!PG_MANAGED)); then
			printf '%-9s external (TASKQ_DATABASE_URL)\n' "$d:"
		elif pid=$(running "$d"); then
			printf '%-9s running  pid %s\n' "$d:" "$pid"
		elif st=$(exit_status "$d"); then
			printf '%-9s stopped  (last exit: status %s)\n' "$d:" "$st"
		else
			printf '%-9s stopped\n' "$d:"
		fi
	done
	# the example app (./dev example), when it runs
	for d in example example-worker; do
		if pid=$(running "$d"); then printf '%-9s running  pid %s\n' "$d:" "$pid"; fi
	done
}

cmd_daemon() {
	local action=${1:-} name=${2:-}
	case $name in
	postgres | worker | fcgi | nginx) ;;
	*) die "usage: ./dev daemon start|stop|kill|restart|reload postgres|worker|fcgi|nginx" ;;
	esac
	stack_paths
	load_stack_env
	case $action in
	start | restart)
		ensure_stack_dirs
		[[ $name == worker || $name == fcgi ]] && check_binaries
		# held while we work on it, so a supervising ./dev run does not start it as well
		touch "$RUN/$name.held"
		[[ $action == restart ]] && stop_daemon "$name"
		if ! start_daemon "$name"; then
			rm -f "$RUN/$name.held"
			die "$name did not start"
		fi
		rm -f "$RUN/$name.held"
		say "$name: running pid $(running "$name" || echo "?")"
		;;
	stop)
		stop_daemon "$name"
		[[ -d $RUN ]] && touch "$RUN/$name.held" # a supervising ./dev run leaves it stopped
		say "$name: stopped"
		;;
	kill)
		kill_daemon "$name"
		say "$name: killed"
		;;
	reload)
		local pid
		pid=$(running "$name") || die "$name is not running"
		kill -HUP "$pid"
		say "$name: sent SIGHUP to pid $pid (its log says event=reloaded or event=reload_failed)"
		;;
	*) die "usage: ./dev daemon start|stop|kill|restart|reload NAME" ;;
	esac
}

###############################################################################
### commands: psql, env, taskq

cmd_psql() {
	local psql=psql
	stack_paths
	[[ -n $PGBIN && -x $PGBIN/psql ]] && psql=$PGBIN/psql
	exec "$psql" -d "$CONNINFO" "$@"
}

cmd_env() {
	stack_paths
	if ((PG_MANAGED)); then
		printf 'export PGHOST=%s PGPORT=5432 PGDATABASE=taskq PGUSER=taskq\n' \
			"$(shell_quote "$RUN")"
	fi
	printf 'export TASKQ_DATABASE_URL=%s\n' "$(shell_quote "$CONNINFO")"
}

cmd_taskq() {
	stack_paths
	load_stack_env
	[[ -x $BUILD/taskq ]] || die "$BUILD/taskq missing: run ./dev build"
	export TASKQ_SQL_DIR=${TASKQ_SQL_DIR:-$TOP/sql}
	exec "$BUILD/taskq" --db "$CONNINFO" "$@"
}
