#!/bin/sh
# Output mixing text, progress and JSON: the result is the last JSON value, here the one
# printed over several lines; the '[' that plain text interrupts and the trailing text are not.
echo 'starting'
echo '{"first": 1}'
echo 'progress 50 half way'
echo '['
echo 'not json'
printf '%s\n' '{' '  "a": [1, 2],' '  "b": {"c": "d/e", "u": "caf\u00e9"}' '}'
echo '{"a": NaN}'
echo 'done.'
