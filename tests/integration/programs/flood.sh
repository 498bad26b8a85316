#!/bin/sh
# Floods: 24 MB of stdout lines and 16 MB of stderr at once, then one 8 MB stdout line, then
# progress and the result. The worker keeps bounded tails only.
yes 'a line of output that is not JSON, repeated to flood the pipe' | head -c 24000000 &
yes 'a line of error output' | head -c 16000000 >&2 &
wait
head -c 8000000 /dev/zero | tr '\0' 'x'
echo
echo 'progress 90 flooded'
echo '{"flooded": true}'
