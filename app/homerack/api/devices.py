"""/api/devices and /api/connections (cables between devices)."""

from __future__ import annotations

from ..domain.choices import CABLE_TYPES
from ..domain.schemas import Connection, ConnectionIn, Device, DeviceIn
from ..storage import devices
from .common import RACKS_WRITE, Crud, CrudResource, Filter, crud_routes

DEVICES = Crud(
    kind="device",
    plural="devices",
    model=DeviceIn,
    list=devices.list_devices,
    create=devices.create_device,
    get=devices.get_device,
    update=devices.update_device,
    delete=devices.delete_device,
    filters=(
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
    kind="connection",
    plural="connections",
    model=ConnectionIn,
    list=devices.list_connections,
    create=devices.create_connection,
    get=devices.get_connection,
    update=devices.update_connection,
    delete=devices.delete_connection,
    filters=(
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
        *crud_routes("/api/devices", CrudResource(rt.run, rt.cache, DEVICES)),
        *crud_routes("/api/connections", CrudResource(rt.run, rt.cache, CONNECTIONS)),
    ]
