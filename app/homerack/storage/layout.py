"""Units of work behind the optimizer, the cable BOM and the elevation of a rack.

They read the rack into the pure inputs of ``domain.optimizer``, ``domain.bom`` and
``domain.elevation``, and save an optimizer layout. The optimizer itself runs outside
any database session: a long run must not hold a connection or a lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

from pony.orm import db_session

from ..domain.bom import (
    STOCK_LENGTHS_M,
    Bom,
    BomConnection,
    BomDevice,
    bom_csv,
    cable_bom,
    csv_filename,
)
from ..domain.errors import Conflict, Problem, ValidationFailed
from ..domain.optimizer import DeviceSpec, Link, RackSpec
from .common import check_rack, get_or_404, rack_devices
from .connection import read_only


@dataclass(frozen=True)
class Plan:
    """A rack as the optimizer sees it, plus what the response and the SVG need."""

    rack_id: int
    rack_name: str
    rack: RackSpec
    devices: tuple[DeviceSpec, ...]  # placed in the rack first, then the added ones
    links: tuple[Link, ...]
    labels: Mapping[int, dict]  # device id -> name, model, category, u_height
    added_ids: tuple[int, ...]
    version: str  # fingerprint of everything the layout depends on


def _version(rack, devices: Iterable, added: Iterable) -> str:
    """Changes when the rack, a device in it, or the rack of an added device changes."""
    parts = [
        f"rack:{rack.id}:{rack.u_height}:{rack.width_in}:{rack.max_weight_kg}:"
        f"{rack.max_power_w}:{rack.ergonomic_u}"
    ]
    parts += sorted(
        f"d:{d.id}:{d.device_type.id}:{d.position_u}:{d.locked}:{d.access_frequency}"
        for d in devices
    )
    parts += sorted(f"a:{d.id}:{d.rack.id if d.rack else None}" for d in added)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _added_devices(db, rack, ids: Iterable[int], *, for_update: bool = False) -> list:
    found, problems = [], []
    for i, ident in enumerate(ids):
        field = f"add_device_ids[{i}]"
        d = db.Device.get_for_update(id=ident) if for_update else db.Device.get(id=ident)
        if d is None:
            problems.append(Problem(field, f"device {ident} does not exist"))
        elif d.rack == rack:
            problems.append(Problem(field, f"device '{d.name}' is already in this rack"))
        elif d.rack is not None:
            problems.append(
                Problem(
                    field, f"device '{d.name}' is placed in rack '{d.rack.name}'; unplace it first"
                )
            )
        else:
            found.append(d)
    if problems:
        raise ValidationFailed(problems)
    return found


def _spec(d, position_u: int | None) -> DeviceSpec:
    t = d.device_type
    return DeviceSpec(
        id=d.id,
        name=d.name,
        u_height=t.u_height,
        weight_kg=t.weight_kg,
        power_w=t.power_w,
        access=d.access_frequency,
        position_u=position_u,
        locked=d.locked,
        width_in=t.width_in,
        category=t.category,
    )


def _label(d) -> dict:
    t = d.device_type
    return {
        "id": d.id,
        "name": d.name,
        "model": f"{t.brand.name} {t.model}",
        "category": t.category,
        "u_height": t.u_height,
        "position_u": d.position_u,
    }


@read_only
def load_plan(db, rack_id: int, add_device_ids: Iterable[int] = ()) -> Plan:
    rack = get_or_404(db.Rack, rack_id, "rack")
    placed = rack_devices(db, rack)
    added = _added_devices(db, rack, add_device_ids)
    everyone = placed + added
    ids = [d.id for d in everyone]
    links = db.Connection.select(lambda c: c.device_a.id in ids and c.device_b.id in ids).order_by(
        lambda c: c.id
    )[:]
    return Plan(
        rack_id=rack.id,
        rack_name=rack.name,
        rack=RackSpec(
            u_height=rack.u_height,
            width_in=rack.width_in,
            ergonomic_u=rack.ergonomic_u,
            max_weight_kg=rack.max_weight_kg,
            max_power_w=rack.max_power_w,
        ),
        devices=tuple([_spec(d, d.position_u) for d in placed] + [_spec(d, None) for d in added]),
        links=tuple(
            Link(c.device_a.id, c.device_b.id, c.count)
            for c in links
            if c.device_a.id != c.device_b.id
        ),
        labels={d.id: _label(d) for d in everyone},
        added_ids=tuple(d.id for d in added),
        version=_version(rack, placed, added),
    )


@db_session
def apply_plan(
    db, plan: Plan, positions: Mapping[int, int], expected_version: str | None = None
) -> str:
    """Save ``positions`` if the rack still has the layout the plan was made from
    (and ``expected_version``, when given). Returns the new layout version."""
    # The rack row lock serialises this with every write that places a device in it.
    rack = get_or_404(db.Rack, plan.rack_id, "rack", for_update=True)
    placed = db.Device.select(lambda d: d.rack == rack).for_update()[:]
    added = _added_devices(db, rack, plan.added_ids, for_update=True)
    now = _version(rack, placed, added)
    for wanted in {plan.version, expected_version} - {None}:
        if now != wanted:
            raise Conflict(
                "the rack's layout changed since it was optimized; run the "
                "optimizer again and review the new proposal"
            )
    for d in placed + added:
        d.set(rack=rack, position_u=positions[d.id])
    # The optimizer honours every rule; this guards the invariant, it never fires.
    check_rack(db, rack, {})
    return _version(rack, placed, added)


def _rack_bom(db, rack_id: int) -> tuple[object, Bom]:
    """The rack and the cable BOM of its connections."""
    rack = get_or_404(db.Rack, rack_id, "rack")
    placed = rack_devices(db, rack)
    conns = (
        db.Connection.select(lambda c: c.device_a.rack == rack or c.device_b.rack == rack)
        .order_by(lambda c: c.id)
        .prefetch(db.Connection.device_a, db.Connection.device_b)[:]
    )
    devices = {d.id: BomDevice(d.id, d.name, d.device_type.u_height, d.position_u) for d in placed}
    elsewhere: dict[int, str] = {}
    for c in conns:
        for d in (c.device_a, c.device_b):
            if d.id in devices or d.id in elsewhere:
                continue
            if d.rack is None:  # unplaced: listed apart as an "unplaced end"
                devices[d.id] = BomDevice(d.id, d.name, d.device_type.u_height, None)
            else:
                elsewhere[d.id] = f"{d.name} (rack {d.rack.name})"
    bom = cable_bom(
        devices.values(),
        [
            BomConnection(
                c.id,
                c.device_a.id,
                c.device_b.id,
                c.cable_type,
                c.count,
                c.label or None,
                elsewhere.get(c.device_a.id),
                elsewhere.get(c.device_b.id),
            )
            for c in conns
        ],
        width_in=rack.width_in,
    )
    return rack, bom


@read_only
def rack_bom(db, rack_id: int) -> dict:
    rack, bom = _rack_bom(db, rack_id)
    return {
        "rack_id": rack.id,
        "rack": rack.name,
        "width_in": rack.width_in,
        **asdict(bom),
        "stock_lengths_m": {k: list(v) for k, v in STOCK_LENGTHS_M.items()},
    }


@read_only
def rack_bom_csv(db, rack_id: int) -> tuple[str, str]:
    """The file name and the text of the BOM as CSV."""
    rack, bom = _rack_bom(db, rack_id)
    return csv_filename(rack.name), bom_csv(bom)


@read_only
def rack_elevation(db, rack_id: int, extra_ids: Iterable[int] = ()) -> dict:
    """The rack and the devices to draw: those in it and, for a proposal, unplaced ones."""
    rack = get_or_404(db.Rack, rack_id, "rack")
    devices = [_label(d) for d in rack_devices(db, rack)]
    known = {d["id"] for d in devices}
    for ident in extra_ids:
        if ident in known:
            continue
        d = db.Device.get(id=ident)
        if d is None or d.rack is not None:
            raise ValidationFailed.one(
                "positions", f"device {ident} is neither in this rack nor unplaced"
            )
        devices.append(_label(d))
    return {
        "name": rack.name,
        "u_height": rack.u_height,
        "width_in": rack.width_in,
        "devices": devices,
    }
