#!/usr/bin/env bash
# Install (from Debian's archive) and start the real services the test suite talks to:
# PostgreSQL and Redis; and Chromium, the browser the web UI's tests drive (tests/e2e/).
# Idempotent; needs root. Prints the PostgreSQL admin DSN to use.
set -euo pipefail

need=()
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
command -v redis-server >/dev/null || need+=(redis-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]} from Debian's archive" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi

# PostgreSQL: the distribution's default cluster, reached over its unix socket.
cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2}')
if [ -z "$cluster" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n1)
    pg_createcluster "$version" main >&2
    cluster="$version main"
fi
# shellcheck disable=SC2086
pg_ctlcluster $cluster start 2>/dev/null || true
for _ in $(seq 50); do pg_isready -q && break; sleep 0.2; done
pg_isready >&2
# A superuser role for the current OS user (peer auth): tests create and drop databases.
me=$(id -un)
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = '$me'\"" | grep -q 1 ||
    su postgres -c "createuser --superuser '$me'" >&2

# Redis on loopback only, no persistence: a throwaway instance for tests.
if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
    redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes >&2
fi
redis-cli -p 6379 ping >&2
