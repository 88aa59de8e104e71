#!/usr/bin/python
"""The memory and CPUs this host can really use, cgroup limits included."""

from __future__ import annotations

import math
import os

DOCUMENTATION = r"""
module: host_resources
short_description: The memory and CPUs a host can use, cgroup limits included
description:
  - Returns the fact C(host_resources) with C(memory_mb) and C(cpus).
  - The kernel's figures (MemTotal, the CPUs this process may run on) are the machine's.
    In a container or a VM slice with a memory limit or a CPU quota they overstate what the
    services get, and Ansible's own facts (memtotal_mb, processor_nproc) show the machine's.
    This walks up the cgroup of PID 1 (under which every service runs) to the root and takes
    the lowest memory limit and CPU quota on the way, in cgroup v2 (memory.max, cpu.max) or,
    on hosts booted with the hybrid layout, cgroup v1 (memory.limit_in_bytes,
    cpu.cfs_quota_us).
  - Hosts whose limits sit outside their cgroup namespace (LXC without a host cgroup
    namespace) get the kernel's figures (lxcfs there usually shows the limits in
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


# cgroup v1 writes "no limit" as a huge number (PAGE_COUNTER_MAX pages), not "max".
_V1_UNLIMITED = 1 << 62


def cgroup_paths(proc_cgroup: str) -> dict[str, str]:
    """The cgroup of each controller in /proc/<pid>/cgroup's text: cgroup v2's line
    ("0::/path") under "", each v1 controller ("4:memory:/path") under its name."""
    paths = {}
    for line in proc_cgroup.splitlines():
        fields = line.split(":", 2)
        if len(fields) == 3:
            for controller in fields[1].split(",") if fields[1] else [""]:
                paths[controller] = fields[2]
    return paths


def _up(root: str, path: str):
    """`root`/`path`, then each of its parents up to `root`."""
    parts = [p for p in path.split("/") if p]
    for depth in range(len(parts), -1, -1):
        yield os.path.join(root, *parts[:depth])


def _lowest(values) -> float | None:
    found = [v for v in values if v is not None]
    return min(found) if found else None


def _v2_memory(directory: str) -> int | None:
    text = _read(os.path.join(directory, "memory.max"))
    return int(text) if text and text != "max" else None


def _v2_cpus(directory: str) -> float | None:
    text = _read(os.path.join(directory, "cpu.max"))
    if not text or text.startswith("max"):
        return None
    quota, _, period = text.partition(" ")
    return int(quota) / int(period or 100000)


def _v1_memory(directory: str) -> int | None:
    text = _read(os.path.join(directory, "memory.limit_in_bytes"))
    return int(text) if text and int(text) < _V1_UNLIMITED else None


def _v1_cpus(directory: str) -> float | None:
    quota = _read(os.path.join(directory, "cpu.cfs_quota_us"))
    period = _read(os.path.join(directory, "cpu.cfs_period_us"))
    if not quota or int(quota) <= 0 or not period:
        return None
    return int(quota) / int(period)


def cgroup_limits(root: str, paths: dict[str, str]) -> tuple[int | None, float | None]:
    """The lowest memory limit (bytes) and CPU quota (CPUs) from the cgroups in `paths` up to
    the root: cgroup v2 (memory.max, cpu.max) when its hierarchy carries the controllers
    (root/cgroup.controllers), cgroup v1's memory and cpu hierarchies (root/memory,
    root/cpu) otherwise, as on a host booted with the hybrid layout."""
    memory: list[int | None] = []
    cpus: list[float | None] = []
    if "" in paths and os.path.exists(os.path.join(root, "cgroup.controllers")):
        for directory in _up(root, paths[""]):
            memory.append(_v2_memory(directory))
            cpus.append(_v2_cpus(directory))
    if "memory" in paths:
        memory += [_v1_memory(d) for d in _up(os.path.join(root, "memory"), paths["memory"])]
    if "cpu" in paths:
        cpus += [_v1_cpus(d) for d in _up(os.path.join(root, "cpu"), paths["cpu"])]
    lowest_memory = _lowest(memory)
    return (int(lowest_memory) if lowest_memory is not None else None), _lowest(cpus)


def meminfo_total(text: str) -> int:
    """MemTotal in bytes from /proc/meminfo's text."""
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise ValueError("no MemTotal in /proc/meminfo")


def resources(root: str = "/sys/fs/cgroup", proc: str = "/proc") -> dict:
    kernel_memory = meminfo_total(_read(os.path.join(proc, "meminfo")) or "")
    kernel_cpus = len(os.sched_getaffinity(0))  # what nproc counts (cpusets included)
    paths = cgroup_paths(_read(os.path.join(proc, "1", "cgroup")) or "")
    limit_memory, limit_cpus = cgroup_limits(root, paths)
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
