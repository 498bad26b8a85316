#!/bin/sh
# Prints a malformed line of the wait protocol: payload {"mode": "checkpoint"} a checkpoint
# that is not JSON, else a wait line with a bad signal name.
if grep -q '"checkpoint"'; then
	echo 'checkpoint {not json'
else
	echo 'wait Not-A-Name 10'
fi
