#!/usr/bin/dumb-init /bin/bash
# shellcheck shell=bash
# Stand-in for myoung34/github-runner's /entrypoint.sh (github.com/myoung34/docker-github-actions-runner, entrypoint.sh
# at ca51ff2), written anew for RunnerHub's tests with the same behaviour, quirks included:
# - runs under dumb-init; exports RUNNER_ALLOW_RUNASROOT=1 so config.sh accepts root; un-exports the secrets;
# - the runner name is RUNNER_NAME, else <RUNNER_NAME_PREFIX or github-runner>-<13 random characters> (or the hostname
#   with RANDOM_RUNNER_SUFFIX other than "true"); the work folder RUNNER_WORKDIR, else /_work/<name>;
# - RUNNER_SCOPE repo (REPO_URL as given), org (https://<GITHUB_HOST>/<ORG_NAME>), ent
#   (https://<GITHUB_HOST>/enterprises/<ENTERPRISE_NAME>); a missing REPO_URL/ORG_NAME is reported but does NOT stop
#   the script (the original's `exit 1` runs in a subshell);
# - configure: ./config.sh --url --token "$RUNNER_TOKEN" --name --work --labels (RUNNER_LABELS, LABELS, "default")
#   --runnergroup (RUNNER_GROUP, "Default") --unattended --replace [--ephemeral if EPHEMERAL is non-empty]
#   [--disableupdate if DISABLE_AUTO_UPDATE is non-empty] [--no-default-labels]; no `set -e`: a failed configuration
#   goes on to the CMD; there is no JIT support at all;
# - then the CMD: as root when RUN_AS_ROOT is "true" (the default; an overridden non-root user is refused), otherwise
#   as root it chowns its files to `runner` and execs nothing but `gosu runner CMD`, and as non-root it runs the CMD;
# - on exit (unless DISABLE_AUTOMATIC_DEREGISTRATION=true) `./config.sh remove --token "$RUNNER_TOKEN"`, keeping the
#   CMD's exit code (a signal exits 1).
# Not reproduced: APP_ID/APP_PRIVATE_KEY (GitHub App tokens need openssl, which the stand-in lacks).

export RUNNER_ALLOW_RUNASROOT=1
export PATH="$PATH:/actions-runner"

# Secrets stay in this shell but are not inherited by the processes it starts.
export -n ACCESS_TOKEN RUNNER_TOKEN APP_ID APP_PRIVATE_KEY

deregistered=false
deregister() { # reason
  local reason="${1:-EXIT}"
  echo "Caught $reason - Deregistering runner"
  [ "$deregistered" = true ] && return
  deregistered=true
  if [ -n "$ACCESS_TOKEN" ]; then
    RUNNER_TOKEN="$(ACCESS_TOKEN="$ACCESS_TOKEN" bash /token.sh | jq -r .token)"
  fi
  ./config.sh remove --token "$RUNNER_TOKEN"
  [ -f /actions-runner/.runner ] && rm -f /actions-runner/.runner
  if [ "$reason" = EXIT ]; then exit "${LAST_EXIT_CODE:-0}"; fi
  exit 1
}
on_signals() { # handler signal...
  local handler="$1" signal
  shift
  for signal in "$@"; do
    # shellcheck disable=SC2064
    trap "$handler $signal" "$signal"
  done
}

debug_only="${DEBUG_ONLY:-false}"
debug_output="${DEBUG_OUTPUT:-false}"
keep_registration="${DISABLE_AUTOMATIC_DEREGISTRATION:-false}"
: "${RANDOM_RUNNER_SUFFIX:=true}"
runner_name="${RUNNER_NAME:-${RUNNER_NAME_PREFIX:-github-runner}-$(head /dev/urandom | tr -dc A-Za-z0-9 | head -c 13)}"
if [ "$RANDOM_RUNNER_SUFFIX" != true ]; then
  if [ -f /etc/hostname ] && [ "$(stat --printf=%s /etc/hostname)" -ne 0 ]; then
    prefix="${RUNNER_NAME_PREFIX-github-runner}"
    runner_name="${RUNNER_NAME:-${prefix:+$prefix-}$(cat /etc/hostname)}"
    echo "RANDOM_RUNNER_SUFFIX is $RANDOM_RUNNER_SUFFIX. /etc/hostname exists and has content. Setting runner name to $runner_name"
  else
    echo "RANDOM_RUNNER_SUFFIX is $RANDOM_RUNNER_SUFFIX but /etc/hostname is missing or empty. Not using /etc/hostname."
  fi
