"""What the load benchmarks share: a scratch PostgreSQL database, the real server
(Gunicorn + uvicorn workers) on a local port, and the homelab they load."""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADMIN_DSN = os.environ.get("HOMERACK_TEST_POSTGRES", "postgresql:///postgres")
REDIS_URL = os.environ.get("HOMERACK_BENCH_REDIS", "redis://127.0.0.1:6379/14")
SECRET = secrets.token_urlsafe(48)


def pg(sql: str, dsn: str = ADMIN_DSN) -> None:
    subprocess.run(["psql", "-qAt", "-d", dsn, "-c", sql], check=True)


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """A throwaway database on the ADMIN_DSN server; yields its URL."""
    name = f"homerack_bench_{secrets.token_hex(4)}"
    pg(f"CREATE DATABASE {name}")
    url = f"postgresql:///{name}"
    if "host=" in ADMIN_DSN or "@" in ADMIN_DSN:
        url = ADMIN_DSN.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """Gunicorn serving ``app_dir``'s homerack (default: this checkout's) until stop()."""

    def __init__(
        self,
        url: str,
        workers: int,
        cache: bool,
        tmp: Path,
        env: dict[str, str] | None = None,
        app_dir: Path | None = None,
    ):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        metrics = tmp / f"metrics-{self.port}"
        metrics.mkdir()
        app_dir = app_dir or ROOT / "app"
        env = {
            **os.environ,
            "HOMERACK_DATABASE_URL": url,
            "HOMERACK_JWT_SECRET": SECRET,
            "HOMERACK_REDIS_URL": REDIS_URL,
            "HOMERACK_WORKERS": str(workers),
            "HOMERACK_BIND": f"127.0.0.1:{self.port}",
            "HOMERACK_RATE_LIMIT": "off",
            "HOMERACK_CACHE_TTL_SECONDS": "60" if cache else "0",
            "HOMERACK_CONTROL_SOCKET": "off",
            "HOMERACK_UPLOAD_DIR": str(tmp / "uploads"),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
            "HOMERACK_LOG_LEVEL": "warning",
            "PYTHONPATH": str(app_dir),
            **(env or {}),
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:homerack.gunicorn_conf",
                "homerack.asgi:app",
            ],
            env=env,
            cwd=ROOT,
        )
        for _ in range(150):
            try:
                if urllib.request.urlopen(self.base + "/api/health/ready").status == 200:  # noqa: S310
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("the server did not become ready")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def call(base: str, method: str, path: str, token: str, body=None) -> dict:
    req = urllib.request.Request(  # noqa: S310 - our local server
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=120) as resp:  # noqa: S310
        return json.loads(resp.read())


def inventory(rng: random.Random) -> dict:
    """10 x 42U racks, 400 devices (40 per rack, mostly 1U), 600 cables."""
    brands = [{"name": f"Brand {i}"} for i in range(8)]
    types = [
        {
            "brand": f"Brand {i % 8}",
            "model": f"Model {i}",
            "category": rng.choice(["switch", "server", "storage", "patch_panel"]),
            "u_height": 1,
            "weight_kg": round(rng.uniform(1, 25), 1),
            "power_w": rng.choice([0, 15, 60, 150, 300]),
        }
        for i in range(30)
    ]
    racks = [{"name": f"Rack {r}", "u_height": 42, "location": f"Room {r % 3}"} for r in range(10)]
    devices = []
    for r in range(10):
        for u in range(1, 41):
            t = types[rng.randrange(len(types))]
            devices.append(
                {
                    "name": f"r{r}-dev{u}",
                    "brand": t["brand"],
                    "model": t["model"],
                    "rack": f"Rack {r}",
                    "position_u": u,
                    "access_frequency": rng.choice(["daily", "weekly", "monthly"]),
                }
            )
    connections = []
    pairs = set()
    while len(connections) < 600:
        r = rng.randrange(10) if rng.random() < 0.9 else None
        a = rng.randrange(400) if r is None else r * 40 + rng.randrange(40)
        b = rng.randrange(400) if r is None else r * 40 + rng.randrange(40)
        if a == b or (min(a, b), max(a, b)) in pairs:
            continue
        pairs.add((min(a, b), max(a, b)))
        connections.append(
            {
                "device_a": devices[a]["name"],
                "device_b": devices[b]["name"],
                "cable_type": rng.choice(["cat6", "cat6a", "dac", "power"]),
                "count": rng.choice([1, 1, 2]),
            }
        )
    return {
        "format": "homerack-inventory",
        "version": 1,
        "brands": brands,
        "device_types": types,
        "racks": racks,
        "devices": devices,
        "connections": connections,
    }
