#!/bin/sh
# Sample app for `make demo`: one line a second on stdout, now and then one on stderr.
n=0
while :; do
  n=$((n + 1))
  echo "tick $n"
  [ $((n % 10)) -eq 0 ] && echo "tock $n (stderr)" >&2
  sleep 1
done
