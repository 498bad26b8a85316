#!/usr/bin/env bash
# tests/package/run.sh — the Debian package and the systemd units, as an operator gets them.
#
# Builds taskq_*.deb from a copy of the working tree under /tmp (the checkout stays clean;
# uncommitted files are included, ignored ones are not) with DEB_BUILD_OPTIONS="nocheck
# parallel=2", then checks:
#   - lintian: no error (the tags it prints are shown)
#   - the package's files: binaries, units, SQL, nginx templates, dashboard, configuration
#     (as conffiles), docs; units neither enabled nor started by the maintainer scripts
#   - systemd-analyze verify on the units, in the unpacked package as root (--root, with the
#     host's own units beside them for the targets they name): no complaint at all
#   - the unpacked binaries: --help, and the shipped configuration files parse
#   - the manual pages: no groff warning, their OPTIONS are exactly --help's flags
#     (tests/package/manpages.py)
#   - taskq-worker speaks sd_notify (READY, WATCHDOG, STOPPING; abstract and path sockets),
#     taskq-fcgi serves on a socket handed over as fd 0 (tests/package/daemons.py)
#   - make install / uninstall with DESTDIR: configuration installed only when absent
# Needs the Debian packages in tests/package/deps.txt (and the build's own: ./dev deps).
# Last line: "package: N passed, N failed"; exit status 1 when anything failed.
# TASKQ_PACKAGE_KEEP=1 keeps the scratch directory (printed) for a look.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
PASSED=0
FAILED=0
START=$SECONDS

pass() {
	PASSED=$((PASSED + 1))
	printf 'ok   %s\n' "$*"
}
fail() {
	FAILED=$((FAILED + 1))
	printf 'FAIL %s\n' "$*"
}
finish() {
	printf 'package: took %ss\n' "$((SECONDS - START))"
	printf 'package: %d passed, %d failed\n' "$PASSED" "$FAILED"
	((FAILED == 0))
	exit
}
# indent FILE [N] — the last N lines of FILE, indented
indent() { tail -n "${2:-40}" "$1" | sed 's/^/     | /'; }

missing=()
for c in dpkg-buildpackage dh dh_autoreconf lintian systemd-analyze python3 autoreconf; do
	command -v "$c" >/dev/null || missing+=("$c")
