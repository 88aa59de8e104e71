"""Fixtures: every API test runs against SQLite and a real PostgreSQL server.

HOMERACK_TEST_POSTGRES is an admin DSN (``make test`` sets it and starts the
server); each test session creates its own database there and drops it at the
end. Without it the PostgreSQL half is skipped locally, and fails under CI.
"""

from __future__ import annotations

import functools
import io
import os
import sqlite3
from urllib.parse import urlsplit

import falcon.testing
import optimizer_hold
import psycopg2
import pytest
from PIL import Image
from scratch_db import pg_exec, scratch_database

from homerack import security
from homerack.api.app import create_app
from homerack.config import Config
from homerack.domain import optimizer
from homerack.storage.database import upgrade

TABLES = ("connection", "device", "device_type", "rack", "brand", "app_user", "logo")
JWT_SECRET = "test-secret-" + "x" * 40


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


# The users the test tokens belong to (ids 1, 2, 3 on a wiped database). Tokens are
# checked against their user on every request: a token of a user that does not exist,
# or has another role, is refused.
TEST_USERS = ("admin", "editor", "viewer")
USER_IDS = {role: i for i, role in enumerate(TEST_USERS, 1)}
_ADD_TEST_USERS = (
    "INSERT INTO app_user (username, password_hash, role, active) VALUES "
    + ", ".join(f"('test-{r}', '!', '{r}', TRUE)" for r in TEST_USERS)
)


def add_test_users(url: str) -> None:
    """The owners of the test tokens (no password: they cannot log in)."""
    if url.startswith("sqlite:"):
        with sqlite3.connect(urlsplit(url).path[1:]) as conn:
            conn.execute(_ADD_TEST_USERS.replace("TRUE", "1"))
        conn.close()
    else:
        pg_exec(url, _ADD_TEST_USERS)


def query(url: str, sql: str) -> list[tuple]:
    """Rows of ``sql`` read straight from the database (what the app stored)."""
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(urlsplit(url).path[1:])
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in cur.fetchall()
            ]
    finally:
        conn.close()


def logo_names(url: str) -> list[str]:
    """The names of the stored logos, sorted."""
    return [name for (name,) in query(url, "SELECT name FROM logo ORDER BY name")]


def wipe(url: str, test_users: bool = True) -> None:
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(urlsplit(url).path[1:])
        with conn:
            for table in TABLES:
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM sqlite_sequence")
        conn.close()
    else:
        pg_exec(url, f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    if test_users:
        add_test_users(url)


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


def token(
    role: str = "admin", user_id: int | None = None, secret: str = JWT_SECRET, epoch: int = 0
) -> str:
    """A token of the test user of ``role`` (or of ``user_id``, a user with that role)."""
    return security.issue_token(secret, user_id or USER_IDS[role], f"test-{role}", role, 600, epoch)


class Api:
    """The ASGI conductor with a bearer token of the chosen role on every call."""

    def __init__(self, conductor):
        self.c = conductor

    def _call(self, method: str, path: str, role: str | None = "admin", **kw):
        headers = dict(kw.pop("headers", {}) or {})
        if role:
            headers.setdefault("Authorization", f"Bearer {token(role)}")
        return self.c.simulate_request(method, path, headers=headers, **kw)

    async def get(self, path, **kw):
        return await self._call("GET", path, **kw)

    async def post(self, path, **kw):
        return await self._call("POST", path, **kw)

    async def put(self, path, **kw):
        return await self._call("PUT", path, **kw)

    async def patch(self, path, **kw):
        return await self._call("PATCH", path, **kw)

    async def delete(self, path, **kw):
        return await self._call("DELETE", path, **kw)

    async def create(self, path: str, body: dict) -> dict:
        result = await self.post(path, json=body)
        assert result.status_code == 201, result.text
        return result.json


def png(color=(200, 30, 30)) -> bytes:
    """A small real PNG, for logo uploads."""
    out = io.BytesIO()
    Image.new("RGB", (32, 16), color).save(out, "PNG")
    return out.getvalue()


def assert_documented(model, doc: dict) -> None:
    """``doc`` (a response body) has exactly the fields of ``model``, the output model
    the OpenAPI document describes it with, and values that model accepts."""
    assert set(doc) == set(model.model_fields), set(doc) ^ set(model.model_fields)
    model.model_validate(doc)


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
