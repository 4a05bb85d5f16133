#!/usr/bin/env bash
# Builds the small images the tests and benchmarks run, from the static busybox binary, with `docker import`:
# no registry is reachable here and none may be assumed in CI. Rebuilds only when the recipe changed.
set -euo pipefail

IMAGE="${TEST_IMAGE:-runnerhub-test/busybox:1}"
BUSYBOX="${BUSYBOX_BIN:-/bin/busybox}"
here=$(cd "$(dirname "$0")" && pwd)
recipe_hash=$( (cat "$0"; sha256sum "$BUSYBOX") | sha256sum | cut -c1-12)

if [ "$(docker image inspect -f '{{index .Config.Labels "runnerhub.recipe"}}' "$IMAGE" 2>/dev/null || true)" = "$recipe_hash" ]; then
  echo "[images] $IMAGE is up to date ($recipe_hash)"; exit 0
fi

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,etc,tmp,home/runner,work,proc,sys,dev}
chmod 1777 "$rootfs/tmp"
cp "$BUSYBOX" "$rootfs/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
done
cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
runner:x:1000:1000:runner:/home/runner:/bin/sh
nobody:x:65534:65534:nobody:/:/bin/false
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
runner:x:1000:
nogroup:x:65534:
GROUP
chown -R 1000:1000 "$rootfs/home/runner" "$rootfs/work"

tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/bin' \
  --change 'WORKDIR /' \
  --change 'CMD ["/bin/sh"]' \
  --change "LABEL runnerhub.recipe=$recipe_hash runnerhub.test-image=true" \
  - "$IMAGE" >/dev/null
echo "[images] built $IMAGE ($recipe_hash)"