fi
workdir_root="${RUNNER_WORKDIR_ROOT:-/_work}"
workdir="${RUNNER_WORKDIR:-$workdir_root/$runner_name}"
labels="${RUNNER_LABELS:-${LABELS:-default}}"
group="${RUNNER_GROUP:-Default}"
: "${GITHUB_HOST:=github.com}"
github_host="${GITHUB_HOST#http://}"
github_host="${github_host#https://}"
github_host="${github_host%%/}"
run_as_root="${RUN_AS_ROOT:=true}"
start_docker="${START_DOCKER_SERVICE:=false}"
unset_config_vars="${UNSET_CONFIG_VARS:=false}"
saved_files_dir="${CONFIGURED_ACTIONS_RUNNER_FILES_DIR:-}"

if [ -z "$RUNNER_SCOPE" ]; then
  if [ "$ORG_RUNNER" = true ]; then
    echo 'ORG_RUNNER is now deprecated. Please use RUNNER_SCOPE="org" instead.'
    export RUNNER_SCOPE=org
  else
    export RUNNER_SCOPE=repo
  fi
fi
RUNNER_SCOPE="${RUNNER_SCOPE,,}"
case "$RUNNER_SCOPE" in
  org*)
    [ -z "$ORG_NAME" ] && echo "ORG_NAME required for org runners" # reported, not fatal (see above)
    runner_url="https://$github_host/$ORG_NAME"
    RUNNER_SCOPE=org
    ;;
  ent*)
    [ -z "$ENTERPRISE_NAME" ] && echo "ENTERPRISE_NAME required for enterprise runners"
    runner_url="https://$github_host/enterprises/$ENTERPRISE_NAME"
    RUNNER_SCOPE=enterprise
    ;;
  *)
    [ -z "$REPO_URL" ] && echo "REPO_URL required for repo runners"
    runner_url="$REPO_URL"
    RUNNER_SCOPE=repo
    ;;
esac

configure() {
  local extra=()
  if [ -n "$APP_ID" ] || [ -n "$APP_PRIVATE_KEY" ] || [ -n "$APP_LOGIN" ]; then
    echo "ERROR: the stand-in does not reproduce GitHub App authentication (APP_ID, APP_PRIVATE_KEY, APP_LOGIN)." >&2
    exit 1
  fi
  if [ -n "$ACCESS_TOKEN" ]; then
    echo "Obtaining the token of the runner"
    RUNNER_TOKEN="$(ACCESS_TOKEN="$ACCESS_TOKEN" bash /token.sh | jq -r .token)"
  fi
  if [ -n "$EPHEMERAL" ]; then
    echo "Ephemeral option is enabled"
    extra+=(--ephemeral)
  fi
  if [ -n "$DISABLE_AUTO_UPDATE" ]; then
    echo "Disable auto update option is enabled"
    extra+=(--disableupdate)
  fi
  if [ -n "$NO_DEFAULT_LABELS" ]; then
    echo "Disable adding the default self-hosted, platform, and architecture labels"
    extra+=(--no-default-labels)
  fi
  echo "Configuring"
  ./config.sh --url "$runner_url" --token "$RUNNER_TOKEN" --name "$runner_name" --work "$workdir" \
    --labels "$labels" --runnergroup "$group" --unattended --replace "${extra[@]}"
  [ -d "$workdir" ] || mkdir -p "$workdir"
}

if [ -n "$saved_files_dir" ]; then
  echo "Runner reusage is enabled"
  if [ -d "$saved_files_dir" ]; then
    echo "Copying previous data"
    cp -p -r "$saved_files_dir/." /actions-runner
  fi
  if [ -f /actions-runner/.runner ]; then
    echo "The runner has already been configured"
  elif [ "$debug_only" = false ]; then
    configure
  fi
else
  echo "Runner reusage is disabled"
  if [ "$debug_only" = false ]; then
    [ -f /actions-runner/.runner ] && rm -f /actions-runner/.runner
    configure
  fi
fi

