# shellcheck shell=bash
# tools/dev/build.sh — sourced by ./dev: Debian packages and the autotools builds.
missing_packages() {
	local p status
	for p in "${DEPS[@]}"; do
		status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || status=""
		[[ $status == "install ok installed" ]] || printf '%s\n' "$p"
	done
}

cmd_deps() {
	local missing
	if ! command -v dpkg-query >/dev/null; then
		warn "not a Debian system: make sure these are installed: ${DEPS[*]}"
		return 0
	fi
	mapfile -t missing < <(missing_packages)
	if ((${#missing[@]} == 0)); then
		is_root && ensure_user
		return 0
	fi
	if ! is_root; then
		warn "missing Debian packages; install them with:"
		printf '  sudo apt-get install %s\n' "${missing[*]}" >&2
		exit 1
	fi
	say "installing ${missing[*]}"
	apt-get update -q || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" </dev/null ||
		die "apt-get install failed"
	mapfile -t missing < <(missing_packages)
	((${#missing[@]} == 0)) || die "still missing after apt-get install: ${missing[*]}"
	ensure_user
}

ensure_user() {
	id -u "$STACK_USER" >/dev/null 2>&1 && return 0
	say "creating system user $STACK_USER"
	useradd --system --no-create-home --shell /usr/sbin/nologin "$STACK_USER"
}

###############################################################################
### build

# ensure_var_location — as root, $TOP/var must be reachable by the taskq user; when the
# checkout itself is not (e.g. under /root), var becomes a symlink into /var/tmp.
ensure_var_location() {
	local top_var=$TOP/var target hash
	is_root || return 0
	ensure_user
	if user_can -x "$TOP"; then
		mkdir -p "$top_var"
	else
		hash=$(printf '%s' "$TOP" | sha256sum | cut -c1-12)
		target=/var/tmp/taskq-$hash
		if [[ -L $top_var ]]; then
			target=$(readlink "$top_var")
		elif [[ -d $top_var ]]; then
			[[ -e $target ]] && die "$top_var and $target both exist; remove one of them"
			say "user $STACK_USER cannot reach $TOP: moving var/ to $target"
			mv "$top_var" "$target"
			ln -s "$target" "$top_var"
		else
			say "user $STACK_USER cannot reach $TOP: var/ is a symlink to $target"
			ln -s "$target" "$top_var"
		fi
		mkdir -p "$target"
		chmod 755 "$target"
	fi
	chown "$STACK_USER:" "$(cd "$top_var" && pwd -P)"
}

# do_build FLAVOR VERBOSE — FLAVOR "plain" (var/build) or "asan" (var/build-asan).
do_build() {
	local flavor=$1 verbose=$2 dir out
	local -a conf=(--enable-werror)
	ensure_var_location
	dir=$TOP/var/build
	if [[ $flavor == asan ]]; then
		dir=$TOP/var/build-asan
		conf+=(--enable-asan)
	fi
	[[ -f $TOP/configure.ac && -f $TOP/Makefile.am ]] ||
		die "configure.ac or Makefile.am missing in $TOP"
	[[ -f $TOP/config.status ]] &&
		die "the source tree is configured in place; run 'make distclean' in $TOP first"

	if [[ ! -x $TOP/configure || $TOP/configure.ac -nt $TOP/configure ||
		$TOP/Makefile.am -nt $TOP/configure ]]; then
		say "autoreconf -fi"
		out=$(cd "$TOP" && autoreconf -fi 2>&1) || {
			printf '%s\n' "$out" >&2
			die "autoreconf failed"
		}
		[[ $verbose == 1 && -n $out ]] && printf '%s\n' "$out"
	fi

	mkdir -p "$dir"
	if [[ ! -f $dir/config.status || $TOP/configure -nt $dir/config.status ]]; then
		say "configure ${conf[*]} (in ${dir#"$TOP"/})"
		if ! (cd "$dir" && "$TOP/configure" "${conf[@]}") >"$dir/dev-configure.log" 2>&1; then
			tail -n 30 "$dir/dev-configure.log" >&2
			die "configure failed (see $dir/config.log)"
		fi
		[[ $verbose == 1 ]] && cat "$dir/dev-configure.log"
	fi

	if [[ $verbose == 1 ]]; then
		make -C "$dir" -j2 V=1 2>&1 | tee "$dir/dev-make.log" || die "build failed"
	elif ! make -C "$dir" -j2 >"$dir/dev-make.log" 2>&1; then
		cat "$dir/dev-make.log" >&2
		die "build failed (${dir#"$TOP"/})"
	fi
	local b
	for b in taskq-fcgi taskq-worker taskq; do
		[[ -x $dir/$b ]] || die "build finished but $dir/$b is missing"
	done
	say "build ok (${dir#"$TOP"/})"
}

cmd_build() {
	local flavor=plain verbose=0 a
	for a in "$@"; do
		case $a in
		--asan) flavor=asan ;;
		-v | --verbose) verbose=1 ;;
		*) die "build: unknown argument '$a' (build [--asan] [-v])" ;;
		esac
	done
	do_build "$flavor" "$verbose"
}

# build_for_stack — build whatever $BUILD is, when it is one of ours.
build_for_stack() {
	case $BUILD in
	"$TOP/var/build") do_build plain 0 ;;
	"$TOP/var/build-asan") do_build asan 0 ;;
	*) say "using the binaries in $BUILD (TASKQ_BUILD; not built by ./dev)" ;;
	esac
}

###############################################################################
### processes and pid files

