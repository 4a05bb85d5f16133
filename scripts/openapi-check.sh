#!/usr/bin/env bash
# Fails when docs/openapi.json or the generated client types no longer match the code: regenerates both into a
# temporary directory and compares them with the committed files.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

npx nest build runnerhub >/dev/null
node dist/apps/runnerhub/apps/runnerhub/src/openapi/write-openapi.js "$tmp/openapi.json" >/dev/null
npx openapi-typescript "$tmp/openapi.json" -o "$tmp/runnerhub-api.d.ts" >/dev/null 2>&1

stale=0
diff -u docs/openapi.json "$tmp/openapi.json" || stale=1
diff -u test/client/runnerhub-api.d.ts "$tmp/runnerhub-api.d.ts" || stale=1
if [ "$stale" -ne 0 ]; then
  echo >&2
  echo "docs/openapi.json or test/client/runnerhub-api.d.ts is out of date with the code." >&2
  echo "Run \`npm run openapi:write && npm run client:generate\` and commit the result." >&2
  exit 1
fi
echo "docs/openapi.json and test/client/runnerhub-api.d.ts match the code."
