#!/usr/bin/env bash
# Builds runnerhub-test/dind:1, the per-job Docker daemon the `docker` runner profile's tests run, with `docker import`
# from this machine's own engine binaries: no registry is reachable here and none may be assumed in CI. Production
# runs the official docker:dind image (DIND_IMAGE); this one is run exactly the same way, so the sidecar code under
# test is the code production runs:
#   - ENTRYPOINT dockerd-entrypoint.sh, CMD empty. Arguments `dockerd --flag...` run dockerd with exactly those flags;
#     arguments that start with `-` are flags for dockerd on the default socket; any other command is run as given.
#   - VOLUME /var/lib/docker, like the official image (RunnerHub mounts a named volume there).
#   - the docker CLI is in the image (RunnerHub's readiness probe execs `docker version` inside the sidecar).
# Rebuilds only when the recipe (this script, busybox, the binaries or their libraries) changed.
set -euo pipefail

IMAGE="${TEST_DIND_IMAGE:-runnerhub-test/dind:1}"
BUSYBOX="${BUSYBOX_BIN:-/bin/busybox}"
# dockerd and what it starts: containerd, its runc shim, runc, the init it puts in containers that ask for one, the
# userland proxy for published ports; the docker CLI for the readiness probe and for the runner stand-in.
BINARIES=(dockerd containerd containerd-shim-runc-v2 runc docker-init docker-proxy docker)
# iptables (Debian's nf_tables variant) for `--iptables=true`: NAT for nested containers, and the rules that send a
# user network's DNS (127.0.0.11) to dockerd's embedded resolver, which `services:` jobs reach by name.
IPTABLES_BINARY=xtables-nft-multi
IPTABLES_NAMES=(iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore)

paths=()
for binary in "${BINARIES[@]}" "$IPTABLES_BINARY"; do
  path=$(PATH="$PATH:/usr/sbin:/sbin" command -v "$binary" || true)
  if [ -z "$path" ]; then
    echo "[images] $binary is not installed: the dind test image is built from the host's engine (apt-get install docker.io)" >&2
    exit 1
  fi
  paths+=("$path")
done
# Every shared library the binaries load, as ldd resolves it here (plus the dynamic loader itself).
libraries=$(for path in "${paths[@]}"; do ldd "$path" 2>/dev/null || true; done |
  awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)

# The iptables extensions (libxt_*.so) are loaded by name at run time, so ldd does not list them.
XTABLES_DIR=$(dirname "$(readlink -f "$(ldd "$(PATH="$PATH:/usr/sbin:/sbin" command -v "$IPTABLES_BINARY")" | awk '/libxtables/ { print $3 }')")")/xtables
recipe_hash=$( (cat "$0"; sha256sum "$BUSYBOX" "${paths[@]}"; for lib in $libraries; do sha256sum "$(readlink -f "$lib")"; done
  ls -l "$XTABLES_DIR") |
  sha256sum | cut -c1-12)
if [ "$(docker image inspect -f '{{index .Config.Labels "runnerhub.recipe"}}' "$IMAGE" 2>/dev/null || true)" = "$recipe_hash" ]; then
  echo "[images] $IMAGE is up to date ($recipe_hash)"; exit 0
fi

started=$(date +%s)
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,etc,tmp,root,proc,sys,dev,run,var/lib/docker,etc/docker,usr/local/bin}
ln -s ../run "$rootfs/var/run"
chmod 1777 "$rootfs/tmp"
cp "$BUSYBOX" "$rootfs/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
done
for path in "${paths[@]}"; do
  # -L: docker-init is a symlink to tini-static on Debian; the image needs the file under the name dockerd looks for.
  cp -L "$path" "$rootfs/usr/local/bin/$(basename "$path")"
done
for lib in $libraries; do
  # Under the name the binaries ask for (the soname link), with the content of the file it points to.
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
for name in "${IPTABLES_NAMES[@]}"; do ln -s "$IPTABLES_BINARY" "$rootfs/usr/local/bin/$name"; done
mkdir -p "$rootfs$XTABLES_DIR"
cp -L "$XTABLES_DIR"/*.so "$rootfs$XTABLES_DIR/"

# dockerd resolves its socket group (--group, default "docker") and user names through libc: it needs these files.
cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/:/bin/false
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
docker:x:123:
nogroup:x:65534:
GROUP

# dockerd reports the OS it runs on (docker info) and warns without this file.
mkdir -p "$rootfs/usr/lib"
printf 'NAME="RunnerHub test dind"\nID=runnerhub-dind\nVERSION_ID=1\nPRETTY_NAME="RunnerHub test dind (busybox)"\n' \
  > "$rootfs/usr/lib/os-release"
ln -s ../usr/lib/os-release "$rootfs/etc/os-release"

# The official image's entrypoint, reduced to what RunnerHub relies on (see the header).
cat > "$rootfs/usr/local/bin/dockerd-entrypoint.sh" <<'ENTRYPOINT'
#!/bin/sh
set -eu
# No arguments, or flags only: dockerd on the default socket with those flags (the official image adds TLS and a TCP
# listener here too; RunnerHub never uses that form, it always passes `dockerd ...` explicitly).
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- dockerd --host="${DOCKER_HOST:-unix:///var/run/docker.sock}" "$@"
fi
if [ "$1" = dockerd ]; then
  # A pid file left by an unclean stop would keep dockerd from starting.
  find /run /var/run -maxdepth 2 -iname 'docker*.pid' -delete 2>/dev/null || :
  # As the official image's `dind` helper does: a private /tmp for containerd and dockerd.
  grep -q ' /tmp ' /proc/mounts || mount -t tmpfs -o mode=1777 none /tmp 2>/dev/null || :
fi
exec "$@"
ENTRYPOINT
chmod 755 "$rootfs/usr/local/bin/dockerd-entrypoint.sh"

tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/bin' \
  --change 'ENV DOCKER_TLS_CERTDIR=' \
  --change 'WORKDIR /' \
  --change 'VOLUME /var/lib/docker' \
  --change 'ENTRYPOINT ["dockerd-entrypoint.sh"]' \
  --change 'CMD []' \
  --change "LABEL runnerhub.recipe=$recipe_hash runnerhub.test-image=true" \
  - "$IMAGE" >/dev/null
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
echo "[images] built $IMAGE ($recipe_hash, $((size / 1024 / 1024)) MiB, $(($(date +%s) - started)) s)"
