# shellcheck shell=bash
# tools/dev/fuzz.sh — sourced by ./dev: the libFuzzer targets in tests/fuzz.
#
#   ./dev fuzz [TARGET] [SECONDS] [--merge]   long runs (cmd_fuzz); `./dev test` calls
#                                             fuzz_smoke for a short run of every target
#
# Binaries go to var/fuzz/bin, run logs to var/fuzz/log, crash/leak/timeout reproducers to
# var/fuzz/artifacts/TARGET. The seed corpus tests/fuzz/corpus/TARGET is only read: smoke runs
# start from a fresh copy in var/fuzz/work/TARGET, long runs grow var/fuzz/corpus/TARGET (kept
# between runs) and add to the seeds only with --merge. A failure is reproduced with
# `var/fuzz/bin/fuzz_TARGET FILE` (or, without libFuzzer, the replay driver that make check
# builds: `var/build/tests/fuzz/replay_TARGET FILE`).
#
# Environment: FUZZ_JOBS (parallel jobs of a long run, default 2), FUZZ_CC (default clang),
# FUZZ_CXX (default clang++, for the C++ sources: lib/tz_zone.cc).

FUZZ_TARGETS=(submit router query config cron)
# Debian 12: clang and the libFuzzer/sanitizer runtimes of the default clang (14)
FUZZ_PACKAGES=(clang libclang-rt-dev)

# fuzz_sources TARGET — the project sources a target links, one a line.
fuzz_sources() {
	case $1 in
	submit) printf '%s\n' tests/fuzz/refjson.c lib/model/taskjson.c lib/model/jsondup.c lib/model/jsontext.c lib/model/signal.c lib/base/utf8.c lib/model/task.c lib/model/record.c lib/base/err.c lib/base/xalloc.c ;;
	router) printf '%s\n' fcgi/router.c ;;
	query) printf '%s\n' fcgi/query.c fcgi/params.c fcgi/filters.c lib/model/task.c lib/model/record.c lib/cred/token.c lib/base/config.c lib/base/strlist.c lib/base/log.c lib/base/err.c lib/base/xalloc.c ;;
	config) printf '%s\n' lib/base/config.c lib/base/strlist.c lib/base/log.c lib/base/err.c lib/base/xalloc.c ;;
	cron) printf '%s\n' lib/time/cron.c lib/time/tz.c lib/time/tz_zone.cc lib/base/err.c lib/base/xalloc.c ;;
	*) return 1 ;;
	esac
}

# fuzz_modules TARGET — the pkg-config modules a target links beyond json-c and libcrypto.
fuzz_modules() {
	case $1 in
	cron) echo absl_time_zone ;;
	esac
}

# fuzz_max_len TARGET — libFuzzer's -max_len for it.
fuzz_max_len() {
	case $1 in
	submit) echo 65536 ;;
	router) echo 2048 ;;
	query) echo 8192 ;;
	cron) echo 4096 ;;
	*) echo 16384 ;;
	esac
}

fuzz_paths() {
	FUZZ_DIR=$TOP/var/fuzz
	FUZZ_BIN=$FUZZ_DIR/bin
	FUZZ_CC=${FUZZ_CC:-clang}
	FUZZ_CXX=${FUZZ_CXX:-clang++}
}

# fuzz_compiler_ok — can $FUZZ_CC link a libFuzzer target with ASan and UBSan?
fuzz_compiler_ok() {
	local tmp rc=0
	command -v "$FUZZ_CC" >/dev/null 2>&1 || return 1
	tmp=$(mktemp -d) || return 1
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
		>"$tmp/t.c"
	"$FUZZ_CC" -fsanitize=fuzzer,address,undefined "$tmp/t.c" -o "$tmp/t" >/dev/null 2>&1 || rc=1
	rm -rf "$tmp"
	return "$rc"
}

# fuzz_install — clang with the libFuzzer runtime, installed when missing (as root).
fuzz_install() {
	fuzz_paths
	fuzz_compiler_ok && return 0
	if [[ $FUZZ_CC != clang ]]; then
		warn "fuzz: $FUZZ_CC cannot build libFuzzer targets (-fsanitize=fuzzer,address,undefined)"
		return 1
	fi
	if ! is_root || ! command -v apt-get >/dev/null; then
		warn "fuzz: clang cannot build libFuzzer targets; install them with:"
		printf '  sudo apt-get install %s\n' "${FUZZ_PACKAGES[*]}" >&2
		return 1
	fi
	say "fuzz: installing ${FUZZ_PACKAGES[*]}"
	apt-get update -q >/dev/null || {
		warn "fuzz: apt-get update failed"
		return 1
	}
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${FUZZ_PACKAGES[@]}" </dev/null >/dev/null || {
		warn "fuzz: apt-get install ${FUZZ_PACKAGES[*]} failed"
		return 1
	}
	fuzz_compiler_ok || {
		warn "fuzz: clang still cannot link -fsanitize=fuzzer after installing ${FUZZ_PACKAGES[*]}"
		return 1
	}
}

