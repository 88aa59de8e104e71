#!/bin/bash
# Controller-side release builder for the homerack role (runs on the Ansible controller).
#
#   homerack-release.sh id SRC
#       Print "<version> <release-id>". The id is <version>-<12 hex of a hash over the paths
#       and contents of pyproject.toml and app/>. Changes elsewhere (roles/, docs/, README)
#       keep the id, so they trigger no rebuild and no restart.
#   homerack-release.sh source SRC
#       Print "<commit> <dirty>": the git commit SRC is at ("-" outside git) and whether
#       anything under the id's paths differs from it, untracked files included ("true"/"false").
#   homerack-release.sh build SRC OUT PYVER ARCH GLIBC PYTHON
#       Build OUT/release.tar (wheels/ = the app wheel and every dependency as wheels for
#       CPython PYVER (x.y.z) on manylinux ARCH up to glibc GLIBC; www/ = the web UI, built
#       by app/homerack/webui.py) with the pip of PYTHON. Dependencies published only as sdists are built into wheels here
#       and must come out pure (py3-none-any). OUT appears atomically when complete.
set -euo pipefail

# What the release id covers (README.md is only the wheel's long description: a docs
# commit must not restart the service) and what the build copies.
ID_PATHS=(pyproject.toml app)
BUILD_PATHS=(pyproject.toml README.md app)

release_id() {
    local src=$1 version hash
    version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$src/app/homerack/__init__.py")
    [[ -n $version ]] || { echo "no __version__ in $src/app/homerack/__init__.py" >&2; exit 1; }
    # A hash of the content (paths and bytes), not of git history: the same code gets the same
    # id whether it is committed, uncommitted or not in git at all.
    hash=$(cd "$src" && find "${ID_PATHS[@]}" -type f ! -path '*/__pycache__/*' \
               ! -path '*.egg-info/*' ! -name '*.py[co]' -print0 | LC_ALL=C sort -z \
               | xargs -0 sha256sum | sha256sum)
    echo "$version $version-${hash:0:12}"
}

source_state() {
    local src=$1 commit dirty=false
    if ! commit=$(git -C "$src" rev-parse --verify --quiet HEAD 2>/dev/null); then
        echo "- false"
        return
    fi
    [[ -z $(cd "$src" && git status --porcelain --untracked-files=all -- "${ID_PATHS[@]}") ]] || dirty=true
    echo "$commit $dirty"
}

# Download wheels for the target into $tmp/wheels: fetch REQUIREMENT... Requirements
# published only as sdists are built into (pure) wheels first.
fetch() {
    local log req name attempt
    for attempt in $(seq 1 10); do
        log=$("$python" -m pip download --quiet --dest "$tmp/wheels" --find-links "$tmp/sdist" \
                  --only-binary=:all: --implementation cp --python-version "$pyver" "${platforms[@]}" \
                  "$@" 2>&1) && return 0
        req=$(sed -n 's/.*No matching distribution found for \([^ ]*\).*$/\1/p' <<<"$log" | head -n 1)
        [[ -n $req && $attempt -lt 10 ]] || { echo "$log" >&2; exit 1; }
        name=$(sed 's/[^A-Za-z0-9._-].*//' <<<"$req")
        echo "no wheel for '$req': building one from its sdist" >&2
        "$python" -m pip wheel --quiet --no-deps --no-binary "$name" --wheel-dir "$tmp/sdist" "$req"
        if ls "$tmp"/sdist/*.whl | grep -v -- '-none-any\.whl$' >&2; then
            echo "$req builds a platform wheel on the controller; it cannot be cross-built here" >&2
            exit 1
        fi
    done
}

build() {
    local src=$1 out=$2 arch=$4 glibc=$5 minor attempt missing
    pyver=$3 python=$6 platforms=()
    mkdir -p "$(dirname "$out")"
    tmp=$(mktemp -d "$out.tmp.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    # manylinux tags this glibc runs (pip matches --platform tags exactly, no expansion).
    platforms+=(--platform "manylinux1_$arch" --platform "manylinux2010_$arch" --platform "manylinux2014_$arch")
    for ((minor = 5; minor <= ${glibc#*.}; minor++)); do
        platforms+=(--platform "manylinux_2_${minor}_$arch")
    done
    # Build the app wheel from a clean copy, so the source tree gets no build/ or egg-info.
    mkdir -p "$tmp/src" "$tmp/wheels" "$tmp/sdist" "$tmp/www"
    (cd "$src" && tar --exclude=__pycache__ --exclude='*.egg-info' -cf - "${BUILD_PATHS[@]}") \
        | tar -C "$tmp/src" --warning=no-timestamp -xf -
    "$python" -m pip wheel --quiet --no-deps --wheel-dir "$tmp/sdist" "$tmp/src"
    fetch "$tmp"/sdist/homerack-*.whl
    # pip evaluates markers with the controller's Python: add what the target's needs.
    for attempt in $(seq 1 10); do
        mapfile -t missing < <("$python" "$(dirname "$0")/homerack-missing-wheels.py" \
                                   "$tmp/wheels" homerack "$pyver" "$arch")
        [[ ${#missing[@]} -gt 0 && -n ${missing[0]} ]] || break
        echo "for Python $pyver also: ${missing[*]}" >&2
        fetch "${missing[@]}"
    done
    # The web UI nginx serves: index.html and its assets under a digest of their content.
    "$python" "$src/app/homerack/webui.py" build "$tmp/www" >/dev/null
    (cd "$tmp" && ls wheels > wheels/MANIFEST && tar -cf release.tar wheels www)
    mkdir "$tmp/out"
    mv "$tmp/release.tar" "$tmp/wheels/MANIFEST" "$tmp/out/"
    mv -T "$tmp/out" "$out"
}

case ${1:-} in
    id) release_id "$2" ;;
    source) source_state "$2" ;;
    build) build "$2" "$3" "$4" "$5" "$6" "$7" ;;
    *) echo "usage: $0 id SRC | source SRC | build SRC OUT PYVER ARCH GLIBC PYTHON" >&2; exit 2 ;;
esac
