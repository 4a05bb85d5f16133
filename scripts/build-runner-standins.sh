#!/usr/bin/env bash
# Builds the two runner stand-in images the end-to-end tests run, without a container registry: one Debian bookworm
# rootfs made with mmdebstrap (cached by its package list), customised twice, each time `tar | docker import`.
#
#   runnerhub-test/actions-runner:1   the contract of ghcr.io/actions/actions-runner (actions/runner images/Dockerfile):
#                                     USER runner (1001; groups docker 123 and sudo), passwordless sudo, WORKDIR
#                                     /home/runner, RUNNER_MANUALLY_TRAP_SIG=1, ACTIONS_RUNNER_PRINT_LOG_TO_STDOUT=1, no
#                                     ENTRYPOINT, CMD bash (inherited from ubuntu in the real image); plus the host's
#                                     docker CLI and /opt/standin/busybox.tar for jobs that talk to a per-job daemon.
#   runnerhub-test/myoung34-runner:1  the contract of myoung34/github-runner (myoung34/docker-github-actions-runner
#                                     Dockerfile, build/install_base.sh, build/config.json): root by default, runner
#                                     files in /actions-runner owned by 1001:121, ENTRYPOINT /entrypoint.sh under
#                                     dumb-init, CMD ./bin/Runner.Listener run --startuptype service, gosu.
# Both carry the runner stand-in from test/support/runner-standins/actions-runner (config.sh, run.sh, bin/Runner.Listener)
# as the real images both ship the actions/runner release. Rebuilds only when the recipe changed (label
# runnerhub.recipe). Needs root the first time on a fresh machine (apt-get install mmdebstrap; chown; useradd --root).
set -euo pipefail
cd "$(dirname "$0")/.."

ACTIONS_IMAGE="${TEST_ACTIONS_RUNNER_IMAGE:-runnerhub-test/actions-runner:1}"
MYOUNG34_IMAGE="${TEST_MYOUNG34_RUNNER_IMAGE:-runnerhub-test/myoung34-runner:1}"
STANDINS=test/support/runner-standins
SUITE=bookworm
# minbase already has util-linux (setpriv), passwd (useradd) and tar; gosu and dumb-init are what myoung34's image
# runs its CMD with (build/install_base.sh installs both from the distribution).
PACKAGES=bash,sudo,curl,jq,ca-certificates,procps,gosu,dumb-init
DOCKER_CLI="${DOCKER_CLI_BIN:-/usr/bin/docker}"
BUSYBOX="${BUSYBOX_BIN:-/bin/busybox}"
CACHE_DIR="${RUNNER_STANDIN_CACHE:-/var/cache/runnerhub-standins}"

recipe_hash=$( (
  cat "$0"
  echo "$SUITE $PACKAGES"
  find "$STANDINS" -type f | LC_ALL=C sort | while read -r file; do stat -c '%a %n' "$file"; cat "$file"; done
  sha256sum "$DOCKER_CLI" "$BUSYBOX"
) | sha256sum | cut -c1-12)

up_to_date=true
for image in "$ACTIONS_IMAGE" "$MYOUNG34_IMAGE"; do
  if [ "$(docker image inspect -f '{{index .Config.Labels "runnerhub.recipe"}}' "$image" 2>/dev/null || true)" != "$recipe_hash" ]; then
    up_to_date=false
  fi
done
if $up_to_date; then
  echo "[standins] runner stand-in images are up to date ($recipe_hash)"
  exit 0
fi
started=$(date +%s)

# The Debian mirror the machine's apt already uses (deb822 .sources first, then sources.list), else deb.debian.org.
mirror="${MMDEBSTRAP_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror=$(awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
fi
if [ -z "$mirror" ]; then
  mirror=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) { print $i; exit } }' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
fi
mirror="${mirror:-http://deb.debian.org/debian}"

if ! command -v mmdebstrap >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "[standins] mmdebstrap is missing; run this script as root once, or apt-get install mmdebstrap" >&2
    exit 1
  fi
  echo "[standins] installing mmdebstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends mmdebstrap >/dev/null ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends mmdebstrap >/dev/null; }
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One rootfs for both images, cached across builds: only the package list and the mirror invalidate it.
rootfs_key=$(echo "$SUITE $PACKAGES $mirror" | sha256sum | cut -c1-12)
if ! mkdir -p "$CACHE_DIR" 2>/dev/null || [ ! -w "$CACHE_DIR" ]; then CACHE_DIR="$work"; fi
rootfs_tar="$CACHE_DIR/rootfs-$SUITE-$rootfs_key.tar"
if [ ! -s "$rootfs_tar" ]; then
  echo "[standins] mmdebstrap $SUITE from $mirror ($PACKAGES)"
  mmdebstrap --variant=minbase --include="$PACKAGES" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    "$SUITE" "$rootfs_tar.partial.tar" "$mirror" </dev/null >"$work/mmdebstrap.log" 2>&1 ||
    { cat "$work/mmdebstrap.log" >&2; rm -rf "$rootfs_tar.partial.tar"; exit 1; }
  mv "$rootfs_tar.partial.tar" "$rootfs_tar"
fi

