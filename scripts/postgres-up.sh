#!/usr/bin/env bash
# Makes sure PostgreSQL answers on 127.0.0.1:5432 for the test suites: starts the local cluster when it is down,
# installs Debian's server when there is none. Trust auth on loopback is what these machines use.
set -euo pipefail
log() { echo "[postgres-up] $*"; }
answers() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if command -v pg_isready >/dev/null 2>&1 && answers; then log "PostgreSQL answers"; exit 0; fi

if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  log "installing PostgreSQL"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  version=$(ls /etc/postgresql | sort -V | tail -1)
  conf=/etc/postgresql/$version/main
  sed -i "s/^#\?listen_addresses.*/listen_addresses = '127.0.0.1'/" "$conf/postgresql.conf"
  # Loopback only, trust: the test databases hold nothing but what the tests write.
  printf 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' > "$conf/pg_hba.conf"
fi

version=$(ls /etc/postgresql | sort -V | tail -1)
log "starting cluster $version/main"
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 60); do
  if answers; then log "PostgreSQL answers"; exit 0; fi
  sleep 0.5
done
log "PostgreSQL did not answer on 127.0.0.1:5432"; exit 1
