"""Fixtures: every API test runs against SQLite and a real PostgreSQL server.

HOMERACK_TEST_POSTGRES is an admin DSN (``make test`` sets it and starts the
server); each test session creates its own database there and drops it at the
end. Without it the PostgreSQL half is skipped locally, and fails under CI.
"""

from __future__ import annotations

import functools
import os

import falcon.testing
import optimizer_hold
import pytest
from helpers import JWT_SECRET, Api, wipe
from scratch_db import scratch_database

from homerack.api.app import create_app
from homerack.config import Config
from homerack.domain import optimizer
from homerack.storage.database import upgrade


@pytest.fixture(scope="session")
def postgres_admin_dsn() -> str:
    dsn = os.environ.get("HOMERACK_TEST_POSTGRES")
    if not dsn:
        if os.environ.get("CI"):
            pytest.fail("HOMERACK_TEST_POSTGRES is not set: CI must test against PostgreSQL")
        pytest.skip("HOMERACK_TEST_POSTGRES not set (run `make test`)")
    return dsn


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(request, tmp_path_factory):
    """A migrated, empty database of each kind, shared by the session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'homerack.sqlite3'}"
        upgrade(url)
        yield url
        return
    with scratch_database(request.getfixturevalue("postgres_admin_dsn")) as url:
        upgrade(url)
        yield url


@pytest.fixture
def config(database_url, tmp_path) -> Config:
    wipe(database_url)
    return Config(
        database_url=database_url,
        jwt_secret=JWT_SECRET,
        upload_dir=tmp_path / "uploads",
        db_pool_size=2,
        max_logo_bytes=256 * 1024,
    )


@pytest.fixture
async def api(config):
    async with falcon.testing.ASGIConductor(create_app(config)) as conductor:
        yield Api(conductor)


@pytest.fixture
async def lab(api) -> dict:
    """A small inventory: two brands, four device types, one 12U rack, cables."""
    ubi = await api.create("/api/brands", {"name": "Ubiquiti", "website": "https://ui.com"})
    dell = await api.create("/api/brands", {"name": "Dell"})
    switch = await api.create(
        "/api/device-types",
        {
            "brand_id": ubi["id"],
            "model": "USW-24",
            "category": "switch",
            "u_height": 1,
            "depth_mm": 200,
            "weight_kg": 2.5,
            "power_w": 20,
        },
    )
    server = await api.create(
        "/api/device-types",
        {
            "brand_id": dell["id"],
            "model": "R740",
            "category": "server",
            "u_height": 2,
            "depth_mm": 716,
            "weight_kg": 28.6,
            "power_w": 300,
        },
    )
    small = await api.create(
        "/api/device-types",
        {
            "brand_id": ubi["id"],
            "model": "Tiny 10in",
            "category": "switch",
            "u_height": 1,
            "width_in": 10,
            "weight_kg": 1,
        },
    )
    rack = await api.create(
        "/api/racks",
        {
            "name": "Main",
            "u_height": 12,
            "depth_mm": 800,
            "max_weight_kg": 100,
            "max_power_w": 1000,
        },
    )
    sw = await api.create(
        "/api/devices",
        {"name": "core", "device_type_id": switch["id"], "rack_id": rack["id"], "position_u": 12},
    )
    srv = await api.create(
        "/api/devices",
        {"name": "pve1", "device_type_id": server["id"], "rack_id": rack["id"], "position_u": 1},
    )
    cable = await api.create(
        "/api/connections",
        {"device_a_id": sw["id"], "device_b_id": srv["id"], "cable_type": "cat6", "count": 2},
    )
    return {
        "brands": (ubi, dell),
        "switch": switch,
        "server": server,
        "small": small,
        "rack": rack,
        "sw": sw,
        "srv": srv,
        "cable": cable,
    }


@pytest.fixture
def held_optimizer(monkeypatch, tmp_path):
    """Holds each optimizer run (in its real child process; the real optimizer then runs)
    until ``release.set()``, so a test can act while a run is in flight. ``started``
    counts the runs that began, like a semaphore."""
    gate = tmp_path / "optimizer-gate"
    gate.mkdir()
    monkeypatch.setattr(optimizer, "optimize", functools.partial(optimizer_hold.held, str(gate)))
    hold = optimizer_hold.Gate(gate)
    yield hold
    hold.release.set()
