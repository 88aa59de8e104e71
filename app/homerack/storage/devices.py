"""Units of work for devices and the connections (cables) between them."""

from __future__ import annotations

from pony.orm import db_session

from ..domain.errors import ValidationFailed
from ..domain.schemas import ConnectionIn, DeviceIn, merge
from .common import (
    check_rack,
    ensure_unique_name,
    get_or_404,
    get_or_422,
    like_pattern,
    sql_lower,
    sql_page,
)
from .connection import read_only

_DEVICE_FIELDS = {
    "outside": "position_u",
    "overlap": "position_u",
    "width": "device_type_id",
    "depth": "device_type_id",
    "weight": "rack_id",
    "power": "rack_id",
}


def device_dict(d) -> dict:
    t = d.device_type
    return {
        "id": d.id,
        "name": d.name,
        "device_type_id": t.id,
        "brand_id": t.brand.id,
        "brand": t.brand.name,
        "logo_url": t.brand.logo or None,
        "model": t.model,
        "category": t.category,
        "u_height": t.u_height,
        "rack_id": d.rack.id if d.rack else None,
        "position_u": d.position_u,
        "locked": d.locked,
        "access_frequency": d.access_frequency,
        "notes": d.notes,
        "serial_number": d.serial_number,
        "management_url": d.management_url,
    }


def _device_input(d) -> dict:
    return {
        "name": d.name,
        "device_type_id": d.device_type.id,
        "rack_id": d.rack.id if d.rack else None,
        "position_u": d.position_u,
        "locked": d.locked,
        "access_frequency": d.access_frequency,
        "notes": d.notes,
        "serial_number": d.serial_number,
        "management_url": d.management_url,
    }


# Lists read joined rows straight into dicts (as a rack's detail does): materialising
# 50 devices with their types and brands as Pony entities took 4 queries and most of a
# request's time. Same filters and order as the entities' query had; Pony's own
# translation of a name search is kept (lower-cased, LIKE with escaped wildcards). Every
# filter is on the device's own columns, so the page is cut before the joins.
_DEVICE_COLUMNS = (
    "d.id, d.name, t.id, b.id, b.name, b.logo, t.model, t.category, t.u_height, d.rack_id, "
    "d.position_u, d.locked, d.access_frequency, d.notes, d.serial_number, d.management_url"
)
_DEVICE_JOINS = "JOIN device_type t ON t.id = d.device_type_id JOIN brand b ON b.id = t.brand_id"
_DEVICE_KEYS = (
    "id",
    "name",
    "device_type_id",
    "brand_id",
    "brand",
    "logo_url",
    "model",
    "category",
    "u_height",
    "rack_id",
    "position_u",
    "locked",
    "access_frequency",
    "notes",
    "serial_number",
    "management_url",
)


@read_only
def list_devices(
    db,
    limit: int,
    offset: int,
    q: str | None = None,
    rack_id: int | None = None,
    device_type_id: int | None = None,
    placed: bool | None = None,
) -> dict:
    """Devices by name (then id), as ``device_dict`` shows them."""
    where: list[str] = []
    params: dict[str, object] = {}
    if q:
        where.append(f"{sql_lower(db)}(d.name) LIKE $pattern ESCAPE '!'")
        params["pattern"] = like_pattern(q.lower())
    if rack_id is not None:
        where.append("d.rack_id = $rack_id")
        params["rack_id"] = rack_id
    if device_type_id is not None:
        where.append("d.device_type_id = $device_type_id")
        params["device_type_id"] = device_type_id
    if placed is True:
        where.append("d.rack_id IS NOT NULL")
    elif placed is False:
        where.append("d.rack_id IS NULL")
    rows, total = sql_page(
        db,
        columns=_DEVICE_COLUMNS,
        table="device d",
        joins=_DEVICE_JOINS,
        where=where,
        order="d.name, d.id",
        params=params,
        limit=limit,
        offset=offset,
    )
    items = []
    for row in rows:
        d = dict(zip(_DEVICE_KEYS, row, strict=True))
        d["logo_url"] = d["logo_url"] or None  # stored as "" when the brand has none
        d["locked"] = bool(d["locked"])  # an integer in SQLite
        items.append(d)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@read_only
def get_device(db, device_id: int) -> dict:
    return device_dict(get_or_404(db.Device, device_id, "device"))