# fuzz_build [TARGET...] — compile the targets (all by default) into var/fuzz/bin when their
# sources, the headers or this file changed.
fuzz_build() {
	local t bin log stale f failed=0 src obj mods ok
	local -a srcs csrcs objs targets=("$@") cflags cxxflags libs extra inc
	fuzz_paths
	((${#targets[@]})) || targets=("${FUZZ_TARGETS[@]}")
	mkdir -p "$FUZZ_BIN" "$FUZZ_DIR/log"
	# -iquote, not -I: a project header never stands in for a system one
	# shellcheck disable=SC2054 # the commas belong to -fsanitize=
	cflags=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
		-fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wshadow
		-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral -Werror
		-iquote "$TOP/lib")
	# shellcheck disable=SC2207 # pkg-config's words are meant to be split
	cflags+=($(pkg-config --cflags json-c libcrypto)) || return 1
	# shellcheck disable=SC2207
	libs=($(pkg-config --libs json-c libcrypto) -lm) || return 1
	# the same for C++ sources, compiled apart and linked in with the C++ library
	# shellcheck disable=SC2054
	cxxflags=(-g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
		-fno-omit-frame-pointer -std=c++17 -D_GNU_SOURCE -Wall -Wextra -Wshadow
		-Wmissing-declarations -Wformat=2 -Wno-format-nonliteral -Werror -iquote "$TOP/lib")
	for t in "${targets[@]}"; do
		mapfile -t srcs < <(fuzz_sources "$t")
		if ((${#srcs[@]} == 0)); then
			warn "fuzz: no such target '$t' (targets: ${FUZZ_TARGETS[*]})"
			failed=1
			continue
		fi
		srcs=("tests/fuzz/fuzz_$t.c" "${srcs[@]}")
		# each target sees lib/ and what it tests: fcgi/ only for fcgi's parsers
		inc=()
		[[ ${srcs[*]} == *fcgi/* ]] && inc=(-iquote "$TOP/fcgi")
		bin=$FUZZ_BIN/fuzz_$t
		log=$FUZZ_DIR/log/build-$t.log
		stale=0
		if [[ ! -x $bin ]]; then
			stale=1
		else
			for f in "${srcs[@]/#/$TOP/}" "$TOP"/lib/*/*.h "$TOP"/fcgi/*.h "$TOP"/tests/fuzz/*.h \
				"${BASH_SOURCE[0]}"; do
				if [[ $f -nt $bin ]]; then
					stale=1
					break
				fi
			done
		fi
		((stale)) || continue
		csrcs=()
		objs=()
		extra=()
		mods=$(fuzz_modules "$t")
		if [[ -n $mods ]]; then
			# shellcheck disable=SC2207,SC2086
			extra=($(pkg-config --libs $mods)) || return 1
		fi
		: >"$log"
		ok=1
		for src in "${srcs[@]}"; do
			if [[ $src == *.cc ]]; then
				obj=$FUZZ_DIR/obj/$t/$(basename "$src" .cc).o
				mkdir -p "$(dirname "$obj")"
				# shellcheck disable=SC2046,SC2086
				(cd "$TOP" && "$FUZZ_CXX" "${cxxflags[@]}" ${mods:+$(pkg-config --cflags $mods)} \
					-c "$src" -o "$obj") >>"$log" 2>&1 || {
					ok=0
					break
				}
				objs+=("$obj")
				extra+=(-lstdc++)
			else
				csrcs+=("$src")
			fi
		done
		if ((ok)) && (cd "$TOP" && "$FUZZ_CC" "${cflags[@]}" "${inc[@]}" "${csrcs[@]}" "${objs[@]}" "${libs[@]}" \
			"${extra[@]}" -o "$bin.new") >>"$log" 2>&1; then
			mv -f "$bin.new" "$bin"
			say "fuzz: built var/fuzz/bin/fuzz_$t"
		else
			rm -f "$bin.new"
			warn "fuzz: building fuzz_$t failed:"
			head -n 40 "$log" >&2
			failed=1
		fi
	done
	((failed == 0))
}

# fuzz_report LOG — the first 30 lines of the sanitizer or harness report in LOG, without
# the stack frames of libFuzzer and libc.
fuzz_report() {
	local log=$1 first
	first=$(grep -n -m1 -E '^fuzz_[a-z]+: |ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|^==[0-9]+== ?ERROR' "$log" |
		cut -d: -f1) || true
	[[ -n $first ]] || first=$(($(wc -l <"$log") - 29))
	((first > 0)) || first=1
	# every stage reads all its input: under pipefail, a head exiting early fails the pipeline
	sed -n "$first,\$p" "$log" |
		grep -vE ' in (fuzzer::|__sanitizer_print_stack_trace|__libc_start|_start |__pthread_kill|raise |abort )|libc\.so\.6\+0x' |
		sed -n 1,30p || true
}

# fuzz_execs LOG... — executions the runs logged: the sum of libFuzzer's final stats
# (-print_final_stats=1), else of its "Done N runs" lines, else the last "#N" status line.
fuzz_execs() {
	local n
	n=$(cat "$@" 2>/dev/null | awk '
		/^stat::number_of_executed_units:/ { s += $2; found = 1 }
		/^Done [0-9]+ runs/ { d += $2 }
		/^#[0-9]+\t/ { sub(/^#/, "", $1); last = $1 }
		END { if (found) print s; else if (d) print d; else print last + 0 }')
	printf '%s\n' "${n:-0}"
}

# fuzz_run TARGET SECONDS JOBS CORPUS... — one libFuzzer run (in var/fuzz/log/TARGET, where
# -jobs writes its fuzz-N.log files). Sets FUZZ_RUN_EXECS, FUZZ_RUN_LOG (the report's log, when
# one failed), FUZZ_RUN_ARTIFACT (the reproducer, if written); returns 1 on a failure.
fuzz_run() {
	local t=$1 secs=$2 jobs=$3 dir log art rc=0 f bad=""
	shift 3
	local -a args logs
	dir=$FUZZ_DIR/log/$t
	art=$FUZZ_DIR/artifacts/$t
	rm -rf "$dir"
	mkdir -p "$dir" "$art"
	log=$dir/run.log
	args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$(fuzz_max_len "$t")"
		-print_final_stats=1 -artifact_prefix="$art/")
	[[ -f $TOP/tests/fuzz/$t.dict ]] && args+=(-dict="$TOP/tests/fuzz/$t.dict")
	((jobs > 1)) && args+=(-jobs="$jobs" -workers="$jobs")
	(cd "$dir" && exec env ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:symbolize=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$FUZZ_BIN/fuzz_$t" "${args[@]}" "$@") </dev/null >"$log" 2>&1 || rc=$?
	logs=("$log")
	for f in "$dir"/fuzz-*.log; do
		[[ -e $f ]] && logs+=("$f")
	done
	FUZZ_RUN_EXECS=$(fuzz_execs "${logs[@]}")
	FUZZ_RUN_LOG=""
	FUZZ_RUN_ARTIFACT=""
	for f in "${logs[@]}"; do
		if grep -qE '^fuzz_[a-z]+: |ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|^==[0-9]+== ?ERROR|Test unit written to' "$f"; then
			bad=$f
			break
		fi
	done
	((jobs > 1)) || [[ -n $bad ]] || ((rc == 0)) || bad=$log
	[[ -n $bad ]] || return 0
	FUZZ_RUN_LOG=$bad
	FUZZ_RUN_ARTIFACT=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$bad" | sed -n 1p)
	return 1
}

# fuzz_show_failure TARGET — the reproducer and the report of the last fuzz_run.
fuzz_show_failure() {
	local t=$1
	if [[ -n $FUZZ_RUN_ARTIFACT ]]; then
		warn "fuzz: $t: reproducer $FUZZ_RUN_ARTIFACT (run: var/fuzz/bin/fuzz_$t $FUZZ_RUN_ARTIFACT)"
	else
		warn "fuzz: $t: no reproducer written; log $FUZZ_RUN_LOG"
	fi
	fuzz_report "$FUZZ_RUN_LOG" | sed 's/^/    /' >&2
}

# fuzz_once TARGET SECONDS JOBS CORPUS... — fuzz_run, then its line "fuzz: TARGET: N
# executions, ok" (or FAILED, and the failure's report); returns 1 on a failure.
fuzz_once() {
	local t=$1
	if fuzz_run "$@"; then
		say "fuzz: $t: $FUZZ_RUN_EXECS executions, ok"
		return 0
	fi
	say "fuzz: $t: $FUZZ_RUN_EXECS executions, FAILED"
	fuzz_show_failure "$t"
	return 1
}

# fuzz_smoke [SECONDS] — for ./dev test: build, run each target SECONDS (default 20) from a
# copy of its seeds; one test per target. Sets and exports FUZZ_EXECS. Always returns 0: the
# result is in the phase line (call it directly, not in a subshell, so that it counts).
fuzz_smoke() {
	local secs=${1:-20} t passed=0 failed=0 work
	FUZZ_EXECS=0
	export FUZZ_EXECS
	fuzz_paths
	say "test: fuzz (${#FUZZ_TARGETS[@]} libFuzzer targets, ${secs}s each)"
	if ! fuzz_install || ! fuzz_build; then
		phase fuzz 0 "${#FUZZ_TARGETS[@]}"
		return 0
	fi
	for t in "${FUZZ_TARGETS[@]}"; do
		work=$FUZZ_DIR/work/$t
		rm -rf "$work"
		mkdir -p "$work"
		if [[ -d $TOP/tests/fuzz/corpus/$t ]]; then
			cp -R "$TOP/tests/fuzz/corpus/$t/." "$work/"
		fi
		if fuzz_once "$t" "$secs" 1 "$work"; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
		fi
		FUZZ_EXECS=$((FUZZ_EXECS + FUZZ_RUN_EXECS))
	done
	say "fuzz: $FUZZ_EXECS executions in total"
	phase fuzz "$passed" "$failed"
	return 0
}

# cmd_fuzz [TARGET] [SECONDS] [--merge] — long runs: every target (or TARGET) for SECONDS
# (default 300) with FUZZ_JOBS (2) parallel jobs, growing var/fuzz/corpus/TARGET; --merge then
# adds the inputs that reach new coverage to tests/fuzz/corpus/TARGET.
cmd_fuzz() {
	local a secs=300 merge=0 jobs=${FUZZ_JOBS:-2} t failed=0 total=0 corpus seeds before after
	local -a targets=()
	for a in "$@"; do
		case $a in
		--merge) merge=1 ;;
		[0-9]*)
			[[ $a =~ ^[0-9]+$ ]] || die "fuzz: SECONDS must be a whole number, not '$a'"
			secs=$a
			;;
		-h | --help)
			printf 'usage: ./dev fuzz [TARGET] [SECONDS] [--merge]  (targets: %s)\n' "${FUZZ_TARGETS[*]}"
			return 0
			;;
		*)
			fuzz_sources "$a" >/dev/null || die "fuzz: no such target '$a' (targets: ${FUZZ_TARGETS[*]})"
			targets+=("$a")
			;;
		esac
	done
	((${#targets[@]})) || targets=("${FUZZ_TARGETS[@]}")
	[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "fuzz: FUZZ_JOBS must be a positive number"
	ensure_var_location
	fuzz_paths
	fuzz_install || die "fuzz: no compiler for libFuzzer targets"
	fuzz_build "${targets[@]}" || die "fuzz: build failed"
	for t in "${targets[@]}"; do
		corpus=$FUZZ_DIR/corpus/$t
		seeds=$TOP/tests/fuzz/corpus/$t
		mkdir -p "$corpus" "$seeds"
		say "fuzz: $t for ${secs}s ($jobs jobs; corpus var/fuzz/corpus/$t, seeds tests/fuzz/corpus/$t)"
		fuzz_once "$t" "$secs" "$jobs" "$corpus" "$seeds" || failed=$((failed + 1))
		total=$((total + FUZZ_RUN_EXECS))
		if ((merge)); then
			before=$(find "$seeds" -type f | wc -l)
			if (cd "$FUZZ_DIR/log/$t" && "$FUZZ_BIN/fuzz_$t" -merge=1 \
				-max_len="$(fuzz_max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
				"$seeds" "$corpus") </dev/null >"$FUZZ_DIR/log/$t/merge.log" 2>&1; then
				after=$(find "$seeds" -type f | wc -l)
				say "fuzz: $t: merged $((after - before)) new inputs into tests/fuzz/corpus/$t"
			else
				warn "fuzz: $t: merge failed (see var/fuzz/log/$t/merge.log)"
				failed=$((failed + 1))
			fi
		fi
	done
	say "fuzz: $total executions in total"
	((failed == 0)) || die "fuzz: $failed target(s) failed"
}
