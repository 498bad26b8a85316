# shellcheck shell=bash
# tools/dev/cluster.sh — sourced by ./dev: `./dev cluster`, taskq across hosts on one machine.
# shellcheck disable=SC2153 # VAR, RUN, LOG … are set here and in tools/dev/common.sh
#
# Every host is a network namespace (tq-pg1, tq-pg2, tq-web1, tq-web2, tq-wk1..3, tq-client)
# joined by veth pairs to two Linux bridges in a switch namespace (tqsw):
#
#   back  10.88.0.0/24  pg1 .11  pg2 .12  web1 .21  web2 .22  wk1 .31  wk2 .32  wk3 .33
#   front 10.88.1.0/24  web1 .21  web2 .22  client .40
#
# The back network carries PostgreSQL (primary pg1, synchronous streaming replica pg2); the
# front one carries HTTP from the client host to the web hosts' nginx (port 80). Each host
# has `lo` up for its own unix sockets (nginx → taskq-fcgi, nchan's publisher, PostgreSQL's
# local socket), but every connection between hosts crosses the veths: the daemons are given
# plain IP addresses (libpq's multi-host `host=10.88.0.11,10.88.0.12`), never a name from the
# machine's /etc/hosts (which the namespaces share) nor another host's unix socket. Each host
# also gets a UTS namespace of its own, so its daemons see its name as their host name.
#
# A cut link is `ip link set` down on the switch's end of the host's veth: the host keeps
# its address and routes, and whatever it sends vanishes, like a pulled cable at the switch
# (no reset, no ICMP: TCP connections hang until keepalives or TCP_USER_TIMEOUT end them).
#
# State lives in $TASKQ_VAR/cluster/<host>/ (pg, run, log, etc, nginx). PostgreSQL trusts the
# back network (pg_hba: trust for 10.88.0.0/24, replication included): a private test network
# only, never a deployment.

readonly CL_HOSTS=(pg1 pg2 web1 web2 wk1 wk2 wk3 client)
readonly CL_SW=tqsw
readonly CL_BACK_NET=10.88.0
readonly CL_FRONT_NET=10.88.1
declare -A CL_BACK=([pg1]=11 [pg2]=12 [web1]=21 [web2]=22 [wk1]=31 [wk2]=32 [wk3]=33)
declare -A CL_FRONT=([web1]=21 [web2]=22 [client]=40)
readonly CL_DB_OPTS="port=5432 dbname=taskq user=taskq connect_timeout=2"
# what the daemons connect to: whichever of pg1, pg2 accepts writes
readonly CL_DBURL="host=$CL_BACK_NET.11,$CL_BACK_NET.12 $CL_DB_OPTS target_session_attrs=read-write"
# taskq-fcgi's status reads: the replica, as long as it is one
readonly CL_READURL="host=$CL_BACK_NET.12 $CL_DB_OPTS target_session_attrs=standby"

cl_ns() { printf 'tq-%s\n' "$1"; }

cl_daemons() {
	case $1 in
	pg*) echo postgres ;;
	web*) echo fcgi nginx ;;
	wk*) echo worker ;;
	*) ;;
	esac
}

cl_is_host() {
	local h
	for h in "${CL_HOSTS[@]}"; do [[ $h == "$1" ]] && return 0; done
	return 1
}

# cl_paths — the cluster's settings: CL (its state dir), BUILD, lease, threads.
cl_paths() {
	stack_paths
	CL=$VAR/cluster
	CL_LEASE=${TASKQ_CLUSTER_LEASE_S:-6}
	CL_CONC=${TASKQ_CLUSTER_CONCURRENCY:-4}
	CL_THREADS=${TASKQ_CLUSTER_THREADS:-4}
	CL_REPLICA_READS=${TASKQ_CLUSTER_REPLICA_READS:-on}
}

# cl_host HOST — point VAR, RUN, LOG, NGX, PGDATA, PORT at HOST's directories (the helpers of
# tools/dev/stack.sh work on those).
cl_host() {
	VAR=$CL/$1
	RUN=$VAR/run
	LOG=$VAR/log
	NGX=$VAR/nginx
	PGDATA=$VAR/pg
	# shellcheck disable=SC2034 # write_nginx_conf's
	PORT=80
}

cl_ns_exists() { [[ -e /run/netns/$1 ]]; }

