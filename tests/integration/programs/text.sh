#!/bin/sh
# No JSON at all: the result is the tail of the output, made valid UTF-8 (an invalid byte
# and a NUL become '?'); progress lines are not output; the last line has no newline.
printf 'hello\n'
printf 'progress 50 x\n'
printf 'caf\303\251 \377\000!\n'
printf 'no newline at the end'
