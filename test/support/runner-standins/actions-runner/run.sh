#!/bin/bash
# Stand-in for actions/runner src/Misc/layoutroot/run.sh (written anew, same behaviour): runs run-helper.sh (a fresh
# copy of run-helper.sh.template) in a loop. Helper exit 2 means "restart"; 7 ends the script with 7 when
# ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE=1; anything else ends it. Without RUNNER_MANUALLY_TRAP_SIG that end
# is always exit 0; with it (the official image sets RUNNER_MANUALLY_TRAP_SIG=1) the helper's code is passed on, and
# SIGINT/SIGTERM are forwarded as SIGINT to the helper's process group. RUNNER_UPDATE_CA_CERTS runs
# update-ca-certificates, through sudo unless root.

script="${BASH_SOURCE[0]}"
while [ -h "$script" ]; do
  here="$(cd -P "$(dirname "$script")" && pwd)"
  script="$(readlink "$script")"
  [[ $script != /* ]] && script="$here/$script"
done
DIR="$(cd -P "$(dirname "$script")" && pwd)"

fresh_helper() { cp -f "$DIR/run-helper.sh.template" "$DIR/run-helper.sh"; }

loop_plain() {
  while :; do
    fresh_helper
    "$DIR/run-helper.sh" "$@"
    code=$?
    if [ "$code" -eq 2 ]; then
      echo "Restarting runner..."
      continue
    fi
    echo "Exiting runner..."
    if [ "$ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE" = 1 ] && [ "$code" -eq 7 ]; then exit 7; fi
    exit 0
  done
}

loop_trapping_signals() {
  set -m # job control: the helper gets its own process group
  trap 'kill -INT -$helper' INT TERM
  while :; do
    fresh_helper
    "$DIR/run-helper.sh" "$@" &
    helper=$!
    wait $helper
    code=$?
    if [ "$code" -eq 2 ]; then
      echo "Restarting runner..."
      continue
    fi
    echo "Exiting runner..."
    if [ "$ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE" = 1 ] && [ "$code" -eq 7 ]; then exit 7; fi
    trap - INT TERM
    # As the real script: wait for the helper's last output, then exit with the first wait's code, which is
    # 128+signal when a forwarded signal interrupted that wait (e.g. 143 after `docker stop`).
    wait $helper
    exit $code
  done
}

if [ -n "$RUNNER_UPDATE_CA_CERTS" ]; then
  if [ "$(id -u)" -eq 0 ]; then update-ca-certificates; else sudo update-ca-certificates; fi
fi

if [ -z "$RUNNER_MANUALLY_TRAP_SIG" ]; then
  loop_plain "$@"
else
  loop_trapping_signals "$@"
fi