cl_any_ns() {
	local h
	cl_ns_exists "$CL_SW" && return 0
	for h in "${CL_HOSTS[@]}"; do cl_ns_exists "$(cl_ns "$h")" && return 0; done
	return 1
}

# cl_prefix HOST AS_USER — CL_PFX: the command prefix that runs a command on HOST (in its
# network namespace, with its own host name), as the stack's user when AS_USER is 1. Exec all
# the way: the pid stays the command's.
cl_prefix() {
	# shellcheck disable=SC2016 # the inner shell expands them
	CL_PFX=(ip netns exec "$(cl_ns "$1")" unshare --uts -- /bin/sh -c
		'hostname "$0" && exec "$@"' "$1")
	if (($2)); then
		CL_PFX+=(setpriv --reuid="$STACK_USER" --regid="$STACK_USER" --init-groups --)
	fi
}

# cl_in HOST AS_USER CMD... — CMD on HOST, in the foreground.
cl_in() {
	cl_prefix "$1" "$2"
	shift 2
	"${CL_PFX[@]}" "$@" 9>&- # no daemon holds the lock of `./dev test`
}

###############################################################################
### the network

cl_net_up() {
	local h ns
	ip netns add "$CL_SW"
	ip -n "$CL_SW" link set lo up
	ip -n "$CL_SW" link add tqback type bridge
	ip -n "$CL_SW" link add tqfront type bridge
	ip -n "$CL_SW" link set tqback up
	ip -n "$CL_SW" link set tqfront up
	for h in "${CL_HOSTS[@]}"; do
		ns=$(cl_ns "$h")
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		if [[ -n ${CL_BACK[$h]:-} ]]; then
			ip -n "$CL_SW" link add "b-$h" type veth peer name back0 netns "$ns"
			ip -n "$CL_SW" link set "b-$h" master tqback up
			ip -n "$ns" addr add "$CL_BACK_NET.${CL_BACK[$h]}/24" dev back0
			ip -n "$ns" link set back0 up
		fi
		if [[ -n ${CL_FRONT[$h]:-} ]]; then
			ip -n "$CL_SW" link add "f-$h" type veth peer name front0 netns "$ns"
			ip -n "$CL_SW" link set "f-$h" master tqfront up
			ip -n "$ns" addr add "$CL_FRONT_NET.${CL_FRONT[$h]}/24" dev front0
			ip -n "$ns" link set front0 up
		fi
	done
}

# cl_link HOST NET up|down — the switch's end of HOST's veth on NET (back, front or both).
cl_link() {
	local host=$1 net=$2 state=$3 n done=0
	for n in back front; do
		[[ $net == both || $net == "$n" ]] || continue
		ip -n "$CL_SW" link show "${n:0:1}-$host" >/dev/null 2>&1 || continue
		ip -n "$CL_SW" link set "${n:0:1}-$host" "$state"
		done=1
	done
	((done)) || die "$host has no link on the $net network"
}

###############################################################################
### the daemons of one host (cl_host HOST first)

cl_wait_running() {
	local name=$1 tenths=${2:-50}
	until running "$name" >/dev/null; do
		((tenths-- > 0)) || return 1
		sleep 0.1
	done
}

# cl_pg_conf HOST [SYNC] — HOST's settings; pg1 names pg2 its synchronous standby only with
# SYNC (before pg2 exists, every commit would wait for it).
cl_pg_conf() {
	local host=$1 sync=${2:-} f=$PGDATA/taskq-cluster.conf
	{
		echo "# written by ./dev cluster; edit tools/dev/cluster.sh, not this file"
		echo "listen_addresses = '$CL_BACK_NET.${CL_BACK[$host]}'"
		echo "unix_socket_directories = $(sql_quote "$RUN")"
		echo "port = 5432"
		echo "max_connections = 80"
		echo "logging_collector = off"
		echo "log_line_prefix = '%m [%p] %q%u@%d '"
		echo "wal_level = replica"
		echo "max_wal_senders = 4"
		echo "max_replication_slots = 4"
		echo "hot_standby = on"
		echo "hot_standby_feedback = on"
		echo "wal_receiver_status_interval = 1s"
		echo "synchronous_commit = on"
		# the primary waits for pg2's flush; pg2, once promoted, waits for nobody
		if [[ $host == pg1 ]]; then
			echo "synchronous_standby_names = '$sync'"
		else
			echo "synchronous_standby_names = ''"
			echo "primary_conninfo = 'host=$CL_BACK_NET.11 port=5432 user=taskq application_name=$host'"
			echo "primary_slot_name = '$host'"
		fi
	} >"$f"
	chown "$STACK_USER:" "$f"
	grep -q "^include_if_exists = 'taskq-cluster.conf'" "$PGDATA/postgresql.conf" ||
		echo "include_if_exists = 'taskq-cluster.conf'" >>"$PGDATA/postgresql.conf"
}

