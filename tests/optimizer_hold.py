"""Optimizer stand-ins for tests. They run in the optimizer's child process, so they are
module-level functions (pickled by name) that talk to the test through files."""

from __future__ import annotations

import os
import time
from pathlib import Path

from homerack.domain import optimizer


def held(gate: str, *args):
    """Marks its start in ``gate``, waits (up to 10 s) for ``gate/release``, then runs the
    real optimizer."""
    directory = Path(gate)
    (directory / f"started-{os.getpid()}-{time.monotonic_ns()}").touch()
    deadline = time.monotonic() + 10
    while not (directory / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return optimizer.optimize(*args)


def hungry(*args):
    """Allocates 1 GiB, more than the child's address-space limit allows."""
    ballast = bytearray(1 << 30)
    return len(ballast)


class Gate:
    """The test's side: ``started.acquire(True, timeout)`` waits for one more run to
    start (like a semaphore), ``release.set()`` lets every held run go on."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.started, self.release = self, self
        self._taken = 0

    def acquire(self, blocking: bool = True, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while len(list(self.directory.glob("started-*"))) <= self._taken:
            if not blocking or time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        self._taken += 1
        return True

    def set(self) -> None:
        (self.directory / "release").touch()
