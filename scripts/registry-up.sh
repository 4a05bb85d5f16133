#!/usr/bin/env bash
# Makes sure the tools of the local-registry tests are installed: Debian's `docker-registry` (distribution 2.8) and
# `htpasswd` (apache2-utils, for the bcrypt password file). The tests start registries of their own, on free ports,
# with configs in temp dirs (test/support/local-registry.ts); the system registry the package brings is never used,
# and is stopped here if it runs, so nothing sits on port 5000. Safe to run again: quick when all is in place.
set -euo pipefail
log() { echo "[registry-up] $*"; }

need_pkgs=()
[ -x /usr/bin/docker-registry ] || need_pkgs+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || need_pkgs+=(apache2-utils)

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing ${need_pkgs[*]} and not root: install them with apt-get"; exit 1
  fi
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d answering 101 keeps the package's init script from starting the system registry (sysvinit and
  # invoke-rc.d honour it). Keep an existing policy-rc.d untouched: it is not ours.
  policy=/usr/sbin/policy-rc.d
  own_policy=false
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && own_policy=true
  fi
  trap '$own_policy && rm -f "$policy"' EXIT
  install() { apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null; }
  if ! install; then
    log "install failed; refreshing the package lists once"
    apt-get update -qq
    install
  fi
fi

# The package's own service (an init script, or a systemd unit where systemd runs) would listen on :5000 with the
# config in /etc/docker/registry: stop it and keep it from coming back at boot. The tests never need it.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  if systemctl is-active --quiet docker-registry 2>/dev/null || systemctl is-enabled --quiet docker-registry 2>/dev/null; then
    log "stopping and disabling the system docker-registry service"
    systemctl disable --now docker-registry >/dev/null 2>&1 || true
  fi
elif [ -x /etc/init.d/docker-registry ] && /etc/init.d/docker-registry status >/dev/null 2>&1; then
  log "stopping the system docker-registry service"
  /etc/init.d/docker-registry stop >/dev/null 2>&1 || true
fi
# Whatever started it: a registry serving the system config (not one of the tests', which each have a config of
# their own in a temp dir) is the package's, and goes.
for pid in $(pgrep -x docker-registry 2>/dev/null || true); do
  if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q '/etc/docker/registry/'; then
    log "stopping the system registry (pid $pid)"
    kill "$pid" 2>/dev/null || true
  fi
done

log "docker-registry $(/usr/bin/docker-registry --version 2>/dev/null | awk '{print $NF}') and htpasswd are ready"
