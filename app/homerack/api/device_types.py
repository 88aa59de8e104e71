"""/api/device-types: the device catalog."""

from __future__ import annotations

from ..domain.choices import CATEGORIES
from ..domain.schemas import DeviceType, DeviceTypeIn
from ..storage import catalog
from .common import CATALOG_WRITE, Crud, CrudResource, Filter, crud_routes

CRUD = Crud(
    kind="device type",
    plural="device_types",
    model=DeviceTypeIn,
    list=catalog.list_device_types,
    create=catalog.create_device_type,
    get=catalog.get_device_type,
    update=catalog.update_device_type,
    delete=catalog.delete_device_type,
    filters=(
        Filter("q", str, "model or brand contains (case-insensitive)"),
        Filter("brand_id", int, "only this brand's models"),
        Filter("category", str, "only this category", CATEGORIES),
    ),
    cache="catalog",
    invalidates=CATALOG_WRITE,
    out_model=DeviceType,
)


def routes(rt) -> list[tuple]:
    return crud_routes("/api/device-types", CrudResource(rt.run, rt.cache, CRUD))
