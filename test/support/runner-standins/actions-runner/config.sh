#!/bin/bash
# Stand-in for actions/runner src/Misc/layoutroot/config.sh (written anew, same behaviour): refuses root unless
# RUNNER_ALLOW_RUNASROOT, moves to its own directory, sources env.sh (which writes .env and .path there: the first writes
# into the runner's directory), then runs `bin/Runner.Listener remove ...` or `bin/Runner.Listener configure ...`.
# (The real script first checks the .NET dependencies with ldd and ldconfig; the stand-in has no .NET.)

if [ "$(id -u)" -eq 0 ] && [ -z "$RUNNER_ALLOW_RUNASROOT" ]; then
  echo "Must not run with sudo"
  exit 1
fi

script="${BASH_SOURCE[0]}"
while [ -h "$script" ]; do
  here="$(cd -P "$(dirname "$script")" && pwd)"
  script="$(readlink "$script")"
  [[ $script != /* ]] && script="$here/$script"
done
cd "$(cd -P "$(dirname "$script")" && pwd)" || exit 1

source ./env.sh

shopt -s nocasematch
if [[ $1 == remove ]]; then
  ./bin/Runner.Listener "$@"
else
  ./bin/Runner.Listener configure "$@"
fi
