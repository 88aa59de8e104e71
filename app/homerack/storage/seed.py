"""The built-in catalog and the demo homelab, shipped as JSON in homerack/data."""

from __future__ import annotations

import json
from importlib import resources

from pony.orm import db_session

from ..domain.errors import Conflict
from ..domain.schemas import BrandIn, DeviceTypeFields, InventoryDoc, parse
from .connection import read_only
from .transfer import import_inventory


def _data(name: str) -> dict:
    return json.loads(resources.files("homerack").joinpath("data", name).read_text("utf-8"))


@db_session
def load_catalog(db) -> dict:
    """Add the curated brands and device types that are not there yet (idempotent)."""
    counts = {"brands": 0, "device_types": 0, "skipped": 0}
    for entry in _data("catalog.json")["brands"]:
        data = parse(BrandIn, {"name": entry["name"], "website": entry["website"]})
        brand = _brand_named(db, data.name)
        if brand is None:
            brand = db.Brand(**data.model_dump())
            counts["brands"] += 1
        for item in entry["device_types"]:
            t = parse(DeviceTypeFields, item)
            if _has_model(db, brand, t.model):
                counts["skipped"] += 1
                continue
            db.DeviceType(brand=brand, **t.model_dump())
            counts["device_types"] += 1
    return counts


def _brand_named(db, name: str):
    key = name.lower()
    return db.Brand.select(lambda b: b.name.lower() == key).first()


def _has_model(db, brand, model: str) -> bool:
    key = model.lower()
    return db.DeviceType.exists(lambda t: t.brand == brand and t.model.lower() == key)


def load_demo(db) -> dict:
    """Add the demo homelab (needs the catalog); refuses if its names are taken."""
    doc = parse(InventoryDoc, _data("demo.json"))
    if demo_loaded(db, doc.racks[0].name):
        raise Conflict(f"the demo homelab is already loaded (rack '{doc.racks[0].name}')")
    return import_inventory(db, doc, replace=False)


@read_only
def demo_loaded(db, rack_name: str) -> bool:
    key = rack_name.lower()
    return db.Rack.exists(lambda r: r.name.lower() == key)
