"""Helpers shared by the units of work: lookups, pagination, layout checks."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..domain.errors import Conflict, NotFound, Problem, ValidationFailed
from ..domain.model import Device, Rack
from ..domain.rules import layout_problems


def get_or_404(entity, ident: int, kind: str, *, for_update: bool = False):
    obj = entity.get_for_update(id=ident) if for_update else entity.get(id=ident)
    if obj is None:
        raise NotFound(kind, ident)
    return obj


def get_or_422(entity, ident: int, kind: str, field: str):
    """A referenced record: a missing one is a bad request field, not a missing route."""
    obj = entity.get(id=ident)
    if obj is None:
        raise ValidationFailed.one(field, f"{kind} {ident} does not exist")
    return obj


def page(query, limit: int, offset: int, to_dict: Callable) -> dict:
    return {
        "items": [to_dict(x) for x in query[offset : offset + limit]],
        "total": query.count(),
        "limit": limit,
        "offset": offset,
    }


def sql_page(
    db,
    *,
    columns: str,
    table: str,
    joins: str,
    where: list[str],
    order: str,
    params: dict,
    limit: int,
    offset: int,
) -> tuple[list[tuple], int]:
    """One page of rows of raw SQL and the count of all rows matching ``where``, in one
    statement: the page is cut from ``table`` alone (aliased as in ``where`` and
    ``order``), then joined, so only its rows meet the joins; the count is an
    uncorrelated subquery, run once. A page past the end asks for the count on its own.
    ``$name`` binds ``params[name]``: the SQL text is the callers' constants only."""
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    alias = table.split()[-1]
    rows = fetch(
        db,
        f"SELECT {columns}, (SELECT count(*) FROM {table}{condition}) "  # noqa: S608
        f"FROM (SELECT {alias}.* FROM {table}{condition} ORDER BY {order} "
        f"LIMIT $limit OFFSET $offset) {alias} {joins} ORDER BY {order}",
        {**params, "limit": limit, "offset": offset},
    )
    if rows:
        return [row[:-1] for row in rows], int(rows[0][-1])
    if offset == 0:
        return [], 0
    total = fetch(db, f"SELECT count(*) FROM {table}{condition}", params)  # noqa: S608
    return [], int(total[0][0])


def fetch(db, sql: str, params: dict) -> list[tuple]:
    """The rows of a raw SELECT as plain tuples (``$name`` binds ``params[name]``), run
    as Pony's ``db.select`` runs it (same session, transaction and error handling).
    ``db.select`` then builds a class per call for rows with named columns: ~150 us of a
    ~300 us list query. Pony's own cursor call is private; without it, ``db.select``."""
    execute = getattr(db, "_exec_raw_sql", None)
    if execute is None:
        return [tuple(row) for row in db.select(sql, params)]
    return execute(sql, params, None, frame_depth=0).fetchall()


def like_pattern(needle: str) -> str:
    """A LIKE pattern (ESCAPE '!') matching ``needle`` anywhere, its wildcards literal."""
    escaped = needle.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def sql_lower(db) -> str:
    """The SQL function that lower-cases text as Python does, as Pony's own queries use:
    SQLite's lower() leaves non-ASCII letters as they are, Pony's py_lower does not."""
    return "py_lower" if db.provider_name == "sqlite" else "lower"


def ensure_unique_name(entity, name: str, kind: str, exclude_id: int | None = None) -> None:
    """Names are unique case-insensitively (the database has the same unique index)."""
    key = name.lower()
    clash = entity.select(lambda e: e.name.lower() == key and e.id != exclude_id).first()
    if clash is not None:
        raise Conflict(f"a {kind} named '{clash.name}' already exists")


# The domain model of a rack and its devices is built here, from the entities, and
# nowhere else (racks.py builds the same from the rows of its joined query).


def rack_model(rack) -> Rack:
    return Rack(
        name=rack.name,
        u_height=rack.u_height,
        width_in=rack.width_in,
        depth_mm=rack.depth_mm,
        max_weight_kg=rack.max_weight_kg,
        max_power_w=rack.max_power_w,
        ergonomic_u=rack.ergonomic_u,
    )


def device_model(device, *, unplaced: bool = False) -> Device:
    """The device with its type's dimensions, at its stored position (``unplaced``: at
    none, e.g. a device the optimizer is to add)."""
    t = device.device_type
    return Device(
        id=device.id,
        name=device.name,
        u_height=t.u_height,
        position_u=None if unplaced else device.position_u,
        width_in=t.width_in,
        depth_mm=t.depth_mm,
        weight_kg=t.weight_kg,
        power_w=t.power_w,
        access=device.access_frequency,
        locked=device.locked,
        category=t.category,
        model=f"{t.brand.name} {t.model}",
    )


def rack_devices(db, rack) -> list:
    """The devices placed in ``rack``, with their types and brands, in one query."""
    Device, DeviceType = db.Device, db.DeviceType
    return (
        Device.select(lambda d: d.rack == rack)
        .order_by(lambda d: (d.position_u, d.id))
        .prefetch(Device.device_type, DeviceType.brand)[:]
    )


def check_rack(db, rack, fields: Mapping[str, str]) -> None:
    """Raise ValidationFailed if the rack's stored layout (pending changes included)
    breaks a rule. ``fields`` names the request field to blame for each problem kind."""
    db.flush()
    problems = layout_problems(rack_model(rack), [device_model(d) for d in rack_devices(db, rack)])
    if problems:
        raise ValidationFailed([Problem(fields.get(p.kind, ""), p.reason) for p in problems])