cl_pg_hba() {
	cat >"$PGDATA/pg_hba.conf" <<EOF
# written by ./dev cluster: a private test network, trusted (never a deployment)
local all all trust
host all all $CL_BACK_NET.0/24 trust
host replication all $CL_BACK_NET.0/24 trust
EOF
	chown "$STACK_USER:" "$PGDATA/pg_hba.conf"
}

cl_pg_start() {
	local host=$1
	cl_in "$host" 1 "$PGBIN/pg_ctl" -D "$PGDATA" -l "$LOG/postgres.log" -w -t 60 -s start ||
		{
			show_tail "$LOG/postgres.log" 20
			die "$host: postgres did not start"
		}
}

cl_psql() {
	local host=$1
	shift
	"$PGBIN/psql" -X -q -At -h "$CL/$host/run" -p 5432 -U taskq "$@"
}

cl_up_pg1() {
	cl_host pg1
	say "cluster: pg1: initdb, primary on $CL_BACK_NET.11"
	cl_in pg1 1 "$PGBIN/initdb" -D "$PGDATA" -U taskq --auth=trust -E UTF8 \
		--locale=C.UTF-8 >"$LOG/initdb.log" 2>&1 || {
		cat "$LOG/initdb.log" >&2
		die "pg1: initdb failed"
	}
	cl_pg_conf pg1
	cl_pg_hba
	cl_pg_start pg1
	cl_psql pg1 -d postgres -c "CREATE DATABASE taskq" >/dev/null
	cl_psql pg1 -d postgres -c "SELECT pg_create_physical_replication_slot('pg2')" >/dev/null
}

cl_up_pg2() {
	local tenths=300 st=""
	cl_host pg2
	say "cluster: pg2: pg_basebackup from pg1, synchronous standby on $CL_BACK_NET.12"
	cl_in pg2 1 "$PGBIN/pg_basebackup" -h "$CL_BACK_NET.11" -p 5432 -U taskq -D "$PGDATA" \
		-X stream -c fast >"$LOG/basebackup.log" 2>&1 || {
		cat "$LOG/basebackup.log" >&2
		die "pg2: pg_basebackup failed"
	}
	: >"$PGDATA/standby.signal"
	chown "$STACK_USER:" "$PGDATA/standby.signal"
	rm -f "$PGDATA/postmaster.pid"
	cl_pg_conf pg2
	cl_pg_start pg2
	until [[ $st == sync ]]; do
		((tenths-- > 0)) || die "pg2 did not become pg1's synchronous standby (state: ${st:-none})"
		if [[ $st == async ]]; then
			cl_host pg1
			cl_pg_conf pg1 pg2
			as_user "$PGBIN/pg_ctl" -D "$PGDATA" -s reload
			cl_host pg2
		fi
		sleep 0.1
		st=$(cl_psql pg1 -d postgres -c \
			"SELECT sync_state FROM pg_stat_replication WHERE application_name = 'pg2'") || st=""
	done
}

cl_migrate() {
	local out
	if ! out=$(cl_in web1 1 env TASKQ_TOKEN='' TASKQ_SQL_DIR="$TOP/sql" "$BUILD/taskq" --db "$CL_DBURL" \
		migrate --sql-dir "$TOP/sql" 2>&1); then
		printf '%s\n' "$out" >&2
		die "cluster: migrate (from web1) failed"
	fi
}

cl_start_worker() {
	local host=$1
	cl_host "$host"
	running worker >/dev/null && return 0
	cl_prefix "$host" 1
	launch worker "$LOG/worker.log" 0 "${CL_PFX[@]}" "$BUILD/taskq-worker" \
		--config "$VAR/etc/taskq-worker.conf" --db "$CL_DBURL" \
		--concurrency "$CL_CONC" --queues "default,$host" --lease "$CL_LEASE" --poll 1 ||
		die "$host: taskq-worker did not start"
	cl_wait_running worker || {
		show_tail "$LOG/worker.log" 20
		die "$host: taskq-worker exited at once"
	}
}

