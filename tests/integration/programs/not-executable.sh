#!/bin/sh
echo "not executable: never runs"
