#!/bin/sh
# Progress lines with and without a message, then a result printed over several lines.
for i in 1 2 3 4; do
	sleep 0.3
	echo "progress $((i * 25 - 5)) step $i of 4"
done
echo "progress 97"
cat <<'JSON'
{
  "steps": 4,
  "nested": {"path": "a/b", "list": [1, 2.5, "x", null, true]}
}
JSON