cl_start_fcgi() {
	local host=$1 tenths=150
	local -a read=()
	cl_host "$host"
	running fcgi >/dev/null && return 0
	[[ $CL_REPLICA_READS == on ]] && read=(--read-db "$CL_READURL")
	rm -f "$RUN/fcgi.sock"
	cl_prefix "$host" 1
	launch fcgi "$LOG/fcgi.log" 0 "${CL_PFX[@]}" "$BUILD/taskq-fcgi" \
		--config "$VAR/etc/taskq-fcgi.conf" --db "$CL_DBURL" "${read[@]}" \
		--listen "$RUN/fcgi.sock" --publish "$RUN/nchan-pub.sock" --auth off \
		--threads "$CL_THREADS" || die "$host: taskq-fcgi did not start"
	until [[ -S $RUN/fcgi.sock ]]; do
		if ((tenths-- <= 0)); then
			show_tail "$LOG/fcgi.log" 20
			die "$host: taskq-fcgi did not create $RUN/fcgi.sock"
		fi
		sleep 0.1
	done
}

# cl_nginx_conf HOST — the dev stack's nginx files, listening on the host's front address
# (and on its own loopback, where /metrics is served to the host itself); the client host,
# which stands for the application's servers, is exempt from the per-address submit limit
# like loopback.
cl_nginx_conf() {
	local host=$1 addr=$CL_FRONT_NET.${CL_FRONT[$1]} f
	write_nginx_conf
	f=$NGX/taskq.conf
	sed -i -e "s|^\(    listen \)127\.0\.0\.1:80;|\1$addr:80;\n\1127.0.0.1:80;|" \
		-e "s|^\(    127\.0\.0\.1/32 0;\)|\1\n    $CL_FRONT_NET.${CL_FRONT[client]}/32 0;|" "$f"
	grep -q "listen $addr:80;" "$f" || die "$host: could not set nginx's listen address"
}

cl_start_nginx() {
	local host=$1 out tenths=100
	cl_host "$host"
	local -a nginx=(nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$LOG/nginx-error.log")
	running nginx >/dev/null && return 0
	cl_nginx_conf "$host"
	if ! out=$(ip netns exec "$(cl_ns "$host")" "${nginx[@]}" -t -q 2>&1); then
		printf '%s\n' "$out" >&2
		die "$host: nginx -t refused $NGX/nginx.conf"
	fi
	cl_prefix "$host" 0
	launch nginx "$LOG/nginx-error.log" 0 "${CL_PFX[@]}" "${nginx[@]}" ||
		die "$host: nginx did not start"
	until ip netns exec "$(cl_ns "$host")" curl -s -o /dev/null --max-time 1 \
		"http://127.0.0.1/healthz"; do
		((tenths-- > 0)) || {
			show_tail "$LOG/nginx-error.log" 20
			die "$host: nginx does not answer"
		}
		sleep 0.1
	done
}

cl_dirs() {
	local host=$1
	cl_host "$host"
	mkdir -p "$RUN" "$LOG" "$NGX/tmp"
	ensure_conf_files
	chown -R "$STACK_USER:" "$VAR"
}

# cl_start HOST — its daemons (PostgreSQL only restarts: up made it).
cl_start() {
	local host=$1 d
	cl_dirs "$host"
	for d in $(cl_daemons "$host"); do
		case $d in
		postgres)
			as_user "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1 ||
				cl_pg_start "$host"
			;;
		*) "cl_start_$d" "$host" ;;
		esac
	done
}

cl_pg_running() {
	cl_host "$1"
	[[ -f $PGDATA/PG_VERSION ]] &&
		setpriv --reuid="$STACK_USER" --regid="$STACK_USER" --init-groups -- \
			"$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1
}

# cl_stop HOST [KILL] — its daemons: SIGTERM (PostgreSQL: a fast shutdown) and a wait, or
# SIGKILL at once (PostgreSQL: the postmaster and every backend, like a crash).
cl_stop() {
	local host=$1 how=${2:-TERM} d pid kids
	cl_host "$host"
	for d in $(cl_daemons "$host"); do
		if [[ $d == postgres ]]; then
			[[ -f $PGDATA/PG_VERSION ]] || continue
			if [[ $how == KILL ]]; then
				pid=$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null) || pid=""
				if [[ $pid =~ ^[0-9]+$ ]] && proc_alive "$pid" postgres; then
					kids=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr '\n' ' ') || kids=""
					# shellcheck disable=SC2086 # a list of pids
					kill -KILL "$pid" $kids 2>/dev/null || true
					wait_gone "$pid" postgres 5 || warn "$host: postgres survived SIGKILL"
				fi
			elif cl_pg_running "$host"; then
				as_user "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 30 -s stop ||
					warn "$host: pg_ctl stop failed"
			fi
			continue
		fi
		if [[ $how == KILL ]]; then
			signal_daemon "$d" KILL
		else
			signal_daemon "$d" TERM
		fi
		finish_daemon "$d"
	done
}

