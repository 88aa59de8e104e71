"""Plain helpers of the tests (no fixtures: those live in conftest.py): the test users and
their tokens, direct database reads, an API client with a token, small real images."""

from __future__ import annotations

import io
import sqlite3
from urllib.parse import urlsplit

import psycopg2
from PIL import Image
from scratch_db import pg_exec

from homerack import security

TABLES = ("connection", "device", "device_type", "rack", "brand", "app_user", "logo")
JWT_SECRET = "test-secret-" + "x" * 40

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
