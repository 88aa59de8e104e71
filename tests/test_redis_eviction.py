"""A full Redis cache cannot push out rate-limit state or cache generations.

A private redis-server with a small ``maxmemory`` and the redis role's default eviction
policy, flooded through the app with thousands of distinct list queries over a large
inventory: the cache fills memory and Redis evicts, yet a client whose rate limit was
exhausted before the flood is still refused, and a write is seen by the very next read.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import shutil
import socket
import subprocess
import time
from pathlib import Path

import falcon.testing
import pytest
import redis
import yaml
from helpers import Api

from homerack.api.app import create_app
from homerack.api.common import CACHED_PAGE_SIZES
from homerack.config import parse_rate

ROOT = Path(__file__).resolve().parent.parent
POLICY = yaml.safe_load((ROOT / "roles/redis/defaults/main.yml").read_text())[
    "redis_maxmemory_policy"
]
_spec = importlib.util.spec_from_file_location("big_inventory", ROOT / "scripts/big-inventory.py")
big_inventory = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(big_inventory)


@pytest.fixture
def small_redis():
    """redis-server on a free port: 2 MB, no persistence, the role's default policy."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (run `make services`)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxmemory",
            "2mb",
            "--maxmemory-policy",
            POLICY,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail("the private redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0", client
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_flood_of_list_queries_evicts_neither_limits_nor_generations(config, small_redis):
    url, client = small_redis
    base = dataclasses.replace(config, redis_url=url, cache_ttl_seconds=600)
    # Two instances on one Redis and one database, like two workers: the flood's without
    # a general limit (the worst case: a client that is not throttled, or many clients),
    # the victim's with a tight one.
    flood_app = create_app(dataclasses.replace(base, rate_limit=None))
    limited_app = create_app(dataclasses.replace(base, rate_limit=parse_rate("t", "1/h burst 3")))
    async with (
        falcon.testing.ASGIConductor(flood_app) as f,
        falcon.testing.ASGIConductor(limited_app) as v,
    ):
        flood, limited = Api(f), Api(v)
        doc = big_inventory.build(racks=60, per_rack=42, cables=3000)
        assert (await flood.post("/api/import", json=doc)).status_code == 200

        # The victim spends its burst before the flood.
        assert [(await limited.get("/api/racks", role="viewer")).status_code for _ in range(4)] == [
            200,
            200,
            200,
            429,
        ]
        device = (await flood.get("/api/devices", params={"limit": 10})).json["items"][0]
        path = f"/api/devices/{device['id']}"

        async def written_then_read(name: str) -> None:
            assert (await flood.patch(path, json={"notes": name})).status_code == 200
            assert (await flood.get(path)).json["notes"] == name
            pages = (await flood.get("/api/devices", params={"limit": 10})).json["items"]
            assert next(d for d in pages if d["id"] == device["id"])["notes"] == name

        await written_then_read("before the flood")
        queries = 0
        for round_ in range(4):
            # Every page size, cached pages and off-grid offsets alike, some filtered.
            for size in [*sorted(CACHED_PAGE_SIZES), 7, 33, 499]:
                for offset in range(round_, 2520, max(size, 30)):
                    params = {"limit": size, "offset": offset}
                    if offset % 3 == 0:
                        params["placed"] = "true"
                    result = await flood.get("/api/devices", params=params)
                    assert result.status_code == 200
                    queries += 1
            await written_then_read(f"after flood round {round_}")

        info = client.info()
        assert queries > 2000
        assert info["evicted_keys"] > 0, "the flood did not fill the 2 MB Redis"
        assert info["used_memory"] > 1.5 * 1024 * 1024
        # What must survive did: the generations and the victim's bucket.
        assert client.exists("homerack:gen:racks", "homerack:gen:catalog") == 2
        assert client.zscore("homerack:rl:api", "user:3") is not None
        refused = await limited.get("/api/racks", role="viewer")
        assert refused.status_code == 429, "the flood reset the victim's rate limit"
        assert (await limited.get("/api/racks", role="editor")).status_code == 200
        # Only pages on the grid with items were ever cached.
        stored = list(client.scan_iter("homerack:c:*", count=1000))
        assert stored and len(stored) < 1000