done
if ((${#missing[@]})); then
	fail "missing commands: ${missing[*]} (apt-get install $(tr '\n' ' ' <"$HERE/deps.txt"))"
	finish
fi

WORK=$(mktemp -d /tmp/taskq-package.XXXXXX)
if [[ ${TASKQ_PACKAGE_KEEP:-} == 1 ]]; then
	printf 'package: scratch directory %s (kept)\n' "$WORK"
else
	trap 'rm -rf "$WORK"' EXIT
fi
SRC=$WORK/taskq
ROOT=$WORK/root
mkdir -p "$SRC" "$ROOT"

### the source: the working tree without what git ignores (var/, autotools output, builds)
if git -C "$TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$TOP" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done |
		xargs -0 cp --parents -a -t "$SRC")
else
	(cd "$TOP" && tar --exclude=./var --exclude=./debian/build -cf - .) | tar -C "$SRC" -xf -
fi

### build the .deb
printf 'package: dpkg-buildpackage -us -uc -b (nocheck, parallel=2) in %s\n' "$SRC"
if (cd "$SRC" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b -Pnocheck) \
	>"$WORK/build.log" 2>&1 </dev/null; then
	pass "dpkg-buildpackage ($((SECONDS - START))s)"
else
	fail "dpkg-buildpackage:"
	indent "$WORK/build.log"
	finish
fi
DEB=$(find "$WORK" -maxdepth 1 -name 'taskq_*.deb' | head -n 1)
CHANGES=$(find "$WORK" -maxdepth 1 -name 'taskq_*.changes' | head -n 1)
if [[ -z $DEB ]]; then
	fail "no taskq_*.deb was built"
	finish
fi
printf 'package: %s (%s bytes)\n' "$(basename "$DEB")" "$(stat -c %s "$DEB")"

### lintian
lintian --info --display-info --fail-on error "${CHANGES:-$DEB}" >"$WORK/lintian.log" 2>&1
rc=$?
errors=$(grep -c '^E: ' "$WORK/lintian.log")
summary=$(grep -E '^[EWIP]: ' "$WORK/lintian.log" | cut -c1 | sort | uniq -c | tr -s ' \n' ' ')
if ((rc == 0 && errors == 0)); then
	pass "lintian: no error (${summary:-nothing to say})"
else
	fail "lintian (status $rc, $errors errors):"
fi
grep -E '^[EWIP]: ' "$WORK/lintian.log" | sed 's/^/     | /'

### the licence: debian/copyright carries LICENSE's words (Expat is Debian's name for MIT)
lic=$(sed -n '/^Permission is hereby granted/,$p' "$TOP/LICENSE" | tr -s ' \n' ' ')
deb=$(sed -n '/^License: Expat$/,$p' "$TOP/debian/copyright" | sed '1d; s/^ //; s/^\.$//' | tr -s ' \n' ' ')
if [[ -n $lic && $lic == "$deb" ]] && grep -q '^MIT License$' "$TOP/LICENSE"; then
	pass "debian/copyright (Expat) is LICENSE (MIT) word for word"
else
	fail "debian/copyright and LICENSE disagree"
fi

### the package's files
dpkg-deb -c "$DEB" | awk '{print $NF}' | sed 's|^\./|/|' >"$WORK/files"
want=(/usr/bin/taskq /usr/bin/taskq-fcgi /usr/bin/taskq-worker
	/lib/systemd/system/taskq-worker.service /lib/systemd/system/taskq-fcgi.service
	/lib/systemd/system/taskq-fcgi.socket /usr/lib/tmpfiles.d/taskq.conf
	/usr/share/taskq/nginx/taskq.conf.in /usr/share/taskq/nginx/taskq-streams.conf.in
	/usr/share/taskq/nginx/taskq-publisher.conf.in /usr/share/taskq/html/index.html
	/usr/share/taskq/html/task.html /usr/share/taskq/html/openapi.json
	/usr/share/taskq/html/client/taskq-client.js /usr/share/taskq/html/client/taskq-progress.js
	/etc/taskq/taskq-worker.conf /etc/taskq/taskq-fcgi.conf /etc/default/taskq
	/usr/share/doc/taskq/README.md /usr/share/doc/taskq/copyright
	/usr/share/doc/taskq/examples/taskq-worker.conf /usr/share/doc/taskq/examples/sales-report.sh
	/usr/share/man/man1/taskq.1.gz /usr/share/man/man8/taskq-worker.8.gz
	/usr/share/man/man8/taskq-fcgi.8.gz)
for f in "$TOP"/sql/schema/[0-9][0-9][0-9]_*.sql "$TOP"/sql/functions/*.sql \
	"$TOP"/sql/functions/order.txt; do
	want+=("/usr/share/taskq/sql/${f#"$TOP"/sql/}")
done
absent=()
for f in "${want[@]}"; do grep -qxF "$f" "$WORK/files" || absent+=("$f"); done
if ((${#absent[@]} == 0)); then
	pass "dpkg-deb -c: the ${#want[@]} files expected (of $(grep -vc '/$' "$WORK/files"))"
else
	fail "dpkg-deb -c: missing ${absent[*]}"
fi

mkdir -p "$WORK/control"
dpkg-deb -e "$DEB" "$WORK/control"
if diff <(sort "$WORK/control/conffiles") \
	<(printf '%s\n' /etc/default/taskq /etc/taskq/taskq-fcgi.conf /etc/taskq/taskq-worker.conf) \
	>"$WORK/conffiles.diff"; then
	pass "conffiles: /etc/taskq/taskq-{worker,fcgi}.conf, /etc/default/taskq"
else
	fail "conffiles differ from what is expected:"
	indent "$WORK/conffiles.diff"
fi

# the maintainer scripts create the user and never enable or start a unit (each unit's
# links are only re-made when the admin had enabled it: dh_installsystemd --no-enable); an
# upgrade try-restarts what runs, a removal stops it
pi=$WORK/control/postinst
if grep -q 'adduser --system' "$pi" &&
	[[ $(grep -c 'deb-systemd-helper debian-installed' "$pi") == 3 ]] &&
	! grep -q 'new installations run enable' "$pi" &&
	! grep -qE 'deb-systemd-invoke +(start|restart|\$)' "$pi" &&
	grep -q 'deb-systemd-invoke try-restart' "$pi" &&
	grep -q 'deb-systemd-invoke stop taskq-fcgi.socket' "$WORK/control/prerm"; then
	pass "maintainer scripts: add the user taskq, enable and start no unit, try-restart on upgrade, stop on removal"
else
	fail "maintainer scripts: want adduser, no enable/start, try-restart on upgrade, stop in prerm:"
	grep -nE 'adduser|deb-systemd|systemctl' "$pi" "$WORK/control/prerm" | sed 's/^/     | /'
fi

### systemd-analyze verify, in the unpacked package
dpkg-deb -x "$DEB" "$ROOT"
# the targets and units the taskq units name (multi-user.target, sockets.target, ...) come
# from the host; the package's own files win
cp -an /lib/systemd/system/. "$ROOT/lib/systemd/system/"
# ... and so do the programs they run besides taskq's (ExecReload's kill, from procps)
[[ -e $ROOT/bin/kill ]] || install -D -m 0755 "$(type -P kill || echo /bin/kill)" "$ROOT/bin/kill"
units=(taskq-worker.service taskq-fcgi.socket taskq-fcgi.service)
for u in "${units[@]}"; do
	if systemd-analyze verify --root="$ROOT" "/lib/systemd/system/$u" >"$WORK/verify.log" 2>&1 &&
		[[ ! -s $WORK/verify.log ]]; then
		pass "systemd-analyze verify $u"
	else
		fail "systemd-analyze verify $u:"
		indent "$WORK/verify.log"
	fi
done
systemd-tmpfiles --root="$ROOT" --create taskq.conf >"$WORK/tmpfiles.log" 2>&1
rc=$?
if ((EUID != 0)); then # it cannot give the directory to root: that alone is fine
	grep -v 'fchownat() of .* failed: Operation not permitted' "$WORK/tmpfiles.log" >"$WORK/tmpfiles.2"
	mv "$WORK/tmpfiles.2" "$WORK/tmpfiles.log"
	rc=0
fi
if ((rc == 0)) && [[ ! -s $WORK/tmpfiles.log && -d $ROOT/run/taskq ]]; then
	pass "systemd-tmpfiles --create taskq.conf makes /run/taskq"
else
	fail "systemd-tmpfiles --create taskq.conf:"
	indent "$WORK/tmpfiles.log"
fi
# the unit paths point into the package
for u in taskq-worker.service taskq-fcgi.service; do
	exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$ROOT/lib/systemd/system/$u")
	conf=$(sed -n 's/^ExecStart=.* --config \([^ ]*\).*/\1/p' "$ROOT/lib/systemd/system/$u")
	if [[ -x $ROOT$exe && -f $ROOT$conf ]]; then
		pass "$u: ExecStart $exe --config $conf, both in the package"
	else
		fail "$u: ExecStart '$exe' or its --config '$conf' is not in the package"
	fi
done

### the unpacked binaries
for b in taskq taskq-worker taskq-fcgi; do
	if "$ROOT/usr/bin/$b" --help >"$WORK/help.log" 2>&1 && grep -q '^usage: ' "$WORK/help.log"; then
		pass "$b --help (unpacked)"
	else
		fail "$b --help (unpacked):"
		indent "$WORK/help.log"
	fi
done
for b in taskq-worker taskq-fcgi; do
	if "$ROOT/usr/bin/$b" --config "$ROOT/etc/taskq/$b.conf" --help >"$WORK/conf.log" 2>&1; then
		pass "$b reads the shipped /etc/taskq/$b.conf"
	else
		fail "$b --config /etc/taskq/$b.conf:"
		indent "$WORK/conf.log"
	fi
done
# the manual pages, as installed: no groff warning, and every flag of --help (with its
# variable and default) in OPTIONS, and no other
for page in man1/taskq.1 man8/taskq-worker.8 man8/taskq-fcgi.8; do
	b=$(basename "$page" | sed 's/\.[18]$//')
	if python3 "$HERE/manpages.py" "$ROOT/usr/bin/$b" "$ROOT/usr/share/man/$page.gz" \
		>"$WORK/man.log" 2>&1; then
		pass "$(sed 's/^ok *//' "$WORK/man.log")"
	else
		fail "manual page $page:"
		indent "$WORK/man.log"
	fi
done
# the worker's file uncommented must parse too (catches a comment that lies about a key)
sed -E 's/^#([a-z-]+ = )/\1/' "$ROOT/etc/taskq/taskq-worker.conf" >"$WORK/worker-all.conf"
sed -E 's/^#([a-z-]+ = )/\1/' "$ROOT/etc/taskq/taskq-fcgi.conf" >"$WORK/fcgi-all.conf"
if "$ROOT/usr/bin/taskq-worker" --config "$WORK/worker-all.conf" --help >"$WORK/conf.log" 2>&1 &&
	"$ROOT/usr/bin/taskq-fcgi" --config "$WORK/fcgi-all.conf" --help >>"$WORK/conf.log" 2>&1; then
	pass "every key commented out in the shipped configuration files is a real one"
else
	fail "a commented-out key in the shipped configuration files does not parse:"
	indent "$WORK/conf.log"
fi

### the daemons as the units run them (no systemd, no PostgreSQL needed)
for how in @ /; do
	if python3 "$HERE/daemons.py" notify "$ROOT/usr/bin" "$how" >"$WORK/notify.log" 2>&1; then
		pass "taskq-worker sd_notify, NOTIFY_SOCKET $([[ $how == @ ]] && echo @abstract || echo /path): READY, WATCHDOG, STOPPING"
	else
		fail "taskq-worker sd_notify ($how):"
	fi
	indent "$WORK/notify.log" 20
done
if python3 "$HERE/daemons.py" socket "$ROOT/usr/bin" >"$WORK/socket.log" 2>&1; then
	pass "taskq-fcgi serves a listening socket on fd 0 (StandardInput=socket)"
else
	fail "taskq-fcgi on fd 0:"
fi
indent "$WORK/socket.log" 20

### make install / uninstall with DESTDIR (the package build's tree, configured for /usr)
B=$SRC/debian/build
D=$WORK/destdir
if make -C "$B" install DESTDIR="$D" >"$WORK/install.log" 2>&1 &&
	[[ -x $D/usr/bin/taskq-worker && -f $D/lib/systemd/system/taskq-fcgi.socket &&
		-f $D/etc/taskq/taskq-worker.conf && -f $D/usr/share/taskq/sql/schema/001_init.sql &&
		-f $D/usr/share/taskq/sql/functions/order.txt &&
		-f $D/usr/share/man/man1/taskq.1 && -f $D/usr/share/man/man8/taskq-fcgi.8 &&
		-f $D/usr/share/taskq/html/openapi.json ]] &&
	[[ $(stat -c %a "$D/etc/taskq/taskq-worker.conf") == 640 ]]; then
	pass "make install DESTDIR=…: binaries, units, sql, manual pages, openapi.json, configuration (0640)"
else
	fail "make install DESTDIR=…:"
	indent "$WORK/install.log"
fi
echo 'concurrency = 4' >>"$D/etc/taskq/taskq-worker.conf"
if make -C "$B" install DESTDIR="$D" >"$WORK/install2.log" 2>&1 &&
	grep -q '^concurrency = 4$' "$D/etc/taskq/taskq-worker.conf" &&
	grep -q 'keeping .*taskq-worker.conf' "$WORK/install2.log" &&
	make -C "$B" uninstall DESTDIR="$D" >"$WORK/uninstall.log" 2>&1 &&
	[[ -f $D/etc/taskq/taskq-worker.conf && ! -e $D/etc/taskq/taskq-fcgi.conf &&
		! -e $D/usr/bin/taskq-worker ]]; then
	pass "make install again keeps an edited configuration; uninstall removes only unedited ones"
else
	fail "make install (again) / uninstall:"
	indent "$WORK/install2.log" 10
	indent "$WORK/uninstall.log" 10
fi

finish
