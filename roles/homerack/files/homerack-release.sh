#!/bin/bash
# Controller-side release builder for the homerack role (runs on the Ansible controller).
#
#   homerack-release.sh id SRC
#       Print "<version> <release-id>". The id is <version>-<12 hex of a hash over the paths
#       and contents of pyproject.toml, lock/ and app/>. Changes elsewhere (roles/, docs/,
#       README) keep the id, so they trigger no rebuild and no restart; a re-lock is a new release.
#   homerack-release.sh source SRC
#       Print "<commit> <dirty>": the git commit SRC is at ("-" outside git) and whether
#       anything under the id's paths differs from it, untracked files included ("true"/"false").
#   homerack-release.sh build SRC OUT PYVER ARCH GLIBC PYTHON
#       Build OUT/release.tar with the pip of PYTHON: wheels/ = the app wheel, the wheels
#       pinned by SRC/lock/cp<XY>-ARCH.txt (scripts/lock.sh) for CPython PYVER (x.y.z) on
#       manylinux ARCH up to glibc GLIBC, checked against the lock's hashes, and
#       wheels/requirements.txt = that lock plus the app wheel's hash, which the host installs
#       with --no-index --require-hashes; www/ = the web UI, built by app/homerack/webui.py.
#       A locked dependency without a wheel for the target fails the build (nothing is built
#       from an sdist). OUT appears atomically when complete.
set -euo pipefail

# What the release id covers (README.md is only the wheel's long description: a docs
# commit must not restart the service) and what the build copies.
ID_PATHS=(pyproject.toml lock app)
BUILD_PATHS=(pyproject.toml README.md lock app)

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

build() {
    local src=$1 out=$2 pyver=$3 arch=$4 glibc=$5 python=$6 minor lock app platforms=()
    lock=lock/cp$(cut -d. -f1,2 <<<"$pyver" | tr -d .)-$arch.txt
    if [[ ! -f $src/$lock ]]; then
        echo "no lock for CPython $pyver on $arch: $src/$lock is missing (locked:" \
             "$(cd "$src/lock" 2>/dev/null && echo *.txt)); add the target to scripts/lock.sh" \
             "and run make lock" >&2
        exit 1
    fi
    mkdir -p "$(dirname "$out")"
    tmp=$(mktemp -d "$out.tmp.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    # manylinux tags this glibc runs (pip matches --platform tags exactly, no expansion).
    platforms+=(--platform "manylinux1_$arch" --platform "manylinux2010_$arch" --platform "manylinux2014_$arch")
    for ((minor = 5; minor <= ${glibc#*.}; minor++)); do
        platforms+=(--platform "manylinux_2_${minor}_$arch")
    done
    # Build the app wheel from a clean copy, so the source tree gets no build/ or egg-info.
    mkdir -p "$tmp/src" "$tmp/app" "$tmp/wheels" "$tmp/www"
    (cd "$src" && tar --exclude=__pycache__ --exclude='*.egg-info' -cf - "${BUILD_PATHS[@]}") \
        | tar -C "$tmp/src" --warning=no-timestamp -xf -
    "$python" -m pip wheel --quiet --no-deps --wheel-dir "$tmp/app" "$tmp/src"
    # Exactly the locked wheels: no resolution (--no-deps; the lock is complete for the
    # target, markers already evaluated for it), each checked against its hash.
    if ! "$python" -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
             --implementation cp --python-version "$pyver" "${platforms[@]}" \
             --dest "$tmp/wheels" --requirement "$tmp/src/$lock"; then
        echo "a dependency pinned in $lock has no wheel for CPython $pyver on manylinux" \
             "$arch with glibc $glibc (pip names it above): lock another version, or a" \
             "target with that wheel (scripts/lock.sh)" >&2
        exit 1
    fi
    # The host installs the app and the lock in one pip run that requires a hash for every
    # distribution: a dependency the lock lacks fails the install instead of slipping in.
    app=$(cd "$tmp/app" && echo homerack-*.whl)
    mv "$tmp/app/$app" "$tmp/wheels/"
    { cat "$tmp/src/$lock"
      echo "homerack==$(cut -d- -f2 <<<"$app") --hash=sha256:$(sha256sum "$tmp/wheels/$app" | cut -d' ' -f1)"
    } >"$tmp/wheels/requirements.txt"
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
