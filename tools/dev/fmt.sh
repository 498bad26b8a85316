# shellcheck shell=bash
# tools/dev/fmt.sh — sourced by ./dev: ./dev fmt [--check], clang-format with the checkout's
# .clang-format on every C file of the tree (*.c and *.h that git tracks, or would track: not
# var/, not what .gitignore leaves out).
#
#   ./dev fmt           formats them in place
#   ./dev fmt --check   changes nothing: lists each file clang-format would change (with the
#                       number of its lines that would change); status 1 when there is one
#
# ./dev test runs the check as one counted test (fmt_test). Environment:
# CLANG_FORMAT (default clang-format; Debian package clang-format, in ./dev's DEPS).

# fmt_files — the C files of the tree, one a line, relative to $TOP.
fmt_files() {
	if git -C "$TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$TOP" ls-files --cached --others --exclude-standard -- '*.c' '*.h' |
			while IFS= read -r f; do [[ -f $TOP/$f ]] && printf '%s\n' "$f"; done
	else
		(cd "$TOP" && find . -path ./var -prune -o -path ./debian -prune -o \
			-type f \( -name '*.c' -o -name '*.h' \) -print | sed 's|^\./||' | sort)
	fi
}

fmt_tool() {
	FMT_TOOL=${CLANG_FORMAT:-clang-format}
	command -v "$FMT_TOOL" >/dev/null 2>&1 ||
		die "fmt: $FMT_TOOL not found (Debian package clang-format: ./dev deps installs it)"
	[[ -f $TOP/.clang-format ]] || die "fmt: $TOP/.clang-format missing"
}

# fmt_check — lists the files clang-format would change; returns 1 when there is one. Formats
# copies in a scratch directory with one clang-format run, then compares.
fmt_check() {
	local f n files=0 lines=0 total tmp
	local -a all
	fmt_tool
	mapfile -t all < <(fmt_files)
	total=${#all[@]}
	tmp=$(mktemp -d) || die "fmt: mktemp failed"
	if ((total)) && ! { (cd "$TOP" && tar -cf - -- "${all[@]}") | tar -C "$tmp" -xf - &&
		(cd "$tmp" && "$FMT_TOOL" --style="file:$TOP/.clang-format" -i -- "${all[@]}"); }; then
		rm -rf "$tmp"
		die "fmt: $FMT_TOOL failed"
	fi
	for f in "${all[@]}"; do
		n=$(diff -- "$TOP/$f" "$tmp/$f" | grep -c '^<') || true
		if ((n > 0)); then
			printf '%s: %s lines would change\n' "$f" "$n"
			files=$((files + 1))
			lines=$((lines + n))
		fi
	done
	rm -rf "$tmp"
	if ((files)); then
		say "fmt: $files of $total C files would change ($lines lines); ./dev fmt formats them"
		return 1
	fi
	say "fmt: the $total C files are formatted"
}

# fmt_test — for ./dev test: the check as one test (phase "fmt").
fmt_test() {
	say "test: fmt --check (clang-format, .clang-format)"
	if fmt_check; then
		phase fmt 1 0
	else
		phase fmt 0 1
	fi
}

cmd_fmt() {
	case ${1:-} in
	--check)
		fmt_check
		return
		;;
	"") ;;
	*) die "fmt: unknown argument '$1' (fmt [--check])" ;;
	esac
	fmt_tool
	local -a files
	mapfile -t files < <(fmt_files)
	((${#files[@]})) || return 0
	(cd "$TOP" && "$FMT_TOOL" --style="file:$TOP/.clang-format" -i -- "${files[@]}")
	say "fmt: formatted ${#files[@]} C files (git diff shows what changed)"
}