###############################################################################
### commands

cl_need_root() { is_root || die "./dev cluster needs root (network namespaces)"; }

cl_up() {
	local h
	cl_need_root
	[[ -n $PGBIN ]] || die "no PostgreSQL under /usr/lib/postgresql: run ./dev deps"
	[[ -f $NCHAN_MODULE ]] || die "the cluster needs nchan ($NCHAN_MODULE): run ./dev deps"
	check_binaries
	if cl_any_ns || [[ -d $CL ]]; then
		say "cluster: taking the previous cluster down first"
		cl_down
	fi
	ensure_var_location
	mkdir -p "$VAR"
	chown "$STACK_USER:" "$VAR"
	rm -rf "$CL"
	mkdir -p "$CL"
	chown "$STACK_USER:" "$CL"
	local -r tag=$CL/.up
	say "cluster: network: switch $CL_SW, back $CL_BACK_NET.0/24, front $CL_FRONT_NET.0/24"
	cl_net_up
	for h in "${CL_HOSTS[@]}"; do cl_dirs "$h"; done
	cl_up_pg1
	cl_up_pg2
	cl_migrate
	for h in web1 web2; do
		say "cluster: $h: taskq-fcgi + nginx on $CL_FRONT_NET.${CL_FRONT[$h]}:80"
		cl_start_fcgi "$h"
		cl_start_nginx "$h"
	done
	for h in wk1 wk2 wk3; do
		say "cluster: $h: taskq-worker (queues default,$h; lease ${CL_LEASE}s)"
		cl_start_worker "$h"
	done
	printf 'up %s\n' "$(date -u +%FT%TZ)" >"$tag"
	say "cluster: up; ./dev cluster status, ./dev cluster down"
}

