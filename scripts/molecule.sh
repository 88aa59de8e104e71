#!/usr/bin/env bash
# Run the Molecule scenarios (the whole site.yml on real systemd Debian hosts) and print how
# long each took, with the cold converge and the idempotent re-run broken out.
#
#   scripts/molecule.sh [scenario[:distro] ...]   default: default default:trixie cluster
#
# A scenario is one shape of the site (default: one host; cluster: the tiers on separate
# hosts); the distro (bookworm, the default, or trixie) picks the Debian release of its hosts
# through MOLECULE_DISTRO, so each shape has one definition for every release.
#
# Builds the base images first (scripts/test-hosts.sh). Runs every scenario given, then fails
# if any failed. Full logs: ${TMPDIR:-/tmp}/homerack-molecule-<scenario>-<distro>.log
set -uo pipefail
cd "$(dirname "$0")/.."

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(default default:trixie cluster)
venv=${VENV:-.venv}
export PATH="$(pwd)/$venv/bin:$PATH"
# Molecule and Ansible write under the project otherwise; keep the tree clean.
export ANSIBLE_HOME=${ANSIBLE_HOME:-$HOME/.ansible}

suites=()
for s in "${scenarios[@]}"; do
    distro=${s#*:}; [ "$distro" != "$s" ] || distro=bookworm
    suites+=("$distro")
done
bash scripts/test-hosts.sh $(printf '%s\n' "${suites[@]}" | sort -u) || exit 1

# Seconds since boot: a monotonic clock (the wall clock may be stepped while the tests run).
now() { cut -d' ' -f1 /proc/uptime | cut -d. -f1; }

failed=()
summary=()
for s in "${scenarios[@]}"; do
    scenario=${s%%:*}
    distro=${s#*:}; [ "$distro" != "$s" ] || distro=bookworm
    log=${TMPDIR:-/tmp}/homerack-molecule-$scenario-$distro.log
    echo "=== MOLECULE_DISTRO=$distro molecule test -s $scenario (log: $log)" >&2
    start=$(now)
    MOLECULE_DISTRO=$distro molecule test -s "$scenario" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    total=$(( $(now) - start ))
    # The timer callback prints "Playbook run took ..." after each playbook; attribute each
    # to the Molecule step that ran it.
    steps=$(awk '
        match($0, /➜ [a-z_]+:/) { step = substr($0, RSTART + 4, RLENGTH - 5) }
        /Playbook run took/ { sub(/.*Playbook run took /, ""); printf "%s %s; ", step, $0 }
    ' < <(sed 's/\x1b\[[0-9;]*m//g' "$log"))
    summary+=("$s: rc=$rc, total ${total}s; ${steps:-no step timings found}")
    [ "$rc" -eq 0 ] || failed+=("$s")
done

echo
echo "Molecule timings:"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
