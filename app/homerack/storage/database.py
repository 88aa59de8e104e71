"""Pony entities, binding, and the migration commands (yoyo-migrations)."""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pony.orm import Database, Optional, PrimaryKey, Required, Set, db_session

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class SchemaError(RuntimeError):
    """The database schema does not match this release."""


def define_entities(db: Database) -> None:
    """Declare the entities on ``db``. Tables come from the migrations, never from Pony."""

    class Brand(db.Entity):
        _table_ = "brand"
        id = PrimaryKey(int, auto=True)
        name = Required(str, 100)
        website = Optional(str, 500)
        logo = Optional(str, 200)
        device_types = Set("DeviceType")

    class DeviceType(db.Entity):
        _table_ = "device_type"
        id = PrimaryKey(int, auto=True)
        brand = Required(Brand, column="brand_id")
        model = Required(str, 100)
        category = Required(str, 32)
        u_height = Required(int)
        width_in = Required(int)
        depth_mm = Optional(int)
        weight_kg = Required(float, default=0.0)
        power_w = Required(float, default=0.0)
        airflow = Required(str, 32)
        port_count = Optional(int)
        devices = Set("Device")

    class Rack(db.Entity):
        _table_ = "rack"
        id = PrimaryKey(int, auto=True)
        name = Required(str, 100)
        location = Optional(str, 200)
        u_height = Required(int)
        width_in = Required(int)
        depth_mm = Optional(int)
        max_weight_kg = Optional(float)
        max_power_w = Optional(float)
        ergonomic_u = Optional(int)
        notes = Optional(str)
        devices = Set("Device")

    class Device(db.Entity):
        _table_ = "device"
        id = PrimaryKey(int, auto=True)
        name = Required(str, 100)
        device_type = Required(DeviceType, column="device_type_id")
        rack = Optional(Rack, column="rack_id")
        position_u = Optional(int)
        locked = Required(bool, default=False)
        access_frequency = Required(str, 16)
        notes = Optional(str)
        connections_a = Set("Connection", reverse="device_a", cascade_delete=True)
        connections_b = Set("Connection", reverse="device_b", cascade_delete=True)

    class Connection(db.Entity):
        _table_ = "connection"
        id = PrimaryKey(int, auto=True)
        device_a = Required(Device, column="device_a_id", reverse="connections_a")
        device_b = Required(Device, column="device_b_id", reverse="connections_b")
        cable_type = Required(str, 16)
        count = Required(int, default=1)
        label = Optional(str, 200)
        notes = Optional(str)

    class User(db.Entity):
        _table_ = "app_user"
        id = PrimaryKey(int, auto=True)
        username = Required(str, 64)
        password_hash = Required(str, 255)
        role = Required(str, 16)
        active = Required(bool, default=True)


def bind_arguments(url: str) -> dict:
    """Pony ``bind()`` arguments for a postgresql:// or sqlite:/// URL."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)[1:]  # sqlite:///rel -> "rel", sqlite:////abs -> "/abs"
        # Pony resolves a relative filename against the calling module's directory;
        # resolve it against the working directory, as yoyo and users expect.
        return {"provider": "sqlite", "filename": str(Path(path).resolve()), "create_db": True}
    return {"provider": "postgres", "dsn": url}


def open_database(url: str) -> Database:
    """A bound, mapped Database. Refuses to run on a schema this release does not know.

    Runs in the calling thread, which keeps the connection it opened; call it from
    a DB pool thread. ``check_tables`` selects every mapped column once, and the
    applied migrations are compared with the shipped ones, so a stale schema stops
    the worker at boot with a clear message instead of failing requests later.
    """
    db = Database()
    define_entities(db)
    db.bind(**bind_arguments(url))
    pending = pending_migrations(db)
    if pending:
        raise SchemaError(
            "the database schema is out of date (pending migrations: "
            f"{', '.join(pending)}); run `homerack db upgrade` first")
    try:
        db.generate_mapping(create_tables=False, check_tables=True)
    except Exception as exc:
        raise SchemaError(f"the database schema does not match this release: {exc}") from exc
    return db


@functools.cache  # the release's files never change under a running process
def shipped_migrations() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in MIGRATIONS_DIR.glob("[0-9]*.py")))


@db_session
def _applied(db: Database) -> set[str]:
    return set(db.select("SELECT migration_id FROM _yoyo_migration"))


def pending_migrations(db: Database) -> list[str]:
    """Shipped migrations not yet applied. Read-only: workers never run DDL."""
    try:
        applied = _applied(db)
    except Exception as exc:
        raise SchemaError(
            f"the database has no HomeRack schema ({exc.__class__.__name__}); "
            "run `homerack db upgrade` first") from exc
    unknown = applied - set(shipped_migrations())
    if unknown:
        raise SchemaError(
            f"the database has migrations this release does not ship: {', '.join(sorted(unknown))}"
            " (a newer release migrated it; roll forward instead)")
    return [m for m in shipped_migrations() if m not in applied]


def _yoyo_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "postgres":
        return "postgresql" + url[len("postgres"):]
    return url


def upgrade(url: str) -> list[str]:
    """Apply pending migrations under yoyo's lock; returns the ids applied."""
    from yoyo import get_backend, read_migrations

    if url.startswith("sqlite:"):
        Path(bind_arguments(url)["filename"]).parent.mkdir(parents=True, exist_ok=True)
    backend = get_backend(_yoyo_url(url))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with backend.lock():
        todo = backend.to_apply(migrations)
        backend.apply_migrations(todo)
    return [m.id for m in todo]
