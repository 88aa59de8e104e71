#!/usr/bin/env bash
# The lab: lampadas.local as a local Debian 12 systemd container, deployed by site.yml.
#
#   scripts/lab.sh            build the base image if needed, (re)use the container, run site.yml
#   scripts/lab.sh destroy    remove the container (the generated secrets stay in inventory/lab/credentials)
#   scripts/lab.sh -e @bench/rate-limits-off.yml   the same with the rate limits off, for
#                             bench/http.py --url (docs/performance.md); arguments go to ansible-playbook
#
# Needs the Docker engine (installed and started by scripts/test-hosts.sh when run as root on
# Debian) and the project venv with the `deploy` extra (make venv). Re-running converges again.
set -euo pipefail
cd "$(dirname "$0")/.."

name=${HOMERACK_LAB_CONTAINER:-homerack-lab}
image=homerack-test/debian:bookworm
http_port=${HOMERACK_LAB_HTTP_PORT:-8088}   # host port for the container's port 80
alt_port=${HOMERACK_LAB_ALT_PORT:-8080}     # host port for the container's port 8080
venv=${VENV:-.venv}

if [ "${1:-}" = destroy ]; then
    docker rm -f "$name" >/dev/null 2>&1 && echo "removed $name" || echo "$name does not exist"
    exit 0
fi

bash scripts/test-hosts.sh bookworm

if ! docker container inspect "$name" >/dev/null 2>&1; then
    echo "starting $name from $image" >&2
    # The recipe of docs/test-hosts.md: systemd as PID 1 without --privileged, minus
    # SYS_TIME: setting a time zone in the container would shift this machine's clock.
    docker run -d --name "$name" --hostname lampadas \
        --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
        --tmpfs /run --tmpfs /run/lock \
        --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
        --cap-add AUDIT_CONTROL --cap-add AUDIT_READ --cap-add BLOCK_SUSPEND \
        --cap-add DAC_READ_SEARCH --cap-add IPC_LOCK --cap-add IPC_OWNER \
        --cap-add LEASE --cap-add LINUX_IMMUTABLE --cap-add MAC_ADMIN \
        --cap-add MAC_OVERRIDE --cap-add NET_ADMIN --cap-add NET_BROADCAST \
        --cap-add SYS_ADMIN --cap-add SYS_BOOT --cap-add SYS_MODULE \
        --cap-add SYS_NICE --cap-add SYS_PACCT --cap-add SYS_PTRACE \
        --cap-add SYS_RAWIO --cap-add SYS_TTY_CONFIG \
        --cap-add SYSLOG --cap-add WAKE_ALARM \
        -p "127.0.0.1:$http_port:80" -p "127.0.0.1:$alt_port:8080" \
        "$image" /lib/systemd/systemd >/dev/null
elif [ "$(docker container inspect -f '{{.State.Running}}' "$name")" != true ]; then
    echo "starting the existing $name" >&2
    docker start "$name" >/dev/null
else
    echo "reusing the running $name" >&2
fi

# Let systemd finish booting (a container has no failed units once test-hosts.sh masked
# systemd-modules-load; "degraded" is reported, not fatal).
state=$(docker exec "$name" systemctl is-system-running --wait 2>/dev/null || true)
[ "$state" = running ] || echo "warning: systemd in $name is '$state'" >&2

start=$(cut -d" " -f1 /proc/uptime | cut -d. -f1)   # monotonic
"$venv/bin/ansible-playbook" -i inventory/lab site.yml "${@}"
echo "site.yml took $(( $(cut -d" " -f1 /proc/uptime | cut -d. -f1) - start )) s" >&2

cat <<MSG

HomeRack lab is running in the container $name (lampadas.local):
  http://127.0.0.1:$http_port/      (nginx port 80)
  http://127.0.0.1:$alt_port/      (nginx port 8080)
  API docs: http://127.0.0.1:$http_port/api/openapi.json
Log in as 'admin'; the password is in $(pwd)/inventory/credentials/lab/admin-password
Shell: docker exec -it $name bash     Logs: docker exec $name journalctl -u homerack
Remove: make lab-destroy
MSG
