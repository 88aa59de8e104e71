#!/usr/bin/env bash
# Run promtool on the controller without installing Prometheus as a service: the promtool
# on PATH if there is one, else the one from Debian's `prometheus` package, downloaded with
# `apt-get download` and unpacked with `dpkg-deb -x` into a cache directory (no root needed,
# except for the one `apt-get update` done when the download fails on stale package lists).
# Idempotent; silent apart from promtool's own output. Delete the cache directory to get a
# newer promtool after a Debian update.
#
#   scripts/promtool.sh check rules roles/prometheus/files/homerack-alerts.yml
#   scripts/promtool.sh test rules tests/prometheus/homerack-alerts.test.yml
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
    exec promtool "$@"
fi

cache=${XDG_CACHE_HOME:-$HOME/.cache}/homerack/promtool
bin=$cache/usr/bin/promtool

if [ ! -x "$bin" ]; then
    for tool in apt-get dpkg-deb; do
        command -v "$tool" >/dev/null 2>&1 || {
            echo "promtool.sh: no promtool on PATH and no $tool to fetch Debian's; install promtool (package prometheus)" >&2
            exit 1
        }
    done
    mkdir -p "$cache"
    work=$(mktemp -d "$cache/.fetch.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    # apt-get download writes into the current directory; its chatter goes to a log that is
    # shown only if the download fails.
    fetch() { (cd "$work" && apt-get download prometheus) >"$work/apt.log" 2>&1; }
    if ! fetch; then
        sudo=()
        [ "$(id -u)" -eq 0 ] || sudo=(sudo)
        "${sudo[@]}" apt-get update -qq >"$work/update.log" 2>&1 || cat "$work/update.log" >&2
        fetch || {
            cat "$work/apt.log" >&2
            echo "promtool.sh: could not download Debian's prometheus package (for promtool)" >&2
            exit 1
        }
    fi
    debs=("$work"/prometheus_*.deb)
    dpkg-deb -x "${debs[0]}" "$work/root"
    # Only promtool is kept (the package also holds the server and its web assets). The
    # rename is atomic, so a concurrent run never executes a half-written file.
    mkdir -p "$cache/usr/bin"
    mv "$work/root/usr/bin/promtool" "$work/promtool"
    mv -f "$work/promtool" "$bin"
    rm -rf "$work"
    trap - EXIT
fi

exec "$bin" "$@"
