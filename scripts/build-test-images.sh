#!/usr/bin/env bash
# Builds the small images the tests and benchmarks run, from the static busybox binary, with `docker import`:
# no registry is reachable here and none may be assumed in CI. Rebuilds only when the recipe changed.
set -euo pipefail

# The plain busybox image, and a stand-in for a GitHub Actions runner image in three behaviours: it checks that it
# was given what a real runner needs (a name and a JIT config, or a token and a URL), "runs one job" for a few seconds
# and exits like an ephemeral runner does: 0, a failure, or by exhausting its memory (for the OOM drill).
IMAGE="${TEST_IMAGE:-runnerhub-test/busybox:1}"
RUNNER_IMAGE="${TEST_RUNNER_IMAGE:-runnerhub-test/runner:1}"
RUNNER_FAILING_IMAGE="${TEST_RUNNER_FAILING_IMAGE:-runnerhub-test/runner-failing:1}"
RUNNER_OOM_IMAGE="${TEST_RUNNER_OOM_IMAGE:-runnerhub-test/runner-oom:1}"
BUSYBOX="${BUSYBOX_BIN:-/bin/busybox}"
recipe_hash=$( (cat "$0"; sha256sum "$BUSYBOX") | sha256sum | cut -c1-12)

up_to_date=true
for image in "$IMAGE" "$RUNNER_IMAGE" "$RUNNER_FAILING_IMAGE" "$RUNNER_OOM_IMAGE"; do
  if [ "$(docker image inspect -f '{{index .Config.Labels "runnerhub.recipe"}}' "$image" 2>/dev/null || true)" != "$recipe_hash" ]; then
    up_to_date=false
  fi
done
if $up_to_date; then
  echo "[images] test images are up to date ($recipe_hash)"; exit 0
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
mkdir -p "$rootfs/usr/local/bin"
cat > "$rootfs/usr/local/bin/runner-standin" <<'STANDIN'
#!/bin/sh
# Stands in for an ephemeral GitHub Actions runner: refuses to start without credentials, takes "one job", exits.
if [ -z "$RUNNER_NAME" ]; then echo "runner-standin: RUNNER_NAME is missing" >&2; exit 64; fi
if [ -n "$RUNNER_JITCONFIG" ]; then
  echo "runner-standin: $RUNNER_NAME configured just in time"
elif [ -n "$RUNNER_TOKEN" ] && [ -n "$REPO_URL" ]; then
  echo "runner-standin: $RUNNER_NAME registered at $REPO_URL with labels $LABELS"
else
  echo "runner-standin: neither RUNNER_JITCONFIG nor RUNNER_TOKEN with REPO_URL was given" >&2; exit 65
fi
trap 'echo "runner-standin: stopped"; exit 143' TERM
echo "runner-standin: running one job for ${STANDIN_JOB_SECONDS}s"
case "$STANDIN_BEHAVIOUR" in
  oom) echo "runner-standin: allocating until killed"; x=x; while :; do x="$x$x"; done ;;
esac
sleep "$STANDIN_JOB_SECONDS" & wait $!
echo "runner-standin: job done, exiting with $STANDIN_EXIT_CODE"
exit "$STANDIN_EXIT_CODE"
STANDIN
chmod 755 "$rootfs/usr/local/bin/runner-standin"
chown -R 1000:1000 "$rootfs/home/runner" "$rootfs/work"

tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/bin' \
  --change 'WORKDIR /' \
  --change 'CMD ["/bin/sh"]' \
  --change "LABEL runnerhub.recipe=$recipe_hash runnerhub.test-image=true" \
  - "$IMAGE" >/dev/null
echo "[images] built $IMAGE ($recipe_hash)"

runner_image() { # name, exit code, behaviour
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/bin' \
    --change 'ENV STANDIN_JOB_SECONDS=3' \
    --change "ENV STANDIN_EXIT_CODE=$2" \
    --change "ENV STANDIN_BEHAVIOUR=$3" \
    --change 'USER runner' \
    --change 'WORKDIR /home/runner' \
    --change 'CMD ["/usr/local/bin/runner-standin"]' \
    --change "LABEL runnerhub.recipe=$recipe_hash runnerhub.test-image=true" \
    - "$1" >/dev/null
  echo "[images] built $1"
}
runner_image "$RUNNER_IMAGE" 0 job
runner_image "$RUNNER_FAILING_IMAGE" 1 job
runner_image "$RUNNER_OOM_IMAGE" 0 oom
