#!/usr/bin/env bash
# Runs every benchmark of the project, each beside its raw-engine baseline from the same run; JSON lands in
# bench/results/, then bench:report gathers it into bench/results/latest.json and latest.md. Needs the engine and the
# test images (npm run engine:up && npm run images:test). Stops at the first benchmark that fails, naming it, and
# writes no report then (it would mix this run's figures with an older run's).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-test-images.sh
bash scripts/build-runner-standins.sh
bash scripts/registry-up.sh
for bench in lifecycle api jobs monitoring cleanup security fleet; do
  echo "=== bench:$bench ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
  status=0
  npm run --silent "bench:$bench" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "=== bench:$bench FAILED with exit code $status; no report written" >&2
    exit "$status"
  fi
done
echo "=== bench:report ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
npm run --silent bench:report
