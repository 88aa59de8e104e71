#!/usr/bin/env python3
"""A large, valid HomeRack inventory document, for sizing and testing imports.

    big-inventory.py [--racks 60] [--per-rack 42] [--cables 3000] [--notes N] [--out FILE]

The curated catalog (every brand and device type), ``--racks`` 42U racks each filled
with ``--per-rack`` 1U devices (names, serial numbers, admin URLs and notes filled in as
a careful homelab owner would) and ``--cables`` cables between them, as the
``homerack-inventory`` document of ``POST /api/import``; ``--notes N`` pads each
device's notes to N characters, for a larger document. Deterministic: the same
arguments give the same bytes. Standard library only, so it runs on any controller.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CATALOG = Path(__file__).resolve().parent.parent / "app/homerack/data/catalog.json"
CABLES = ("cat6", "cat6a", "dac", "fiber_om4", "fiber_os2", "power")


def build(racks: int = 60, per_rack: int = 42, cables: int = 3000, notes: int = 0) -> dict:
    catalog = json.loads(CATALOG.read_text())
    brands = [
        {"name": b["name"], "website": b.get("website", ""), "logo_url": None}
        for b in catalog["brands"]
    ]
    types = [{"brand": b["name"], **t} for b in catalog["brands"] for t in b["device_types"]]
    one_u = [t for t in types if t["u_height"] == 1 and t["width_in"] == 19]
    if not 1 <= per_rack <= 42:
        raise ValueError("--per-rack must be 1 to 42 (1U devices in a 42U rack)")
    doc_racks, devices = [], []
    for r in range(1, racks + 1):
        rack = f"Row {(r - 1) // 10 + 1} rack {r:02d}"
        doc_racks.append(
            {
                "name": rack,
                "location": f"Server room, row {(r - 1) // 10 + 1}",
                "u_height": 42,
                "width_in": 19,
                "depth_mm": 1200,
                "max_weight_kg": 2000,
                "max_power_w": 30000,
                "ergonomic_u": 20,
                "notes": f"Rack {r}: dual PDUs on circuits A{r} and B{r}",
            }
        )
        for u in range(1, per_rack + 1):
            t = one_u[(r * 7 + u) % len(one_u)]
            name = f"r{r:02d}u{u:02d}-{t['category']}"
            devices.append(
                {
                    "name": name,
                    "brand": t["brand"],
                    "model": t["model"],
                    "rack": rack,
                    "position_u": u,
                    "locked": u == 1,
                    "access_frequency": "monthly",
                    "notes": f"{t['brand']} {t['model']}, bought 2023, warranty until 2028".ljust(
                        notes, "."
                    ),
                    "serial_number": f"SN{r:03d}{u:03d}X7K2",
                    "management_url": f"https://{name}.lab.example:8443/",
                }
            )
    links = [
        {
            "device_a": devices[i % len(devices)]["name"],
            "device_b": devices[(i * 7 + 1) % len(devices)]["name"],
            "cable_type": CABLES[i % len(CABLES)],
            "count": 1 + i % 2,
            "label": f"C-{i:05d}",
            "notes": "",
        }
        for i in range(cables)
        if i % len(devices) != (i * 7 + 1) % len(devices)
    ]
    return {
        "format": "homerack-inventory",
        "version": 2,
        "brands": brands,
        "device_types": types,
        "racks": doc_racks,
        "devices": devices,
        "connections": links,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--racks", type=int, default=60)
    parser.add_argument("--per-rack", type=int, default=42)
    parser.add_argument("--cables", type=int, default=3000)
    parser.add_argument("--notes", type=int, default=0, help="pad device notes to N chars")
    parser.add_argument("--out", type=Path, help="write here instead of stdout")
    args = parser.parse_args(argv)
    text = json.dumps(build(args.racks, args.per_rack, args.cables, args.notes), indent=1)
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
