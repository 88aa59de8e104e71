"""Isolation benchmark: rack reads while optimizations run, against the same reads idle.

Prints figures only; it is never a test gate. It creates a throwaway database with the
demo homelab (catalog + demo racks), starts the real server (Gunicorn, 2 uvicorn
workers, the read cache off so every GET /api/racks/{id} reads PostgreSQL), and
measures, in one run, the reads of a bounded-concurrency client (keep-alive
connections, each sending its next request when the last one answered):

* idle;
* while 4 users each keep a 10 s optimization of the largest rack running (a new one
  as soon as the last answered), so the 4 runs overlap the whole measurement.

It prints req/s and p50/p95/p99 of both phases and their ratios. ``--app-dir`` serves
another checkout's code (e.g. the previous release's ``app/``) on the same data.

    make services                        # PostgreSQL and Redis, as for the tests
    .venv/bin/python bench/isolation.py [--seconds 15] [--connections 8]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py would shadow the standard library's `http`: this directory goes last.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

import argparse
import asyncio
import json
import os
import secrets
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from harness import SECRET, Server, call, scratch_database

from homerack import security, storage
from homerack.domain.schemas import UserIn
from homerack.storage import seed, users
from homerack.storage.database import open_database, upgrade

OPTIMIZING_USERS = 4


async def _reader(
    host: str, port: int, request: bytes, stop: float, latencies: list, errors: list
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            writer.write(request)
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


def measure(base: str, path: str, token: str, seconds: float, connections: int) -> dict:
    """``connections`` keep-alive clients reading ``path`` back to back for ``seconds``."""
    url = urlsplit(base)
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {token}\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    errors: list[int] = []

    async def run() -> None:
        stop = time.perf_counter() + seconds
        await asyncio.gather(
            *(
                _reader(url.hostname, url.port, request, stop, latencies, errors)
                for _ in range(connections)
            )
        )

    started = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "rps": len(latencies) / elapsed,
        "p50": q[49] * 1000,
        "p95": q[94] * 1000,
        "p99": q[98] * 1000,
        "errors": len(errors),
    }


class Optimizers:
    """One thread per user, each keeping one optimization of ``path`` going until stop()."""

    def __init__(self, base: str, path: str, tokens: list[str], time_limit_ms: int):
        self.done: list[float] = []
        self.refused: list[int] = []
        self._stop = threading.Event()
        body = json.dumps({"time_limit_ms": time_limit_ms}).encode()
        self.threads = [
            threading.Thread(target=self._loop, args=(base + path, body, t)) for t in tokens
        ]
        for thread in self.threads:
            thread.start()

    def _loop(self, url: str, body: bytes, token: str) -> None:
        while not self._stop.is_set():
            req = urllib.request.Request(  # noqa: S310
                url,
                data=body,
                method="POST",
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                },
            )
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(req, timeout=120) as resp:  # noqa: S310
                    resp.read()
                self.done.append(time.perf_counter() - started)
            except urllib.error.HTTPError as exc:  # busy or capped: try again shortly
                self.refused.append(exc.code)
                self._stop.wait(0.5)

    def stop(self) -> None:
        self._stop.set()
        for thread in self.threads:
            thread.join(120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--time-limit-ms", type=int, default=10_000)
    ap.add_argument("--app-dir", type=Path, help="serve this checkout's app/ instead")
    args = ap.parse_args()
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        run(url, Path(tmp), args)


def run(url: str, tmp: Path, args) -> None:
    upgrade(url)
    db = open_database(url)
    users.create_first_admin(db, "bench")
    storage.call(seed.load_catalog, db)
    counts = storage.call(seed.load_demo, db)
    # Viewers may optimize (without applying): one per optimization stream.
    viewers = [
        storage.call(
            users.create_user,
            db,
            UserIn(username=f"viewer{i}", password=secrets.token_urlsafe(16), role="viewer"),
        )
        for i in range(OPTIMIZING_USERS)
    ]
    db.disconnect()
    admin = security.issue_token(SECRET, 1, "bench", "admin", 3600)
    tokens = [security.issue_token(SECRET, v["id"], v["username"], "viewer", 3600) for v in viewers]
    # As many optimizer processes as runs, wherever the kernel sends them: the 4 runs
    # all compute at once (on the old thread runtime at most one per worker could).
    server = Server(
        url,
        2,
        False,
        tmp,
        app_dir=args.app_dir,
        env={"HOMERACK_OPTIMIZER_PROCESSES": str(OPTIMIZING_USERS)},
    )
    try:
        racks = call(server.base, "GET", "/api/racks?limit=50", admin)["items"]
        rack = max(racks, key=lambda r: r["u_height"])  # the demo's 24U rack
        path = f"/api/racks/{rack['id']}"
        print(
            f"demo data: {counts}; reading {path} ({rack['name']}), "
            f"{args.connections} connections, {args.seconds:g} s per phase",
            flush=True,
        )
        measure(server.base, path, admin, 2, args.connections)  # warm-up
        idle = measure(server.base, path, admin, args.seconds, args.connections)
        load = Optimizers(server.base, path + "/optimize", tokens, args.time_limit_ms)
        time.sleep(1)  # the runs have started
        busy = measure(server.base, path, admin, args.seconds, args.connections)
        load.stop()
    finally:
        server.stop()

    code = f"app from {args.app_dir}" if args.app_dir else "this checkout"
    print(
        f"\n{code}: 2 workers, {os.cpu_count()} CPUs (PostgreSQL and the client on the "
        f"same machine)\n"
    )
    print(
        f"{'GET /api/racks/{id} (uncached)':<44} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'errors':>7}"
    )
    rows = [
        ("idle", idle),
        (f"while {OPTIMIZING_USERS} users optimize ({args.time_limit_ms} ms)", busy),
    ]
    for label, r in rows:
        print(
            f"{label:<44} {r['rps']:>8.0f} {r['p50']:>8.1f} {r['p95']:>8.1f} "
            f"{r['p99']:>8.1f} {r['errors']:>7}"
        )
    print(
        f"{'ratio under load / idle':<44} {busy['rps'] / idle['rps']:>8.2f} "
        f"{busy['p50'] / idle['p50']:>8.2f} {busy['p95'] / idle['p95']:>8.2f} "
        f"{busy['p99'] / idle['p99']:>8.2f}"
    )
    mean = statistics.fmean(load.done) if load.done else float("nan")
    print(
        f"\noptimizations answered: {len(load.done)} (mean {mean:.1f} s), refused and "
        f"retried: {len(load.refused)} {sorted(set(load.refused))}"
    )


if __name__ == "__main__":
    main()