cl_down() {
	local h ns pids tenths d
	cl_need_root
	for h in web1 web2 wk1 wk2 wk3; do
		[[ -d $CL/$h ]] || continue
		cl_host "$h"
		for d in $(cl_daemons "$h"); do signal_daemon "$d" TERM; done
	done
	for h in web1 web2 wk1 wk2 wk3 pg2 pg1; do
		[[ -d $CL/$h ]] && cl_stop "$h"
	done
	# whatever still lives in the namespaces is ours (a daemon started by hand, a crashed
	# postmaster's backend): TERM, then KILL, by pid
	for h in "${CL_HOSTS[@]}"; do
		ns=$(cl_ns "$h")
		cl_ns_exists "$ns" || continue
		pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ') || pids=""
		[[ -n ${pids// /} ]] || continue
		warn "cluster: $h: stopping leftover processes $pids"
		# shellcheck disable=SC2086
		kill -TERM $pids 2>/dev/null || true
		tenths=30
		while [[ -n $(ip netns pids "$ns" 2>/dev/null) ]] && ((tenths-- > 0)); do sleep 0.1; done
		pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ') || pids=""
		# shellcheck disable=SC2086
		[[ -z ${pids// /} ]] || kill -KILL $pids 2>/dev/null || true
	done
	for h in "${CL_HOSTS[@]}"; do
		ns=$(cl_ns "$h")
		cl_ns_exists "$ns" && ip netns del "$ns"
	done
	cl_ns_exists "$CL_SW" && ip netns del "$CL_SW"
	rm -f "$CL/.up"
	if cl_any_ns; then die "cluster: a namespace is left: $(ip netns list | tr '\n' ' ')"; fi
	say "cluster: down"
}

cl_status() {
	local h addr link d pid role
	if ! cl_ns_exists "$CL_SW"; then
		say "cluster: down"
		return 0
	fi
	for h in "${CL_HOSTS[@]}"; do
		cl_host "$h"
		addr="" link=""
		[[ -n ${CL_BACK[$h]:-} ]] && addr+="$CL_BACK_NET.${CL_BACK[$h]} " &&
			link+="back:$(cl_link_state "$h" b) "
		[[ -n ${CL_FRONT[$h]:-} ]] && addr+="$CL_FRONT_NET.${CL_FRONT[$h]} " &&
			link+="front:$(cl_link_state "$h" f) "
		printf '%-7s %-24s %-20s' "$h" "$addr" "$link"
		for d in $(cl_daemons "$h"); do
			if [[ $d == postgres ]]; then
				if cl_pg_running "$h"; then
					role=$(cl_psql "$h" -d postgres -c "SELECT CASE WHEN pg_is_in_recovery()
						THEN 'standby' ELSE 'primary' END" 2>/dev/null) || role="?"
					printf ' postgres %s' "$role"
				else
					printf ' postgres stopped'
				fi
			elif pid=$(running "$d"); then
				printf ' %s %s' "$d" "$pid"
			else
				printf ' %s stopped' "$d"
			fi
		done
		printf '\n'
	done
}

cl_link_state() {
	local s
	s=$(ip -n "$CL_SW" -br link show "$2-$1" 2>/dev/null | awk '{print $2}') || s=""
	case $s in
	DOWN) echo cut ;;
	"") echo none ;;
	*) echo up ;;
	esac
}

cl_promote() {
	local tenths=300 r=""
	cl_host pg2
	as_user "$PGBIN/pg_ctl" -D "$PGDATA" -s promote -w -t 30 || die "pg2: promote failed"
	until [[ $r == f ]]; do
		((tenths-- > 0)) || die "pg2 is still in recovery"
		r=$(cl_psql pg2 -d postgres -c "SELECT pg_is_in_recovery()") || r=""
		sleep 0.1
	done
	say "cluster: pg2 is the primary"
}

cl_usage() {
	cat <<'EOF'
usage: ./dev cluster COMMAND      (as root)
  up                 build the hosts (network namespaces) and start everything
  down               stop everything and remove every namespace and link
  status             one line per host: addresses, links, daemons, PostgreSQL's role
  cut HOST [NET]     cut HOST's link (back, front or both; default both): packets vanish
  heal HOST [NET]    put it back
  stop|start HOST    stop (SIGTERM, a fast shutdown) or start HOST's daemons
  kill HOST          SIGKILL HOST's daemons (PostgreSQL: postmaster and backends)
  promote            promote pg2 to primary
  exec HOST CMD...   run CMD on HOST (its namespace), as root
  psql HOST [ARGS]   psql on HOST's PostgreSQL (its local socket), database taskq
  env                the connection strings the daemons use
EOF
}

cmd_cluster() {
	local cmd=${1:-status}
	(($#)) && shift
	cl_paths
	case $cmd in
	up)
		cl_need_root
		cmd_deps
		build_for_stack
		cl_up
		;;
	down) cl_down ;;
	status) cl_status ;;
	cut | heal)
		cl_need_root
		cl_is_host "${1:-}" || die "usage: ./dev cluster $cmd HOST [back|front|both]"
		case ${2:-both} in back | front | both) ;; *) die "NET: back, front or both" ;; esac
		cl_link "$1" "${2:-both}" "$([[ $cmd == cut ]] && echo down || echo up)"
		;;
	stop | start | kill)
		cl_need_root
		cl_is_host "${1:-}" || die "usage: ./dev cluster $cmd HOST"
		case $cmd in
		stop) cl_stop "$1" ;;
		kill) cl_stop "$1" KILL ;;
		start) cl_start "$1" ;;
		esac
		;;
	promote) cl_need_root && cl_promote ;;
	exec)
		cl_need_root
		cl_is_host "${1:-}" || die "usage: ./dev cluster exec HOST CMD..."
		local h=$1
		shift
		exec ip netns exec "$(cl_ns "$h")" "$@"
		;;
	psql)
		cl_is_host "${1:-}" || die "usage: ./dev cluster psql HOST [ARGS]"
		local h=$1
		shift
		exec "$PGBIN/psql" -X -h "$CL/$h/run" -p 5432 -U taskq -d taskq "$@"
		;;
	env)
		printf 'TASKQ_DATABASE_URL=%s\n' "$(shell_quote "$CL_DBURL")"
		printf 'TASKQ_READ_DATABASE_URL=%s\n' "$(shell_quote "$CL_READURL")"
		;;
	help | -h | --help) cl_usage ;;
	*)
		cl_usage >&2
		exit 2
		;;
	esac
}
