#!/bin/bash
# Stand-in for actions/runner src/Misc/layoutroot/safe_sleep.sh: sleeps $1 seconds (sleep, else a busy wait).
if command -v sleep >/dev/null; then
  sleep "$1"
  exit 0
fi
SECONDS=0
while [ "$SECONDS" -lt "$1" ]; do :; done