def _store_device(db, device, data: DeviceIn):
    """Create (device None) or update a device from validated input, then check its rack."""
    values = data.model_dump()
    device_type = get_or_422(
        db.DeviceType, values.pop("device_type_id"), "device type", "device_type_id"
    )
    rack_id = values.pop("rack_id")
    if (rack_id is None) != (data.position_u is None):
        field = "position_u" if rack_id is not None else "rack_id"
        raise ValidationFailed.one(
            field,
            "rack_id and position_u go together: set both to "
            "place the device, or both to null to unplace it",
        )
    # Lock the target rack so two concurrent placements cannot both pass the overlap check.
    rack = None
    if rack_id is not None:
        rack = db.Rack.get_for_update(id=rack_id)
        if rack is None:
            raise ValidationFailed.one("rack_id", f"rack {rack_id} does not exist")
    ensure_unique_name(db.Device, data.name, "device", exclude_id=device.id if device else None)
    if device is None:
        device = db.Device(device_type=device_type, rack=rack, **values)
    else:
        device.set(device_type=device_type, rack=rack, **values)
    if rack is not None:
        check_rack(db, rack, _DEVICE_FIELDS)
    db.flush()
    return device_dict(device)


@db_session
def create_device(db, data: DeviceIn) -> dict:
    return _store_device(db, None, data)


@db_session
def update_device(db, device_id: int, patch: dict) -> dict:
    device = get_or_404(db.Device, device_id, "device")
    return _store_device(db, device, merge(DeviceIn, _device_input(device), patch))


@db_session
def delete_device(db, device_id: int) -> None:
    """Delete a device and the cables attached to it."""
    get_or_404(db.Device, device_id, "device").delete()


# -- connections --------------------------------------------------------------


def connection_dict(c) -> dict:
    return {
        "id": c.id,
        "device_a_id": c.device_a.id,
        "device_a": c.device_a.name,
        "device_b_id": c.device_b.id,
        "device_b": c.device_b.name,
        "cable_type": c.cable_type,
        "count": c.count,
        "label": c.label,
        "notes": c.notes,
    }


def _connection_input(c) -> dict:
    return {
        "device_a_id": c.device_a.id,
        "device_b_id": c.device_b.id,
        "cable_type": c.cable_type,
        "count": c.count,
        "label": c.label,
        "notes": c.notes,
    }


_CONNECTION_COLUMNS = 'c.id, a.id, a.name, b.id, b.name, c.cable_type, c."count", c.label, c.notes'
_CONNECTION_JOINS = "JOIN device a ON a.id = c.device_a_id JOIN device b ON b.id = c.device_b_id"
_CONNECTION_KEYS = (
    "id",
    "device_a_id",
    "device_a",
    "device_b_id",
    "device_b",
    "cable_type",
    "count",
    "label",
    "notes",
)


@read_only
def list_connections(
    db,
    limit: int,
    offset: int,
    device_id: int | None = None,
    rack_id: int | None = None,
    cable_type: str | None = None,
) -> dict:
    """Cables by id, as ``connection_dict`` shows them (joined rows, as list_devices)."""
    where: list[str] = []
    params: dict[str, object] = {}
    if device_id is not None:
        where.append("(c.device_a_id = $device_id OR c.device_b_id = $device_id)")
        params["device_id"] = device_id
    if rack_id is not None:
        where.append(
            "(c.device_a_id IN (SELECT id FROM device WHERE rack_id = $rack_id)"
            " OR c.device_b_id IN (SELECT id FROM device WHERE rack_id = $rack_id))"
        )
        params["rack_id"] = rack_id
    if cable_type:
        where.append("c.cable_type = $cable_type")
        params["cable_type"] = cable_type
    rows, total = sql_page(
        db,
        columns=_CONNECTION_COLUMNS,
        table="connection c",
        joins=_CONNECTION_JOINS,
        where=where,
        order="c.id",
        params=params,
        limit=limit,
        offset=offset,
    )
    items = [dict(zip(_CONNECTION_KEYS, row, strict=True)) for row in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@read_only
def get_connection(db, connection_id: int) -> dict:
    return connection_dict(get_or_404(db.Connection, connection_id, "connection"))


def _store_connection(db, connection, data: ConnectionIn) -> dict:
    values = data.model_dump()
    if data.device_a_id == data.device_b_id:
        raise ValidationFailed.one("device_b_id", "a cable needs two different devices")
    a = get_or_422(db.Device, values.pop("device_a_id"), "device", "device_a_id")
    b = get_or_422(db.Device, values.pop("device_b_id"), "device", "device_b_id")
    if connection is None:
        connection = db.Connection(device_a=a, device_b=b, **values)
    else:
        connection.set(device_a=a, device_b=b, **values)
    db.flush()
    return connection_dict(connection)


@db_session
def create_connection(db, data: ConnectionIn) -> dict:
    return _store_connection(db, None, data)


@db_session
def update_connection(db, connection_id: int, patch: dict) -> dict:
    connection = get_or_404(db.Connection, connection_id, "connection")
    return _store_connection(
        db, connection, merge(ConnectionIn, _connection_input(connection), patch)
    )


@db_session
def delete_connection(db, connection_id: int) -> None:
    get_or_404(db.Connection, connection_id, "connection").delete()
