"""Pony entities, binding, and the migration commands (yoyo-migrations)."""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from pony.orm import Database, Optional, PrimaryKey, Required, Set

from . import connection
from .connection import read_only
from .schema import SchemaStatus, classify, declared_kind

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Each applied migration's kind (expand/contract), written by `upgrade` so that an older
# release can tell whether it may run on migrations it does not ship (see schema.py).
COMPAT_TABLE = "homerack_migration_compat"
_COMPAT_DDL = """CREATE TABLE IF NOT EXISTS homerack_migration_compat (
    migration_id VARCHAR(255) PRIMARY KEY,
    kind VARCHAR(16) NOT NULL CHECK (kind IN ('expand', 'contract'))
)"""
_COMPAT_UPSERT = (
    "INSERT INTO homerack_migration_compat (migration_id, kind) VALUES (:id, :kind) "
    "ON CONFLICT (migration_id) DO UPDATE SET kind = excluded.kind"
)
_COMPAT_SELECT = "SELECT migration_id, kind FROM homerack_migration_compat"

log = logging.getLogger("homerack.schema")
# Seconds libpq waits for a connection (when the URL does not say): an unreachable host
# fails a unit of work in this time instead of the kernel's TCP timeout (minutes).
CONNECT_TIMEOUT_S = 5


class SchemaError(RuntimeError):
    """The database schema does not match this release."""


class IncompatibleSchema(SchemaError):
    """A newer release applied migrations this one cannot run on."""


def incompatible_message(status: SchemaStatus) -> str:
    names = ", ".join(status.incompatible)
    return (
        f"the database has migrations this release cannot run on: {names} (applied by "
        "a newer release and not recorded as expand-only); roll forward to that release, "
        f"or restore a backup taken before {status.incompatible[0]}"
    )


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
        serial_number = Optional(str, 100)  # 0002
        management_url = Optional(str, 500)  # 0002
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
        token_epoch = Required(int, default=0)  # 0003: bumped to revoke the user's tokens

    class Logo(db.Entity):  # 0004: brand logos, shared by every brand with the same bytes
        _table_ = "logo"
        name = PrimaryKey(str, 80)  # <sha256>.<ext>, the last part of brand.logo
        media_type = Required(str, 32)
        size = Required(int)
        data = Required(bytes)
        created_at = Required(datetime)


def bind_arguments(url: str) -> dict:
    """Pony ``bind()`` arguments for a postgresql:// or sqlite:/// URL."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)[1:]  # sqlite:///rel -> "rel", sqlite:////abs -> "/abs"
        # Pony resolves a relative filename against the calling module's directory;
        # resolve it against the working directory, as yoyo and users expect.
        return {"provider": "sqlite", "filename": str(Path(path).resolve()), "create_db": True}
    args: dict[str, str | int] = {"provider": "postgres", "dsn": url}
    if "connect_timeout" not in parse_qs(parts.query):
        args["connect_timeout"] = CONNECT_TIMEOUT_S
    return args


def open_database(url: str) -> Database:
    """A bound, mapped Database. Refuses to run on a schema this release cannot use.

    Runs in the calling thread, which keeps the connection it opened; call it from
    a DB pool thread. ``check_tables`` selects every mapped column once, and the
    applied migrations are compared with the shipped ones, so a stale schema, or one a
    newer release contracted, stops the worker at boot with a clear message instead of
    failing requests later. A schema ahead by expand-only migrations is accepted.
    """
    db = Database()
    define_entities(db)
    connection.before_bind(db)
    db.bind(**bind_arguments(url))
    connection.after_bind(db)
    pending = pending_migrations(db)
    if pending:
        raise SchemaError(
            "the database schema is out of date (pending migrations: "
            f"{', '.join(pending)}); run `homerack db upgrade` first"
        )
    try:
        db.generate_mapping(create_tables=False, check_tables=True)
    except Exception as exc:
        raise SchemaError(f"the database schema does not match this release: {exc}") from exc
    return db


@functools.cache  # the release's files never change under a running process
def shipped_migrations() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in MIGRATIONS_DIR.glob("[0-9]*.py")))


def _has_table(db: Database, name: str) -> bool:
    if db.provider_name == "sqlite":
        sql = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $name"
    else:
        sql = "SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = $name"
    return db.select(sql, {"name": name})[0] > 0


@read_only
def schema_status(db: Database) -> SchemaStatus:
    """Applied vs shipped migrations and the recorded kinds. Read-only: workers never
    run DDL. A database without yoyo's table has every shipped migration pending."""
    if not _has_table(db, "_yoyo_migration"):
        return classify(shipped_migrations(), (), {}, has_schema=False)
    applied = db.select("SELECT migration_id FROM _yoyo_migration")
    kinds = dict(db.select(_COMPAT_SELECT)) if _has_table(db, COMPAT_TABLE) else {}
    return classify(shipped_migrations(), applied, kinds)


_warned_ahead: set[tuple[str, ...]] = set()


@read_only
def pending_migrations(db: Database) -> list[str]:
    """Shipped migrations not yet applied. Raises SchemaError when this release cannot
    run on the database at all: no schema, or ahead by a migration not expand-only."""
    status = schema_status(db)
    if not status.has_schema:
        raise SchemaError(
            "the database has no HomeRack schema (no migrations table); "
            "run `homerack db upgrade` first"
        )
    if status.incompatible:
        raise IncompatibleSchema(incompatible_message(status))
    if status.ahead and status.ahead not in _warned_ahead:
        # Normal during a rolling update or after a rollback; worth one line, not one per
        # readiness probe.
        _warned_ahead.add(status.ahead)
        log.warning(
            "the database is ahead of this release by %s (expand-only, compatible); running on it",
            ", ".join(status.ahead),
            extra={"ahead": status.ahead},
        )
    return list(status.pending)


def _yoyo_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "postgres":
        return "postgresql" + url[len("postgres") :]
    return url


def upgrade(url: str, migrations_dir: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations under yoyo's lock; returns the ids applied.

    Refuses (IncompatibleSchema) a database a newer release contracted: applying this
    release's migrations would not make it able to run there. Before applying, records
    the kind of every shipped migration, so a later rollback to an older release can
    tell whether it may run on this schema.
    """
    from yoyo import get_backend, read_migrations

    if url.startswith("sqlite:"):
        Path(bind_arguments(url)["filename"]).parent.mkdir(parents=True, exist_ok=True)
    backend = get_backend(_yoyo_url(url))
    migrations = read_migrations(str(migrations_dir))
    kinds = {}
    for m in migrations:
        m.load()
        kinds[m.id] = declared_kind(m.module, m.id)
    with backend.lock():
        backend.ensure_internal_schema_updated()
        with backend.transaction():
            applied = [
                row[0]
                for row in backend.execute("SELECT migration_id FROM _yoyo_migration").fetchall()
            ]
            recorded = (
                dict(backend.execute(_COMPAT_SELECT).fetchall())
                if COMPAT_TABLE in backend.list_tables()
                else {}
            )
        status = classify(kinds, applied, recorded)
        if status.incompatible:
            raise IncompatibleSchema(incompatible_message(status))
        # Recorded before applying: an applied migration without its record cannot
        # happen (a record for one that then failed is harmless: only applied ones count).
        with backend.transaction():
            backend.execute(_COMPAT_DDL)
            for migration_id, kind in kinds.items():
                backend.execute(_COMPAT_UPSERT, {"id": migration_id, "kind": kind})
        todo = backend.to_apply(migrations)
        backend.apply_migrations(todo)
    return [m.id for m in todo]
