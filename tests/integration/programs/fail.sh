#!/bin/sh
# Fails: non-zero exit after some output; the error is the stderr tail on one line.
echo 'progress 10 about to fail'
echo '{"ignored": true}'
echo 'first line of the complaint' >&2
echo 'database said: no' >&2
exit 3
