"""Units of work for racks."""

from __future__ import annotations

from pony.orm import db_session

from ..domain.errors import Conflict
from ..domain.rules import utilization
from ..domain.schemas import RackIn, merge
from .common import (
    check_rack,
    ensure_unique_name,
    get_or_404,
    page,
    placed,
    rack_devices,
    rack_info,
)

_RACK_FIELDS = tuple(RackIn.model_fields)


def rack_dict(r) -> dict:
    return {"id": r.id, **{f: getattr(r, f) for f in _RACK_FIELDS}}


def placed_device_dict(d) -> dict:
    t = d.device_type
    return {
        "id": d.id, "name": d.name, "position_u": d.position_u,
        "top_u": d.position_u + t.u_height - 1, "locked": d.locked,
        "access_frequency": d.access_frequency, "notes": d.notes,
        "device_type_id": t.id, "brand": t.brand.name, "model": t.model,
        "category": t.category, "u_height": t.u_height, "width_in": t.width_in,
        "depth_mm": t.depth_mm, "weight_kg": t.weight_kg, "power_w": t.power_w,
        "airflow": t.airflow,
    }


@db_session
def list_racks(db, limit: int, offset: int, q: str | None = None,
               location: str | None = None) -> dict:
    query = db.Rack.select()
    if q:
        needle = q.lower()
        query = query.filter(lambda r: needle in r.name.lower())
    if location:
        where = location.lower()
        query = query.filter(lambda r: r.location.lower() == where)
    return page(query.order_by(lambda r: (r.name, r.id)), limit, offset, rack_dict)


@db_session
def get_rack(db, rack_id: int) -> dict:
    """The rack with its placed devices (top first, like an elevation) and its utilization."""
    rack = get_or_404(db.Rack, rack_id, "rack")
    devices = rack_devices(db, rack)
    return {
        **rack_dict(rack),
        "devices": [placed_device_dict(d) for d in reversed(devices)],
        "utilization": utilization(rack_info(rack), [placed(d) for d in devices]),
    }


@db_session
def create_rack(db, data: RackIn) -> dict:
    ensure_unique_name(db.Rack, data.name, "rack")
    rack = db.Rack(**data.model_dump())
    db.flush()
    return rack_dict(rack)


_RACK_PROBLEM_FIELDS = {"outside": "u_height", "overlap": "u_height", "width": "width_in",
                        "depth": "depth_mm", "weight": "max_weight_kg", "power": "max_power_w"}


@db_session
def update_rack(db, rack_id: int, patch: dict) -> dict:
    rack = get_or_404(db.Rack, rack_id, "rack", for_update=True)
    data = merge(RackIn, {f: getattr(rack, f) for f in _RACK_FIELDS}, patch)
    ensure_unique_name(db.Rack, data.name, "rack", exclude_id=rack.id)
    rack.set(**data.model_dump())
    # A smaller, narrower or lighter rack must still hold what is in it.
    check_rack(db, rack, _RACK_PROBLEM_FIELDS)
    return rack_dict(rack)


@db_session
def delete_rack(db, rack_id: int) -> None:
    rack = get_or_404(db.Rack, rack_id, "rack")
    held = rack.devices.count()
    if held:
        raise Conflict(f"rack '{rack.name}' still holds {held} device(s); move or unplace "
                       "them first")
    rack.delete()
