"""Scratch PostgreSQL databases for tests: created on the real server HOMERACK_TEST_POSTGRES
names (an admin DSN), dropped afterwards whatever happened."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import psycopg2


def with_dbname(dsn: str, name: str) -> str:
    """``dsn`` pointed at database ``name`` (query parameters such as host kept)."""
    head, sep, query = dsn.partition("?")
    return head[: head.rindex("/") + 1] + name + sep + query


def pg_exec(dsn: str, sql: str) -> None:
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        conn.cursor().execute(sql)
    finally:
        conn.close()


@contextlib.contextmanager
def scratch_database(admin_dsn: str, prefix: str = "homerack_test") -> Iterator[str]:
    """An empty database of its own; yields its DSN."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    pg_exec(admin_dsn, f"CREATE DATABASE {name}")
    try:
        yield with_dbname(admin_dsn, name)
    finally:
        pg_exec(admin_dsn, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
