#!/bin/sh
# Closes stdout early, then keeps working: the task ends when the program exits, not at EOF.
echo '{"early": true}'
exec >&-
sleep 1.5
echo 'still working after closing stdout' >&2
exit 0
