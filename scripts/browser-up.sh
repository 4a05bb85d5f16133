#!/usr/bin/env bash
# Makes sure Debian's Chromium is there for the Swagger UI browser test (playwright-core drives it; no browser is
# ever downloaded). Installs it with apt when missing and we are root; otherwise says how, and leaves it to the test
# to skip (or, with REQUIRE_BROWSER=true as in CI, to fail).
set -euo pipefail
log() { echo "[browser-up] $*"; }
if [ -x /usr/bin/chromium ]; then log "chromium present ($(/usr/bin/chromium --version 2>/dev/null | head -1))"; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  log "chromium is missing; install Debian's package (apt-get install chromium) to run the browser test"; exit 0
fi
log "installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
log "chromium installed ($(/usr/bin/chromium --version 2>/dev/null | head -1))"
