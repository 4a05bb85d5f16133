#!/usr/bin/env bash
# The whole test suite: unit tests, then the integration and end-to-end suites against the real Docker engine and
# real databases (SQLite always; PostgreSQL too when TEST_DATABASE_URL is set). Needs an engine that answers;
# `npm run engine:up` starts one on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build-test-images.sh
# The real-contract runner stand-ins (actions and myoung34 families), the per-job Docker daemon of the `docker`
# profile, and Debian's registry for the pull tests: each cached, quick when already in place.
bash scripts/build-runner-standins.sh
bash scripts/build-dind-image.sh
bash scripts/registry-up.sh
# Debian's Chromium for the Swagger UI test (installed when missing and we are root; never a downloaded browser).
bash scripts/browser-up.sh

results=$(mktemp)
trap 'rm -f "$results"' EXIT
status=0
# In band: the suites share one engine on 2 cores, and timing-sensitive checks are kinder to each other in series.
npx jest --runInBand --json --outputFile="$results" "$@" || status=$?
node scripts/test-summary.js "$results" || true
exit $status
