"""/api/device-types: the device catalog."""

from __future__ import annotations

from ..domain.choices import CATEGORIES
from ..domain.schemas import DeviceType, DeviceTypeIn
from ..storage import catalog
from .common import CATALOG_WRITE, Crud, Filter, crud_routes

CRUD = Crud(
    "device type",
    "device_types",
    DeviceTypeIn,
    catalog.list_device_types,
    catalog.create_device_type,
    catalog.get_device_type,
    catalog.update_device_type,
    catalog.delete_device_type,
    (
        Filter("q", str, "model or brand contains (case-insensitive)"),
        Filter("brand_id", int, "only this brand's models"),
        Filter("category", str, "only this category", CATEGORIES),
    ),
    cache="catalog",
    invalidates=CATALOG_WRITE,
    out_model=DeviceType,
)


def routes(rt) -> list[tuple]:
    return crud_routes(rt, "/api/device-types", CRUD)
