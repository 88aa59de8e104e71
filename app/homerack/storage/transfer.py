"""Export and atomic import of the whole inventory as one JSON document."""

from __future__ import annotations

from datetime import UTC, datetime

from pony.orm import db_session

from .. import __version__
from ..domain.errors import Problem, Problems
from ..domain.rules import layout_problems
from ..domain.schemas import INVENTORY_VERSION, InventoryDoc
from .common import device_model, rack_devices, rack_model
from .connection import read_only
from .racks import rack_dict


@read_only
def export_inventory(db) -> dict:
    DeviceType, Device, Connection = db.DeviceType, db.Device, db.Connection
    types = DeviceType.select().prefetch(DeviceType.brand).order_by(lambda t: t.id)[:]
    devices = (
        Device.select()
        .prefetch(Device.device_type, DeviceType.brand, Device.rack)
        .order_by(lambda d: d.id)[:]
    )
    connections = (
        Connection.select()
        .prefetch(Connection.device_a, Connection.device_b)
        .order_by(lambda c: c.id)[:]
    )
    return {
        "format": "homerack-inventory",
        "version": INVENTORY_VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "homerack_version": __version__,
        "brands": [
            {"name": b.name, "website": b.website, "logo_url": b.logo or None}
            for b in db.Brand.select().order_by(lambda b: b.id)
        ],
        "device_types": [
            {
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
            for t in types
        ],
        "racks": [
            {k: v for k, v in rack_dict(r).items() if k != "id"}
            for r in db.Rack.select().order_by(lambda r: r.id)
        ],
        "devices": [
            {
                "name": d.name,
                "brand": d.device_type.brand.name,
                "model": d.device_type.model,
                "rack": d.rack.name if d.rack else None,
                "position_u": d.position_u,
                "locked": d.locked,
                "access_frequency": d.access_frequency,
                "notes": d.notes,
                "serial_number": d.serial_number,
                "management_url": d.management_url,
            }
            for d in devices
        ],
        "connections": [
            {
                "device_a": c.device_a.name,
                "device_b": c.device_b.name,
                "cable_type": c.cable_type,
                "count": c.count,
                "label": c.label,
                "notes": c.notes,
            }
            for c in connections
        ],
    }


class _Index:
    """Case-insensitive name lookup that reports duplicates and dangling references."""

    def __init__(self, problems: Problems):
        self.items: dict = {}
        self.problems = problems

    def add(self, key, make, path: str, label: str):
        """Create the record with ``make()`` unless the name is taken; returns it or None."""
        if key in self.items:
            self.problems.append(Problem(path, f"duplicate {label}"))
            return None
        self.items[key] = obj = make()
        return obj

    def find(self, key, path: str, label: str):
        obj = self.items.get(key)
        if obj is None:
            self.problems.append(Problem(path, f"unknown {label}"))
        return obj


@db_session
def import_inventory(db, doc: InventoryDoc, replace: bool = True) -> dict:
    """Import ``doc``: all or nothing.

    ``replace`` wipes the inventory first (a restore or a move between databases);
    otherwise the document adds to what is stored and may refer to stored brands,
    device types, racks and devices by name. Every problem found is collected and
    reported together (the first MAX_LISTED listed, all counted); any problem raises,
    and leaving the db_session by an exception rolls the whole import back.
    """
    if replace:
        for entity in (db.Connection, db.Device, db.DeviceType, db.Rack, db.Brand):
            entity.select().delete(bulk=True)
    problems = Problems()
    brands, types, racks, devices = (_Index(problems) for _ in range(4))
    if not replace:
        brands.items = {b.name.lower(): b for b in db.Brand.select()}
        types.items = {
            (t.brand.name.lower(), t.model.lower()): t
            for t in db.DeviceType.select().prefetch(db.DeviceType.brand)
        }
        racks.items = {r.name.lower(): r for r in db.Rack.select()}
        devices.items = {d.name.lower(): d for d in db.Device.select()}
    touched: dict = {}  # racks whose layout changed -> where to report its problems

    for i, b in enumerate(doc.brands):
        brands.add(
            b.name.lower(),
            lambda b=b: db.Brand(name=b.name, website=b.website, logo=b.logo_url or ""),
            f"brands[{i}].name",
            f"brand name '{b.name}'",
        )
    for i, t in enumerate(doc.device_types):
        brand = brands.find(t.brand.lower(), f"device_types[{i}].brand", f"brand '{t.brand}'")
        if brand is not None:
            types.add(
                (t.brand.lower(), t.model.lower()),
                lambda t=t, brand=brand: db.DeviceType(
                    brand=brand, **t.model_dump(exclude={"brand"})
                ),
                f"device_types[{i}].model",
                f"model '{t.brand} {t.model}'",
            )
    for i, r in enumerate(doc.racks):
        rack = racks.add(
            r.name.lower(),
            lambda r=r: db.Rack(**r.model_dump()),
            f"racks[{i}].name",
            f"rack name '{r.name}'",
        )
        if rack is not None:
            touched[rack] = f"racks[{i}]"
    for i, d in enumerate(doc.devices):
        path = f"devices[{i}]"
        device_type = types.find(
            (d.brand.lower(), d.model.lower()),
            f"{path}.model",
            f"device type '{d.brand} {d.model}'",
        )
        rack = None
        if d.rack is not None:
            rack = racks.find(d.rack.lower(), f"{path}.rack", f"rack '{d.rack}'")
            if rack is not None:
                touched.setdefault(rack, f"rack '{rack.name}'")
        if (d.rack is None) != (d.position_u is None):
            problems.append(Problem(f"{path}.position_u", "rack and position_u go together"))
        elif device_type is not None and (rack is not None or d.rack is None):
            values = d.model_dump(exclude={"brand", "model", "rack"})
            devices.add(
                d.name.lower(),
                lambda values=values, t=device_type, r=rack: db.Device(
                    device_type=t, rack=r, **values
                ),
                f"{path}.name",
                f"device name '{d.name}'",
            )
    count = 0
    for i, c in enumerate(doc.connections):
        path = f"connections[{i}]"
        a = devices.find(c.device_a.lower(), f"{path}.device_a", f"device '{c.device_a}'")
        b = devices.find(c.device_b.lower(), f"{path}.device_b", f"device '{c.device_b}'")
        if a is not None and a is b:
            problems.append(Problem(f"{path}.device_b", "a cable needs two different devices"))
        elif a is not None and b is not None:
            db.Connection(device_a=a, device_b=b, **c.model_dump(exclude={"device_a", "device_b"}))
            count += 1
    if problems:
        raise problems.failure()
    db.flush()  # names were checked unique above, so this only assigns ids
    for rack, where in touched.items():
        in_rack = [device_model(d) for d in rack_devices(db, rack)]
        problems.extend(
            Problem(where, p.reason) for p in layout_problems(rack_model(rack), in_rack)
        )
    if problems:
        raise problems.failure()
    # A replacing import keeps every stored logo, even those no brand names any more: an
    # export carries only the logos' URLs, so putting an earlier export back must find
    # them. (A URL the document names that is not stored here answers 404 until uploaded.)
    return {
        "brands": len(doc.brands),
        "device_types": len(doc.device_types),
        "racks": len(doc.racks),
        "devices": len(doc.devices),
        "connections": count,
    }
