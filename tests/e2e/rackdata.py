"""Arranging racks and devices through the API for the rack view's browser tests
(test_racks, test_elevation, test_optimize): unique names, so tests never share data."""

from __future__ import annotations

import re
import secrets

# Catalog models (the built-in catalog) the tests place.
SWITCH = "USW-Pro-24-PoE"  # 1U, 19 in, 5.2 kg
SERVER = "DL360 Gen10"  # 1U, 19 in, 16.3 kg, 220 W
NAS = "RS1221+"  # 2U, 19 in
UPS = "SMT1500RMI2U"  # 2U, 19 in, 28.2 kg
SHELF_10 = "10in Fixed Shelf"  # 1U, 10 in

_types: dict[str, dict] = {}


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def device_type(client, model_part: str) -> dict:
    if model_part not in _types:
        _types[model_part] = client.device_type(model_part)
    return _types[model_part]


def make_rack(client, prefix: str = "rack", **fields) -> dict:
    body = {"name": unique(prefix), "u_height": 12, "width_in": 19, **fields}
    return client.post("/api/racks", body)


def place(
    client, rack: dict | None, model_part: str, pos: int | None, prefix: str = "dev", **fields
) -> dict:
    """A device of the catalog model in ``rack`` at unit ``pos`` (rack None: unplaced)."""
    body = {
        "device_type_id": device_type(client, model_part)["id"],
        "name": unique(prefix),
        "rack_id": rack["id"] if rack else None,
        "position_u": pos,
        **fields,
    }
    return client.post("/api/devices", body)


def cable(client, a: dict, b: dict, count: int = 1, cable_type: str = "cat6") -> dict:
    return client.post(
        "/api/connections",
        {"device_a_id": a["id"], "device_b_id": b["id"], "cable_type": cable_type, "count": count},
    )


def positions(client, rack: dict) -> dict[int, int]:
    """device id -> position_u of the devices the API has in the rack."""
    return {d["id"]: d["position_u"] for d in client.get(f"/api/racks/{rack['id']}")["devices"]}


def block(page, device: dict):
    """The device's block in the interactive elevation (not the optimizer's drawings)."""
    return page.locator(f'.elev-area[data-interactive] [data-device-id="{device["id"]}"]')


def slot(page, rack: dict, unit: int):
    return page.locator(f'.elev-area[data-rack-id="{rack["id"]}"] .slot[data-u="{unit}"]')


def label_unit(page, device: dict) -> int:
    """The lowest unit the device's block says it is at (from its aria-label)."""
    label = block(page, device).get_attribute("aria-label")
    return int(re.search(r", U(\d+)", label).group(1))


def wait_drawn_at(page, device_id: int, unit: int) -> None:
    """Waits until the interactive elevation draws the device with its lowest unit at ``unit``."""
    page.wait_for_function(
        "([id, unit]) => document.querySelector("
        '`.elev-area[data-interactive] [data-device-id="${id}"]`)?.dataset.pos === String(unit)',
        arg=[device_id, unit],
    )
