#!/bin/sh
# A process tree that runs for long: a background sleep, a background subshell with a child,
# a foreground sleep. Every sleep carries the payload's marker in its argument, so that a test
# can look for survivors. With "ignore_term":1 the whole tree ignores SIGTERM.
payload=$(cat)
m=$(printf '%s' "$payload" | sed -n 's/.*"marker": *\([0-9]*\).*/\1/p')
case $payload in *'"ignore_term": 1'* | *'"ignore_term":1'*) trap '' TERM ;; esac
sleep "1000.$m" &
(
	sleep "1001.$m"
	echo never
) &
echo "progress 5 started $m"
sleep "30.$m"
echo '{"finished": true}'
