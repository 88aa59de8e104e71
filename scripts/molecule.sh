#!/usr/bin/env bash
# Run Molecule scenarios on real systemd Debian hosts and print how long each took, step by
# step (the cold converge and the idempotent re-run broken out).
#
#   scripts/molecule.sh [run ...]    default: default small:trixie cluster roles
#
# A run is one of:
#   default[:distro], cluster[:distro]   a shape of the whole site.yml (one host; the tiers on
#                                        separate hosts)
#   role:<role>[:distro]                 one role of roles/ alone on a fresh host (molecule/role)
#   roles[:distro]                       role:<role> for every role with a scenario
#                                        (molecule/role/<role>/; systemd_hardening has none:
#                                        the service roles' scenarios run it), those that
#                                        prepare the most needed roles first
# The distro (bookworm, the default, or trixie) picks the Debian release of the hosts through
# MOLECULE_DISTRO, so each scenario has one definition for every release.
#
# The site scenarios run one after the other; role scenarios run MOLECULE_JOBS at a time
# (default 3, on 2 CPUs too: each host is mostly waiting on apt, dpkg and systemd; the 12 took
# 608 s three at a time, 996 s two at a time on a shared machine), each with its own container
# (homerack-role-<role>) and Molecule directory. Builds the base images first
# (scripts/test-hosts.sh). Runs every run given, then fails if any failed.
# Full logs: ${TMPDIR:-/tmp}/homerack-molecule-<scenario>-<distro>.log
set -uo pipefail
cd "$(dirname "$0")/.."

venv=${VENV:-.venv}
export PATH="$(pwd)/$venv/bin:$PATH"
# Molecule and Ansible write under the project otherwise; keep the tree clean.
export ANSIBLE_HOME=${ANSIBLE_HOME:-$HOME/.ansible}
jobs=${MOLECULE_JOBS:-3}
logdir=${TMPDIR:-/tmp}

# Expand "roles[:distro]" into one run per role scenario.
runs=()
for s in "${@:-default small:trixie cluster roles}"; do
    for r in $s; do
        if [ "${r%%:*}" = roles ]; then
            suffix=${r#roles}
            # Longest first (the most roles to prepare), so that the last job to start is a
            # short one and the jobs end together.
            for d in $(for h in molecule/role/*/hosts.yml; do
                n=$(sed -n 's/^ *role_test_needs: *\[\(.*\)\].*/\1/p' "$h" | tr -cd , | wc -c)
                grep -q role_test_needs "$h" && n=$((n + 1))
                echo "$n ${h%/hosts.yml}"
            done | sort -k1,1nr -k2,2 | cut -d' ' -f2); do runs+=("role:${d##*/}$suffix"); done
        else
            runs+=("$r")
        fi
    done
done

# "scenario[:distro]" or "role:<role>[:distro]" -> scenario, role, distro.
parse() {
    local IFS=:
    set -- $1
    scenario=$1; role=; distro=bookworm
    if [ "$scenario" = role ]; then role=${2:-}; distro=${3:-bookworm}; else distro=${2:-bookworm}; fi
}

distros=()
for r in "${runs[@]}"; do parse "$r"; distros+=("$distro"); done
bash scripts/test-hosts.sh $(printf '%s\n' "${distros[@]}" | sort -u) || exit 1

# Seconds since boot: a monotonic clock (the wall clock may be stepped while the tests run).
now() { cut -d' ' -f1 /proc/uptime | cut -d. -f1; }

# One run: molecule test, its log, and a summary line in $logdir/<name>.summary.
run() {
    local scenario role distro name log start rc steps ephemeral
    parse "$1"
    name=$scenario${role:+-$role}-$distro
    log=$logdir/homerack-molecule-$name.log
    rm -f "$logdir/homerack-molecule-$name.summary"
    start=$(now)
    if [ -n "$role" ]; then
        # A Molecule directory per role: concurrent runs of the role scenario share no state.
        # Emptied first: Molecule fails on an inventory link left dangling by a checkout that
        # is gone (and the test's first step, destroy, needs no state but the container's name).
        ephemeral=${XDG_CACHE_HOME:-$HOME/.cache}/molecule/homerack-role-$role-$distro
        rm -rf "$ephemeral"
        MOLECULE_ROLE=$role MOLECULE_DISTRO=$distro MOLECULE_EPHEMERAL_DIRECTORY=$ephemeral \
            molecule test -s role >"$log" 2>&1
    else
        MOLECULE_DISTRO=$distro molecule test -s "$scenario" 2>&1 | tee "$log"
    fi
    rc=$?
    # The timer callback prints "Playbook run took ..." after each playbook; attribute each
    # to the Molecule step that ran it.
    steps=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
        match($0, /➜ [a-z_]+:/) { step = substr($0, RSTART + 4, RLENGTH - 5) }
        /Playbook run took/ {
            sub(/.*Playbook run took /, ""); split($0, t, /[ ,]+/)
            printf "%s %ds; ", step, t[1] * 86400 + t[3] * 3600 + t[5] * 60 + t[7]
        }
    ')
    echo "$1: rc=$rc, total $(( $(now) - start ))s; ${steps:-no step timings found} (log: $log)" >"$logdir/homerack-molecule-$name.summary"
    if [ "$rc" -ne 0 ] && [ -n "$role" ]; then tail -n 40 "$log" >&2; fi
    return "$rc"
}

site=(); role_runs=()
for r in "${runs[@]}"; do
    parse "$r"
    if [ "$scenario" = role ]; then role_runs+=("$r"); else site+=("$r"); fi
done

for r in "${site[@]}"; do
    echo "=== $r" >&2
    run "$r"
done

start=$(now)
for r in "${role_runs[@]}"; do
    # At most $jobs role scenarios at a time.
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    echo "=== $r" >&2
    run "$r" &
done
wait
[ ${#role_runs[@]} -eq 0 ] || roles_total=$(( $(now) - start ))

echo
echo "Molecule timings:"
failed=()
for r in "${runs[@]}"; do
    parse "$r"
    line=$(cat "$logdir/homerack-molecule-$scenario${role:+-$role}-$distro.summary" 2>/dev/null || echo "$r: rc=?")
    echo "  $line"
    case $line in *"rc=0,"*) ;; *) failed+=("$r") ;; esac
done
[ -z "${roles_total:-}" ] || echo "  role scenarios (${#role_runs[@]}, $jobs at a time): ${roles_total}s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
