#!/bin/sh
# Dies by a signal.
echo 'about to crash' >&2
kill -SEGV $$
