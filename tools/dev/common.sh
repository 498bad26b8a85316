# shellcheck shell=bash
# tools/dev/common.sh — sourced by ./dev: small helpers, paths, the stack's saved settings.
# shellcheck disable=SC2034 # the paths set here are used by the other tools/dev files

say() { printf 'dev: %s\n' "$*"; }
warn() { printf 'dev: %s\n' "$*" >&2; }
die() {
	printf 'dev: error: %s\n' "$*" >&2
	exit 1
}
is_root() { [[ $EUID -eq 0 ]]; }

# abspath PATH — PATH made absolute; relative paths are relative to the checkout.
abspath() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$TOP/$1" ;;
	esac
}

# as_user CMD... — run CMD as the stack's user (taskq when we are root), in $VAR. Daemons
# never inherit fd 9, the lock of `./dev test`.
as_user() {
	if is_root; then
		(cd "$VAR" && HOME=$VAR setpriv --reuid="$STACK_USER" --regid="$STACK_USER" \
			--init-groups -- "$@") 9>&-
	else
		(cd "$VAR" && "$@") 9>&-
	fi
}

# user_can TEST-ARGS... — `test TEST-ARGS` as the stack's user (e.g. user_can -x /some/dir).
user_can() {
	if is_root; then
		setpriv --reuid="$STACK_USER" --regid="$STACK_USER" --init-groups -- test "$@"
	else
		test "$@"
	fi
}

# shell_quote STRING — STRING in single quotes, for output meant for eval.
shell_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# sql_quote STRING — STRING as a single-quoted postgresql.conf value.
sql_quote() { printf "'%s'" "${1//\'/\'\'}"; }

# show_tail FILE [N] — the last N lines of FILE, framed.
show_tail() {
	local file=$1 n=${2:-20}
	[[ -s $file ]] || return 0
	printf -- '---- %s (last %s lines) ----\n' "$file" "$n" >&2
	tail -n "$n" "$file" >&2
}

show_log_tails() {
	local f
	for f in "$LOG"/*.log; do
		[[ -e $f ]] && show_tail "$f" 20
	done
	return 0
}

###############################################################################
### configuration of this invocation

# stack_paths — the settings of this invocation, from TASKQ_* and the defaults.
stack_paths() {
	VAR=$(abspath "${TASKQ_VAR:-$TOP/var}")
	PORT=${TASKQ_PORT:-8080}
	BUILD=$(abspath "${TASKQ_BUILD:-var/build}")
	CONCURRENCY=${TASKQ_CONCURRENCY:-8}
	GRACE=${TASKQ_GRACE_S:-10}
	[[ $GRACE =~ ^[0-9]+$ ]] || GRACE=10
	resolve_var
}

# resolve_var — VAR without symlinks (the taskq user may not be able to walk through the
# checkout to reach a var/ symlink), and every path derived from it.
resolve_var() {
	if [[ -d $VAR ]]; then VAR=$(cd "$VAR" && pwd -P); fi
	RUN=$VAR/run
	LOG=$VAR/log
	PGDATA=$VAR/pg
	NGX=$VAR/nginx
	EMBEDDED_CONNINFO="host=$RUN port=5432 dbname=taskq user=taskq"
	if [[ -n ${TASKQ_DATABASE_URL:-} && $TASKQ_DATABASE_URL != "$EMBEDDED_CONNINFO" ]]; then
		PG_MANAGED=0
		CONNINFO=$TASKQ_DATABASE_URL
	else
		PG_MANAGED=1
		CONNINFO=$EMBEDDED_CONNINFO
	fi
	find_pgbin
}

# find_pgbin — PostgreSQL's server binaries: the cluster's own version, else 15, else the newest.
find_pgbin() {
	local v=""
	PGBIN=""
	if [[ -r $PGDATA/PG_VERSION ]]; then read -r v <"$PGDATA/PG_VERSION" || true; fi
	if [[ -n $v && -x /usr/lib/postgresql/$v/bin/postgres ]]; then
		PGBIN=/usr/lib/postgresql/$v/bin
	elif [[ -x /usr/lib/postgresql/15/bin/postgres ]]; then
		PGBIN=/usr/lib/postgresql/15/bin
	else
		v=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null |
			sort -V | tail -n 1)
		[[ -n $v && -x /usr/lib/postgresql/$v/bin/postgres ]] && PGBIN=/usr/lib/postgresql/$v/bin
	fi
	return 0
}

# save_stack_env / load_stack_env — remember the port, build dir, concurrency and auth a stack was
# started with, so that `./dev daemon start worker` or `./dev taskq` later use the same ones.
# Explicit TASKQ_* variables still win, unless load_stack_env is given "force".
save_stack_env() {
	printf 'PORT=%s\nBUILD=%s\nCONCURRENCY=%s\nAUTH=%s\n' "$PORT" "$BUILD" "$CONCURRENCY" \
		"${TASKQ_AUTH:-off}" >"$RUN/stack.env"
}

load_stack_env() {
	local k v force=${1:-}
	[[ -r $RUN/stack.env ]] || return 0
	while IFS='=' read -r k v; do
		case $k in
		PORT) [[ -n ${TASKQ_PORT:-} && -z $force ]] || PORT=$v ;;
		BUILD) [[ -n ${TASKQ_BUILD:-} && -z $force ]] || BUILD=$v ;;
		CONCURRENCY) [[ -n ${TASKQ_CONCURRENCY:-} && -z $force ]] || CONCURRENCY=$v ;;
		AUTH) [[ -n ${TASKQ_AUTH:-} && -z $force ]] || export TASKQ_AUTH=$v ;;
		esac
	done <"$RUN/stack.env"
}

# adopt_running_stack — when part of this TASKQ_VAR's stack already runs, keep its settings
# (port, build, concurrency) and only start what is missing. Fails when nothing runs.
adopt_running_stack() {
	local d
	for d in "${DAEMONS[@]}"; do
		if running "$d" >/dev/null; then
			load_stack_env force
			say "a stack already runs in $VAR (port $PORT): starting what is missing"
			return 0
		fi
	done
	return 1
}

###############################################################################
### deps

