#!/usr/bin/env bash
# Lock the release's dependencies: one requirements file with hashes per target platform in
# lock/, resolved by uv for that target (not for this machine), from pyproject.toml's
# [project] dependencies. homerack-release.sh builds a release from exactly these pins.
#
#   scripts/lock.sh           regenerate lock/*.txt (`make lock`); pins that still fit are kept
#   scripts/lock.sh --check   fail when a lock no longer matches pyproject.toml (`make lint`)
#   scripts/lock.sh --upgrade regenerate with the newest versions pyproject.toml allows
#
# uv rather than pip-tools: it resolves for another Python and platform than its own
# (--python-version, --python-platform manylinux_2_X), where pip-tools evaluates environment
# markers for the Python it runs on (redis needs async-timeout on 3.11.2, not on 3.11.7).
# --only-binary: a version without a wheel for the target cannot be locked, so the release
# build never has to compile an sdist.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-uv}
PYTHON=${PYTHON:-python3}

# file name (cp<XY>-<arch>, what homerack-release.sh looks for) -> Python, and the oldest
# glibc of the Debian release that ships that Python (Debian 12: 3.11 with glibc 2.36;
# Debian 13: 3.13 with glibc 2.41, of which uv knows up to manylinux_2_40).
TARGETS=(
    "cp311-x86_64 3.11 x86_64-manylinux_2_36"
    "cp311-aarch64 3.11 aarch64-manylinux_2_36"
    "cp313-x86_64 3.13 x86_64-manylinux_2_40"
    "cp313-aarch64 3.13 aarch64-manylinux_2_40"
)

mode=${1:-}
case $mode in
    "" | --check | --upgrade) ;;
    *) echo "usage: $0 [--check | --upgrade]" >&2; exit 2 ;;
esac
out=lock extra=()
[[ $mode == --upgrade ]] && extra=(--upgrade)
if [[ $mode == --check ]]; then
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    # uv keeps the pins of an existing output file that still satisfy pyproject.toml, so a
    # lock that is up to date comes out byte for byte the same.
    cp lock/*.txt "$out/" 2>/dev/null || true
fi
mkdir -p "$out"

# The targets resolve in parallel: each is mostly waiting on the index.
pids=()
for target in "${TARGETS[@]}"; do
    read -r name python platform <<<"$target"
    # --python: build the project's metadata with this Python instead of searching the
    # machine for the target's (slow, and it need not be installed here).
    "$UV" pip compile --quiet --python "$PYTHON" pyproject.toml --generate-hashes --only-binary :all: \
        --python-version "$python" --python-platform "$platform" "${extra[@]}" \
        --custom-compile-command "make lock" --output-file "$out/$name.txt" &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

if [[ $mode == --check ]]; then
    if ! diff -ru lock "$out" >&2; then
        echo "lock/ does not match pyproject.toml's dependencies: run \`make lock\` and commit lock/" >&2
        exit 1
    fi
fi
