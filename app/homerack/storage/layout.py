"""Units of work behind the optimizer, the cable BOM and the elevation of a rack.

They read the rack into the pure inputs of ``domain.optimizer``, ``domain.bom`` and
``domain.elevation``, and save an optimizer layout. The optimizer itself runs outside
any database session: a long run must not hold a connection or a lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pony.orm import db_session

from ..domain.bom import STOCK_LENGTHS_M, Bom, BomConnection, bom_csv, cable_bom, csv_filename
from ..domain.errors import Conflict, Problem, ValidationFailed
from ..domain.model import Device, Rack
from ..domain.optimizer import Link
from .common import check_rack, device_model, get_or_404, rack_devices, rack_model
from .connection import read_only


@dataclass(frozen=True)
class Plan:
    """A rack as the optimizer sees it, plus what the response and the SVG need."""

    rack_id: int
    rack: Rack
    devices: tuple[Device, ...]  # placed in the rack first, then the added ones
    links: tuple[Link, ...]
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
        rack=rack_model(rack),
        devices=tuple(
            [device_model(d) for d in placed] + [device_model(d, unplaced=True) for d in added]
        ),
        links=tuple(
            Link(c.device_a.id, c.device_b.id, c.count)
            for c in links
            if c.device_a.id != c.device_b.id
        ),
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


def _rack_bom(db, rack_id: int) -> tuple[Any, Bom]:  # (the Pony rack, its BOM)
    """The rack and the cable BOM of its connections."""
    rack = get_or_404(db.Rack, rack_id, "rack")
    placed = rack_devices(db, rack)
    conns = (
        db.Connection.select(lambda c: c.device_a.rack == rack or c.device_b.rack == rack)
        .order_by(lambda c: c.id)
        .prefetch(db.Connection.device_a, db.Connection.device_b)[:]
    )
    devices = {d.id: device_model(d) for d in placed}
    elsewhere: dict[int, str] = {}
    for c in conns:
        for d in (c.device_a, c.device_b):
            if d.id in devices or d.id in elsewhere:
                continue
            if d.rack is None:  # unplaced: listed apart as an "unplaced end"
                devices[d.id] = device_model(d, unplaced=True)
            else:
                elsewhere[d.id] = f"{d.name} (rack {d.rack.name})"
    bom = cable_bom(
        rack_model(rack),
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
def rack_elevation(db, rack_id: int, extra_ids: Iterable[int] = ()) -> tuple[Rack, list[Device]]:
    """The rack and the devices to draw: those in it and, for a proposal, unplaced ones."""
    rack = get_or_404(db.Rack, rack_id, "rack")
    devices = [device_model(d) for d in rack_devices(db, rack)]
    known = {d.id for d in devices}
    for ident in extra_ids:
        if ident in known:
            continue
        d = db.Device.get(id=ident)
        if d is None or d.rack is not None:
            raise ValidationFailed.one(
                "positions", f"device {ident} is neither in this rack nor unplaced"
            )
        devices.append(device_model(d))
    return rack_model(rack), devices
