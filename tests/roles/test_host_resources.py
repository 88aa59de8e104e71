"""The common role's host_resources module: a host's memory and CPUs, cgroup limits included.

Run against fake /proc and /sys/fs/cgroup trees laid out as on a Debian host with cgroup v2,
as on one booted with the hybrid layout (cgroup v1 controllers, the machines CI runs on), in a
Docker container with --cgroupns=host (systemd's init.scope under the container's cgroup) and
in a VM.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

MODULE = Path(__file__).resolve().parents[2] / "roles/common/library/host_resources.py"
spec = importlib.util.spec_from_file_location("host_resources", MODULE)
assert spec and spec.loader
host_resources = importlib.util.module_from_spec(spec)
spec.loader.exec_module(host_resources)

GIB = 1024**3
CONTAINER = "/system.slice/docker-0123abcd.scope/init.scope"
MACHINE_CPUS = 8


@pytest.fixture(autouse=True)
def eight_cpus(monkeypatch):
    """The CPUs the kernel lets this process run on (what nproc counts), as on an 8-CPU machine."""
    monkeypatch.setattr(
        host_resources.os, "sched_getaffinity", lambda pid: set(range(MACHINE_CPUS))
    )


def machine(
    tmp_path: Path, pid1_cgroup: str, limits: dict[str, dict[str, str]], mem_kb=24 * 1024**2
):
    proc, root = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "1").mkdir(parents=True)
    (proc / "meminfo").write_text(f"MemTotal:       {mem_kb} kB\nMemFree:        1000 kB\n")
    (proc / "1" / "cgroup").write_text(f"0::{pid1_cgroup}\n")
    (root / pid1_cgroup.lstrip("/")).mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    for path, files in limits.items():
        directory = root / path.lstrip("/")
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (directory / name).write_text(text + "\n")
    return str(root), str(proc)


def test_a_container_limited_to_1_gib_and_1_cpu_reports_them(tmp_path):
    root, proc = machine(
        tmp_path,
        CONTAINER,
        {
            "/system.slice": {"memory.max": "max", "cpu.max": "max 100000"},
            "/system.slice/docker-0123abcd.scope": {
                "memory.max": str(GIB),
                "cpu.max": "100000 100000",
            },
            CONTAINER: {"memory.max": "max", "cpu.max": "max 100000"},
        },
    )
    found = host_resources.resources(root, proc)
    assert found["memory_mb"] == 1024
    assert found["memory_source"] == "cgroup"
    assert found["cpus"] == 1
    assert found["cpus_source"] == "cgroup"


def test_the_tightest_limit_on_the_way_up_wins(tmp_path):
    root, proc = machine(
        tmp_path,
        CONTAINER,
        {
            "/system.slice": {"memory.max": str(512 * 1024**2), "cpu.max": "50000 100000"},
            "/system.slice/docker-0123abcd.scope": {
                "memory.max": str(GIB),
                "cpu.max": "300000 100000",
            },
        },
    )
    found = host_resources.resources(root, proc)
    # Half a CPU still runs one process: rounded up, never 0.
    assert (found["memory_mb"], found["cpus"]) == (512, 1)


def test_a_fractional_quota_rounds_up(tmp_path):
    root, proc = machine(
        tmp_path, CONTAINER, {"/system.slice/docker-0123abcd.scope": {"cpu.max": "150000 100000"}}
    )
    assert host_resources.resources(root, proc)["cpus"] == 2


def test_a_vm_without_limits_reports_the_kernels_figures(tmp_path):
    root, proc = machine(tmp_path, "/init.scope", {}, mem_kb=2 * 1024**2)
    found = host_resources.resources(root, proc)
    assert found == {
        "memory_mb": 2048,
        "cpus": MACHINE_CPUS,
        "memory_source": "kernel",
        "cpus_source": "affinity",
    }


def test_a_limit_above_the_machines_memory_changes_nothing(tmp_path):
    root, proc = machine(
        tmp_path,
        CONTAINER,
        {
            "/system.slice/docker-0123abcd.scope": {
                "memory.max": str(64 * GIB),
                "cpu.max": "6400000 100000",
            }
        },
        mem_kb=4 * 1024**2,
    )
    found = host_resources.resources(root, proc)
    assert (found["memory_mb"], found["memory_source"]) == (4096, "kernel")
    assert (found["cpus"], found["cpus_source"]) == (MACHINE_CPUS, "affinity")


def test_cgroup_v1_falls_back_to_the_kernels_figures(tmp_path):
    root, proc = machine(tmp_path, "/", {}, mem_kb=1024**2)
    Path(proc, "1", "cgroup").write_text("12:memory:/docker/0123\n11:cpu,cpuacct:/docker/0123\n")
    found = host_resources.resources(root, proc)
    assert (found["memory_mb"], found["memory_source"], found["cpus_source"]) == (
        1024,
        "kernel",
        "affinity",
    )


V1_CONTAINER = "/docker/80b3f032"
V1_PROC_CGROUP = f"""\
4:memory:{V1_CONTAINER}/init.scope
1:cpu,cpuacct:{V1_CONTAINER}
0::{V1_CONTAINER}/init.scope
"""


def hybrid_machine(tmp_path: Path, memory_limit: str, quota: str, period: str = "100000"):
    """A host booted with cgroup v1 controllers and a controller-less v2 hierarchy."""
    proc, root = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "1").mkdir(parents=True)
    (proc / "meminfo").write_text("MemTotal:       25000000 kB\n")
    (proc / "1" / "cgroup").write_text(V1_PROC_CGROUP)
    (root / "unified" / V1_CONTAINER.lstrip("/")).mkdir(parents=True)
    memory = root / "memory"
    (memory / V1_CONTAINER.lstrip("/") / "init.scope").mkdir(parents=True)
    (memory / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # unlimited
    (memory / V1_CONTAINER.lstrip("/") / "memory.limit_in_bytes").write_text(memory_limit + "\n")
    (memory / V1_CONTAINER.lstrip("/") / "init.scope" / "memory.limit_in_bytes").write_text(
        "9223372036854771712\n"
    )
    cpu = root / "cpu" / V1_CONTAINER.lstrip("/")
    cpu.mkdir(parents=True)
    (root / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    (root / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    (cpu / "cpu.cfs_quota_us").write_text(quota + "\n")
    (cpu / "cpu.cfs_period_us").write_text(period + "\n")
    return str(root), str(proc)


def test_cgroup_v1_limits_of_a_container_are_read(tmp_path):
    root, proc = hybrid_machine(tmp_path, str(GIB), "100000")
    found = host_resources.resources(root, proc)
    assert found == {
        "memory_mb": 1024,
        "cpus": 1,
        "memory_source": "cgroup",
        "cpus_source": "cgroup",
    }


def test_cgroup_v1_without_limits_reports_the_kernels_figures(tmp_path):
    root, proc = hybrid_machine(tmp_path, "9223372036854771712", "-1")
    found = host_resources.resources(root, proc)
    assert found == {
        "memory_mb": 25000000 // 1024,
        "cpus": MACHINE_CPUS,
        "memory_source": "kernel",
        "cpus_source": "affinity",
    }


def test_cgroup_v1_quota_of_two_and_a_half_cpus_is_three(tmp_path):
    root, proc = hybrid_machine(tmp_path, str(2 * GIB), "125000", "50000")
    assert host_resources.resources(root, proc)["cpus"] == 3
