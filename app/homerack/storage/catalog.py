"""Units of work for brands and device types (the catalog)."""

from __future__ import annotations

from pony.orm import db_session

from ..domain.errors import Conflict
from ..domain.schemas import BrandIn, DeviceTypeIn, merge
from . import logos
from .common import check_rack, ensure_unique_name, get_or_404, get_or_422, page
from .connection import read_only


def brand_dict(b) -> dict:
    return {"id": b.id, "name": b.name, "website": b.website, "logo_url": b.logo or None}


def device_type_dict(t) -> dict:
    return {
        "id": t.id,
        "brand_id": t.brand.id,
        "brand": t.brand.name,
        "model": t.model,
        "category": t.category,
        "u_height": t.u_height,
        "width_in": t.width_in,
        "depth_mm": t.depth_mm,
        "weight_kg": t.weight_kg,
        "power_w": t.power_w,
        "airflow": t.airflow,
        "port_count": t.port_count,
    }


# -- brands -------------------------------------------------------------------


@read_only
def list_brands(db, limit: int, offset: int, q: str | None = None) -> dict:
    query = db.Brand.select()
    if q:
        needle = q.lower()
        query = query.filter(lambda b: needle in b.name.lower())
    return page(query.order_by(lambda b: (b.name, b.id)), limit, offset, brand_dict)


@read_only
def get_brand(db, brand_id: int) -> dict:
    return brand_dict(get_or_404(db.Brand, brand_id, "brand"))


@db_session
def create_brand(db, data: BrandIn) -> dict:
    ensure_unique_name(db.Brand, data.name, "brand")
    brand = db.Brand(**data.model_dump())
    db.flush()
    return brand_dict(brand)


@db_session
def update_brand(db, brand_id: int, patch: dict) -> dict:
    brand = get_or_404(db.Brand, brand_id, "brand")
    data = merge(BrandIn, {"name": brand.name, "website": brand.website}, patch)
    ensure_unique_name(db.Brand, data.name, "brand", exclude_id=brand.id)
    brand.set(**data.model_dump())
    return brand_dict(brand)


@db_session
def delete_brand(db, brand_id: int) -> None:
    """Delete a brand that no device type uses, and its logo unless another brand shares it."""
    brand = get_or_404(db.Brand, brand_id, "brand")
    used = brand.device_types.count()
    if used:
        raise Conflict(
            f"brand '{brand.name}' is still used by {used} device type(s); "
            "delete or reassign them first"
        )
    logo = brand.logo
    brand.delete()
    logos.release(db, logo)


@db_session
def set_logo(db, brand_id: int, logo: tuple[str, bytes] | None) -> dict:
    """Give the brand the logo ``(name, sanitized bytes)``, or none; the old logo goes
    unless another brand shares it (logos are content-addressed). One transaction."""
    brand = get_or_404(db.Brand, brand_id, "brand")
    old = brand.logo
    brand.logo = logos.keep(db, *logo) if logo else ""
    if old != brand.logo:
        logos.release(db, old)
    return brand_dict(brand)


@read_only
def brand_exists(db, brand_id: int) -> bool:
    return db.Brand.exists(id=brand_id)


# -- device types -------------------------------------------------------------


def _ensure_unique_model(db, brand, model: str, exclude_id: int | None = None) -> None:
    key = model.lower()
    clash = db.DeviceType.select(
        lambda t: t.brand == brand and t.model.lower() == key and t.id != exclude_id
    ).first()
    if clash is not None:
        raise Conflict(f"brand '{brand.name}' already has a model named '{clash.model}'")


@read_only
def list_device_types(
    db,
    limit: int,
    offset: int,
    q: str | None = None,
    brand_id: int | None = None,
    category: str | None = None,
) -> dict:
    DeviceType = db.DeviceType
    query = DeviceType.select()
    if brand_id is not None:
        query = query.filter(lambda t: t.brand.id == brand_id)
    if category:
        query = query.filter(lambda t: t.category == category)
    if q:
        needle = q.lower()
        query = query.filter(lambda t: needle in t.model.lower() or needle in t.brand.name.lower())
    query = query.prefetch(DeviceType.brand).order_by(lambda t: (t.brand.name, t.model, t.id))
    return page(query, limit, offset, device_type_dict)


@read_only
def get_device_type(db, type_id: int) -> dict:
    return device_type_dict(get_or_404(db.DeviceType, type_id, "device type"))


@db_session
def create_device_type(db, data: DeviceTypeIn) -> dict:
    values = data.model_dump()
    brand = get_or_422(db.Brand, values.pop("brand_id"), "brand", "brand_id")
    _ensure_unique_model(db, brand, data.model)
    device_type = db.DeviceType(brand=brand, **values)
    db.flush()
    return device_type_dict(device_type)


_TYPE_FIELDS = {
    "outside": "u_height",
    "overlap": "u_height",
    "width": "width_in",
    "depth": "depth_mm",
    "weight": "weight_kg",
    "power": "power_w",
}


@db_session
def update_device_type(db, type_id: int, patch: dict) -> dict:
    device_type = get_or_404(db.DeviceType, type_id, "device type")
    current = device_type_dict(device_type)
    current = {k: current[k] for k in DeviceTypeIn.model_fields}
    data = merge(DeviceTypeIn, current, patch)
    values = data.model_dump()
    brand = get_or_422(db.Brand, values.pop("brand_id"), "brand", "brand_id")
    _ensure_unique_model(db, brand, data.model, exclude_id=device_type.id)
    # Lock every rack holding this type: a new size or weight must fit all of them.
    rack_ids = {d.rack.id for d in device_type.devices if d.rack is not None}
    racks = db.Rack.select(lambda r: r.id in rack_ids).for_update()[:] if rack_ids else []
    device_type.set(brand=brand, **values)
    for rack in racks:
        check_rack(db, rack, _TYPE_FIELDS)
    return device_type_dict(device_type)


@db_session
def delete_device_type(db, type_id: int) -> None:
    device_type = get_or_404(db.DeviceType, type_id, "device type")
    used = device_type.devices.count()
    if used:
        raise Conflict(f"device type '{device_type.model}' is still used by {used} device(s)")
    device_type.delete()