if [ -n "$saved_files_dir" ]; then
  echo "Reusage is enabled. Storing data to $saved_files_dir"
  if [ "$keep_registration" = false ]; then
    echo "DISABLE_AUTOMATIC_DEREGISTRATION should be set to true to avoid issues with re-using a deregistered runner."
    exit 1
  fi
  cp -p -r /actions-runner/_diag /actions-runner/svc.sh /actions-runner/.[^.]* "$saved_files_dir"
fi

if [ "$keep_registration" = false ] && [ "$debug_only" = false ]; then
  trap 'LAST_EXIT_CODE=$?; deregister EXIT' EXIT
  on_signals deregister SIGINT SIGQUIT SIGTERM INT TERM QUIT
fi

if [ "$start_docker" = true ]; then
  echo "Starting docker service"
  sudo_prefix=""
  [ "$run_as_root" != true ] && sudo_prefix=sudo
  if [ "$debug_only" = true ]; then echo $sudo_prefix service docker start; else $sudo_prefix service docker start; fi
fi

if [ "$unset_config_vars" = true ]; then
  echo "Unsetting configuration environment variables"
  unset RUN_AS_ROOT RUNNER_NAME RUNNER_NAME_PREFIX RANDOM_RUNNER_SUFFIX ACCESS_TOKEN APP_ID APP_PRIVATE_KEY APP_LOGIN \
    RUNNER_SCOPE ORG_NAME ENTERPRISE_NAME LABELS REPO_URL RUNNER_TOKEN RUNNER_WORKDIR RUNNER_GROUP GITHUB_HOST \
    GITHUB_API_HOST GITHUB_API_PATH DISABLE_AUTOMATIC_DEREGISTRATION CONFIGURED_ACTIONS_RUNNER_FILES_DIR EPHEMERAL \
    DISABLE_AUTO_UPDATE START_DOCKER_SERVICE NO_DEFAULT_LABELS UNSET_CONFIG_VARS
fi

if [ "$debug_only" = true ] || [ "$debug_output" = true ]; then
  echo ""
  echo "Disable automatic registration: $keep_registration"
  echo "Random runner suffix: $RANDOM_RUNNER_SUFFIX"
  echo "Runner name: $runner_name"
  echo "Runner workdir: $workdir"
  echo "Runner workdir root: $workdir_root"
  echo "Labels: $labels"
  echo "Runner Group: $group"
  echo "Github Host: $github_host"
  echo "Run as root:$run_as_root"
  echo "Start docker: $start_docker"
fi

# The container's CMD ("$@"), by default ./bin/Runner.Listener run --startuptype service: the listener itself, not
# run.sh, so its exit codes reach the container unmapped (1 = "not configured" and other terminal errors).
show() { if [ "$debug_only" = true ] || [ "$debug_output" = true ]; then echo "Running $*"; fi; }
if [ "$run_as_root" = true ]; then
  if [ "$(id -u)" -eq 0 ]; then
    show "$@"
    if [ "$debug_only" = false ]; then "$@"; fi
  else
    echo "ERROR: RUN_AS_ROOT env var is set to true but the user has been overridden and is not running as root, but UID '$(id -u)'"
    exit 1
  fi
else
  # A mounted docker socket with another group: the docker group takes the socket's gid.
  if [ -e /var/run/docker.sock ]; then
    socket_gid="$(stat -c %g /var/run/docker.sock)"
    docker_gid="$(getent group docker | cut -d: -f3 2>/dev/null || echo "")"
    if [ -n "$socket_gid" ] && [ "$socket_gid" != "$docker_gid" ]; then
      echo "Adjusting docker group GID to match socket ($socket_gid)"
      groupmod -g "$socket_gid" docker 2>/dev/null || true
    fi
  fi
  if [ "$(id -u)" -eq 0 ]; then
    [ -n "$saved_files_dir" ] && chown -R runner "$saved_files_dir"
    # Only the top level and what config.sh (run as root) wrote; bin/ and externals/ ship runner-owned.
    chown runner /actions-runner "$workdir"
    find /actions-runner -mindepth 1 -maxdepth 1 ! -name bin ! -name externals -exec chown -R runner {} + 2>/dev/null || true
    chown runner /opt/hostedtoolcache/
    show /usr/sbin/gosu runner "$@"
    if [ "$debug_only" = false ]; then /usr/sbin/gosu runner "$@"; fi
  else
    show "$@"
    if [ "$debug_only" = false ]; then "$@"; fi
  fi
fi
