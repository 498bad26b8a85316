#!/bin/sh
# sales-report — an example taskq command kind: the daily "sales today and website traffic"
# report, in plain sh + coreutils (+ sed). Give it to a worker as a kind:
#
#   taskq-worker --commands report=/abs/path/examples/sales-report.sh
#   curl -s http://127.0.0.1:8080/api/tasks -H 'Content-Type: application/json' \
#        -d '{"kind":"report","payload":{"day":"2026-11-24","steps":4,"step_ms":200}}'
#
# The contract (worker/kinds/command.c): the payload arrives on stdin as one line of JSON;
# "progress P message" lines on stdout update the task; the last JSON value printed is the
# result; a non-zero exit fails the attempt with the end of stderr as its error. The figures
# are made up from the day (a checksum), so that the same day always gives the same report.
set -eu

payload=$(cat)

# field NAME: a string or integer member of the (flat) payload object, or nothing. A sketch
# good enough for this payload; a real program would parse with jq or python3.
field() {
	printf '%s' "$payload" | sed -n "s/.*\"$1\" *: *\(\"[^\"]*\"\|-\{0,1\}[0-9][0-9]*\).*/\1/p" |
		tr -d '"'
}
fail() {
	printf 'sales-report: %s\n' "$*" >&2
	exit 2
}

day=$(field day)
steps=$(field steps)
step_ms=$(field step_ms)
day=${day:-$(date -u +%Y-%m-%d)}
steps=${steps:-4}
step_ms=${step_ms:-200}
printf '%s\n' "$day" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' || fail "day must be YYYY-MM-DD (got '$day')"
[ "$steps" -ge 1 ] && [ "$steps" -le 20 ] || fail "steps must be 1..20 (got $steps)"
[ "$step_ms" -ge 0 ] && [ "$step_ms" -le 10000 ] || fail "step_ms must be 0..10000 (got $step_ms)"
pause=$((step_ms / 1000)).$(printf '%03d' $((step_ms % 1000)))

i=0
for stage in "fetching sales" "fetching traffic" "joining" "writing summary"; do
	i=$((i + 1))
	# the steps are spread over the four stages (a stage may get none, or several)
	while [ $((i * steps / 4)) -gt "${done_steps:-0}" ]; do
		done_steps=$((${done_steps:-0} + 1))
		sleep "$pause"
		echo "progress $((done_steps * 100 / steps)) $stage"
	done
done

seed=$(printf '%s' "$day" | cksum | cut -d' ' -f1)
orders=$((seed % 500 + 100))
cents=$((orders * 2399))
visits=$((seed % 9000 + 1000))
bp=$((orders * 10000 / visits)) # conversion in basis points
printf '{"day":"%s","sales":{"orders":%d,"revenue":"%d.%02d","currency":"EUR"},' \
	"$day" "$orders" $((cents / 100)) $((cents % 100))
printf '"traffic":{"visits":%d,"conversion_pct":"%d.%02d"},' "$visits" $((bp / 100)) $((bp % 100))
printf '"task_id":"%s","generated_at":"%s"}\n' "${TASKQ_TASK_ID:-}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