unpack() { # directory: a fresh copy of the rootfs (device nodes left out: the engine provides /dev)
  mkdir -p "$1"
  tar -C "$1" --exclude='./dev/*' -xf "$rootfs_tar"
}

# --- runnerhub-test/actions-runner:1 ----------------------------------------------------------------------------------
actions="$work/actions"
unpack "$actions"
# adduser --disabled-password --gecos "" --uid 1001 runner; groupadd docker --gid 123; usermod -aG sudo/docker runner
groupadd --root "$actions" --gid 123 docker
useradd --root "$actions" --create-home --uid 1001 --shell /bin/bash --user-group runner
usermod --root "$actions" -aG sudo,docker runner
# The official image REPLACES /etc/sudoers with these two lines (images/Dockerfile), and opens /home/runner to all.
printf '%s\n' '%sudo   ALL=(ALL:ALL) NOPASSWD:ALL' 'Defaults env_keep += "DEBIAN_FRONTEND"' >"$actions/etc/sudoers"
chmod 440 "$actions/etc/sudoers"
chmod 777 "$actions/home/runner"
# COPY --chown=runner:docker --from=build /actions-runner .
cp -R "$STANDINS/actions-runner/." "$actions/home/runner/"
(cd "$STANDINS/actions-runner" && find . -mindepth 1 -maxdepth 1) | while read -r entry; do
  chown -R 1001:123 "$actions/home/runner/$entry"
done
install -o root -g root -m 755 "$DOCKER_CLI" "$actions/usr/bin/docker"
# A tiny image for jobs to `docker import` into a per-job daemon: static busybox and its applet links.
busybox_root="$work/busybox"
mkdir -p "$busybox_root/bin" "$busybox_root/tmp" "$actions/opt/standin"
cp "$BUSYBOX" "$busybox_root/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$busybox_root/bin/$applet"
done
chmod 1777 "$busybox_root/tmp"
tar -C "$busybox_root" -cf "$actions/opt/standin/busybox.tar" .

tar -C "$actions" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV DEBIAN_FRONTEND=noninteractive' \
  --change 'ENV RUNNER_MANUALLY_TRAP_SIG=1' \
  --change 'ENV ACTIONS_RUNNER_PRINT_LOG_TO_STDOUT=1' \
  --change 'ENV ImageOS=ubuntu24' \
  --change 'WORKDIR /home/runner' \
  --change 'USER runner' \
  --change 'CMD ["/bin/bash"]' \
  --change "LABEL runnerhub.recipe=$recipe_hash runnerhub.test-image=true runnerhub.standin=actions-runner" \
  - "$ACTIONS_IMAGE" >/dev/null
echo "[standins] built $ACTIONS_IMAGE ($recipe_hash)"
rm -rf "$actions"

# --- runnerhub-test/myoung34-runner:1 ---------------------------------------------------------------------------------
myoung="$work/myoung34"
unpack "$myoung"
# build/install_base.sh with build/config.json: docker group 500, runner group 121, runner user 1001 (sudo, docker).
groupadd --root "$myoung" --gid 500 docker
groupadd --root "$myoung" --gid 121 runner
useradd --root "$myoung" --create-home --system --home-dir /home/runner --uid 1001 --gid 121 runner 2>/dev/null # (warns: uid > SYS_UID_MAX)
usermod --root "$myoung" -aG sudo,docker runner
# setup_sudoers: keep the proxy variables instead of env_reset, and passwordless sudo for the sudo group.
sed -e 's/Defaults.*env_reset/Defaults env_keep = "HTTP_PROXY HTTPS_PROXY NO_PROXY FTP_PROXY http_proxy https_proxy no_proxy ftp_proxy"/' \
  -i "$myoung/etc/sudoers"
echo '%sudo ALL=(ALL) NOPASSWD: ALL' >>"$myoung/etc/sudoers"
# Dockerfile: the runner in /actions-runner, chown -R runner /_work /actions-runner /opt/hostedtoolcache.
mkdir -p "$myoung/actions-runner" "$myoung/_work" "$myoung/opt/hostedtoolcache"
cp -R "$STANDINS/actions-runner/." "$myoung/actions-runner/"
chown -R 1001:121 "$myoung/actions-runner"
chown -R 1001 "$myoung/_work" "$myoung/opt/hostedtoolcache"
install -o root -g root -m 755 "$STANDINS/myoung34/entrypoint.sh" "$STANDINS/myoung34/token.sh" "$myoung/"

tar -C "$myoung" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV DEBIAN_FRONTEND=noninteractive' \
  --change 'ENV AGENT_TOOLSDIRECTORY=/opt/hostedtoolcache' \
  --change 'WORKDIR /actions-runner' \
  --change 'ENTRYPOINT ["/entrypoint.sh"]' \
  --change 'CMD ["./bin/Runner.Listener", "run", "--startuptype", "service"]' \
  --change "LABEL runnerhub.recipe=$recipe_hash runnerhub.test-image=true runnerhub.standin=myoung34-runner" \
  - "$MYOUNG34_IMAGE" >/dev/null
echo "[standins] built $MYOUNG34_IMAGE ($recipe_hash) in $(($(date +%s) - started)) s"
