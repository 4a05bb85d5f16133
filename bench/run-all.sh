#!/usr/bin/env bash
# Runs every benchmark of the project, each beside its raw-engine baseline from the same run; JSON lands in
# bench/results/. Needs the engine and the test image (npm run engine:up && npm run images:test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-test-images.sh
for bench in lifecycle api jobs monitoring cleanup; do
  echo "=== bench:$bench"
  npm run --silent "bench:$bench"
done
