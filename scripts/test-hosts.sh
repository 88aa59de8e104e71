#!/usr/bin/env bash
# Prepare real systemd test hosts for Molecule and the lab (see docs/test-hosts.md):
# install and start Debian's Docker engine if none is running, then build the base images
# from Debian's archive with debootstrap (no registry is needed). Images are cached: a
# rebuild happens only when one is missing. Idempotent; needs root.
#
#   scripts/test-hosts.sh [bookworm|trixie ...]     default: bookworm trixie
set -euo pipefail

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(bookworm trixie)

if ! docker info >/dev/null 2>&1; then
    need=()
    command -v dockerd >/dev/null || need+=(docker.io)
    command -v debootstrap >/dev/null || need+=(debootstrap)
    if [ ${#need[@]} -gt 0 ]; then
        echo "installing ${need[*]} from Debian's archive" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
    fi
    if ! pgrep -x dockerd >/dev/null; then
        echo "starting dockerd" >&2
        # A session of its own (setsid): dockerd outlives the job that started it, which may
        # end by its process group being killed (a CI step, a terminal closed, a timeout),
        # and with it every test host.
        setsid nohup dockerd >/var/log/dockerd.log 2>&1 </dev/null &
    fi
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null
fi
command -v debootstrap >/dev/null || {
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
}

# The mirror this machine's own APT sources use (the test hosts reach it over plain HTTP).
mirror=$(grep -hoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
    awk '{print $2}' | grep -v -- '-security' | head -n1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

for suite in "${suites[@]}"; do
    image="homerack-test/debian:$suite"
    if docker image inspect "$image" >/dev/null 2>&1; then
        echo "$image: cached" >&2
        continue
    fi
    echo "$image: debootstrap $suite from $mirror" >&2
    rootfs=$(mktemp -d /tmp/homerack-rootfs.XXXXXX)
    debootstrap --variant=minbase \
        --include=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,ca-certificates,iproute2,procps \
        "$suite" "$rootfs" "$mirror" >&2
    # A container has no kernel modules to load; without the mask systemd reports "degraded".
    ln -sf /dev/null "$rootfs/etc/systemd/system/systemd-modules-load.service"
    # No gettys on a headless test host.
    rm -f "$rootfs"/etc/systemd/system/getty.target.wants/*
    tar -C "$rootfs" -c . | docker import -c 'CMD ["/lib/systemd/systemd"]' - "$image" >/dev/null
    rm -rf "$rootfs"
    echo "$image: built" >&2
done
