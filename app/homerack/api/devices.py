"""/api/devices and /api/connections (cables between devices)."""

from __future__ import annotations

from ..domain.choices import CABLE_TYPES
from ..domain.schemas import Connection, ConnectionIn, Device, DeviceIn
from ..storage import devices
from .common import RACKS_WRITE, Crud, Filter, crud_routes

DEVICES = Crud(
    "device",
    "devices",
    DeviceIn,
    devices.list_devices,
    devices.create_device,
    devices.get_device,
    devices.update_device,
    devices.delete_device,
    (
        Filter("q", str, "name contains (case-insensitive)"),
        Filter("rack_id", int, "only devices in this rack"),
        Filter("device_type_id", int, "only devices of this type"),
        Filter("placed", bool, "true: only placed devices; false: only unplaced"),
    ),
    cache="racks",
    invalidates=RACKS_WRITE,
    out_model=Device,
)

CONNECTIONS = Crud(
    "connection",
    "connections",
    ConnectionIn,
    devices.list_connections,
    devices.create_connection,
    devices.get_connection,
    devices.update_connection,
    devices.delete_connection,
    (
        Filter("device_id", int, "cables with this device at either end"),
        Filter("rack_id", int, "cables with an end in this rack"),
        Filter("cable_type", str, "only this cable type", CABLE_TYPES),
    ),
    cache="racks",
    invalidates=RACKS_WRITE,
    out_model=Connection,
)


def routes(rt) -> list[tuple]:
    return [
        *crud_routes(rt, "/api/devices", DEVICES),
        *crud_routes(rt, "/api/connections", CONNECTIONS),
    ]
