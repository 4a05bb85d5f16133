#!/usr/bin/env bash
# Makes sure a Docker engine answers on DOCKER_HOST (default: the local socket), installing Debian's engine and the
# static busybox the test images are made from when they are missing. Safe to run again: it does nothing twice.
set -euo pipefail

log() { echo "[engine-up] $*"; }

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
[ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 && ldd /bin/busybox 2>&1 | grep -q 'not a dynamic' \
  || need_pkgs+=(busybox-static)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing ${need_pkgs[*]} and not root: install them with apt-get"; exit 1
  fi
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" iptables >/dev/null
fi

engine_answers() { timeout 5 docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1; }

if engine_answers; then
  log "engine already answers ($(docker version --format '{{.Server.Version}} API {{.Server.APIVersion}}'))"
  exit 0
fi

if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST}" != "unix:///var/run/docker.sock" ]; then
  log "DOCKER_HOST=${DOCKER_HOST} does not answer; start that engine yourself"; exit 1
fi

log "starting dockerd"
mkdir -p /var/log
# setsid: the engine must outlive the shell that started it (CI runs later steps in other shells).
setsid dockerd >/var/log/runnerhub-dockerd.log 2>&1 < /dev/null &
for _ in $(seq 1 60); do
  if engine_answers; then
    log "engine up ($(docker version --format '{{.Server.Version}} API {{.Server.APIVersion}}'))"
    exit 0
  fi
  sleep 0.5
done
log "dockerd did not answer within 30 s; its log:"
tail -n 40 /var/log/runnerhub-dockerd.log || true
exit 1
