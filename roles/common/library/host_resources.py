#!/usr/bin/python
"""The memory and CPUs this host can really use, cgroup limits included."""

from __future__ import annotations

import math
import os

DOCUMENTATION = r"""
module: host_resources
short_description: The memory and CPUs a host can use, cgroup (v2) limits included
description:
  - Returns the fact C(host_resources) with C(memory_mb) and C(cpus).
  - The kernel's figures (MemTotal, the CPUs this process may run on) are the machine's.
    In a container or a VM slice with a memory limit or a CPU quota they overstate what the
    services get, and Ansible's own facts (memtotal_mb, processor_nproc) show the machine's.
    This walks up the cgroup of PID 1 (under which every service runs) to the root and takes
    the lowest memory.max and cpu.max on the way.
  - Hosts on cgroup v1, or whose limits sit outside their cgroup namespace (LXC without a
    host cgroup namespace), get the kernel's figures (lxcfs there usually shows the limits in
    /proc/meminfo already).
options: {}
"""

RETURN = r"""
ansible_facts:
  description: host_resources with memory_mb (int), cpus (int, at least 1), memory_source and
    cpus_source (kernel, affinity or cgroup: where the figure came from).
  returned: always
  type: dict
"""


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def cgroup_path(proc_cgroup: str) -> str | None:
    """The cgroup v2 path in /proc/<pid>/cgroup's text ("0::/path"), None on v1."""
    for line in proc_cgroup.splitlines():
        if line.startswith("0::"):
            return line[3:]
    return None


def cgroup_limits(root: str, path: str) -> tuple[int | None, float | None]:
    """The lowest memory.max (bytes) and cpu.max (CPUs) from `path` up to the root."""
    memory: int | None = None
    cpus: float | None = None
    parts = [p for p in path.split("/") if p]
    for depth in range(len(parts), -1, -1):
        directory = os.path.join(root, *parts[:depth])
        mem = _read(os.path.join(directory, "memory.max"))
        if mem and mem != "max":
            memory = int(mem) if memory is None else min(memory, int(mem))
        cpu = _read(os.path.join(directory, "cpu.max"))
        if cpu and not cpu.startswith("max"):
            quota, _, period = cpu.partition(" ")
            share = int(quota) / int(period or 100000)
            cpus = share if cpus is None else min(cpus, share)
    return memory, cpus


def meminfo_total(text: str) -> int:
    """MemTotal in bytes from /proc/meminfo's text."""
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise ValueError("no MemTotal in /proc/meminfo")


def resources(root: str = "/sys/fs/cgroup", proc: str = "/proc") -> dict:
    kernel_memory = meminfo_total(_read(os.path.join(proc, "meminfo")) or "")
    kernel_cpus = len(os.sched_getaffinity(0))  # what nproc counts (cpusets included)
    path = cgroup_path(_read(os.path.join(proc, "1", "cgroup")) or "")
    limit_memory, limit_cpus = cgroup_limits(root, path) if path is not None else (None, None)
    memory, memory_source = kernel_memory, "kernel"
    if limit_memory is not None and limit_memory < kernel_memory:
        memory, memory_source = limit_memory, "cgroup"
    cpus, cpus_source = kernel_cpus, "affinity"
    # A quota of 1.5 CPUs lets two threads run part of the time: round up, at least 1.
    if limit_cpus is not None and math.ceil(limit_cpus) < kernel_cpus:
        cpus, cpus_source = max(1, math.ceil(limit_cpus)), "cgroup"
    return {
        "memory_mb": memory // (1024 * 1024),
        "cpus": cpus,
        "memory_source": memory_source,
        "cpus_source": cpus_source,
    }


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    try:
        found = resources()
    except (OSError, ValueError) as e:
        module.fail_json(msg=f"cannot read this host's memory and CPUs: {e}")
    module.exit_json(changed=False, ansible_facts={"host_resources": found})


if __name__ == "__main__":
    main()
