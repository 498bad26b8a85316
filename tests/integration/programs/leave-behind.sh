#!/bin/sh
# Exits at once, leaving a background process that still holds stdout and stderr open.
m=$(sed -n 's/.*"marker": *\([0-9]*\).*/\1/p')
sleep "1002.$m" &
echo '{"left": true}'
exit 0
