"""Export and atomic import of the whole inventory."""

import copy

import pytest


async def _export(api) -> dict:
    result = await api.get("/api/export", role="viewer")
    assert result.status_code == 200
    assert "homerack-inventory.json" in result.headers["content-disposition"]
    return result.json


def _comparable(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in ("exported_at",)}


async def test_export_references_by_name(api, lab):
    doc = await _export(api)
    assert doc["format"] == "homerack-inventory" and doc["version"] == 2
    assert [b["name"] for b in doc["brands"]] == ["Ubiquiti", "Dell"]
    core = next(d for d in doc["devices"] if d["name"] == "core")
    assert core == {
        "name": "core",
        "brand": "Ubiquiti",
        "model": "USW-24",
        "rack": "Main",
        "position_u": 12,
        "locked": False,
        "access_frequency": "monthly",
        "notes": "",
        "serial_number": "",
        "management_url": "",
    }
    assert doc["connections"] == [
        {
            "device_a": "core",
            "device_b": "pve1",
            "cable_type": "cat6",
            "count": 2,
            "label": "",
            "notes": "",
        }
    ]


async def test_import_round_trip_replaces_everything(api, lab):
    doc = await _export(api)
    await api.create("/api/racks", {"name": "Extra", "u_height": 4})
    result = await api.post("/api/import", json=doc)
    assert result.status_code == 200, result.text
    assert result.json["imported"] == {
        "brands": 2,
        "device_types": 3,
        "racks": 1,
        "devices": 2,
        "connections": 1,
    }
    assert _comparable(await _export(api)) == _comparable(doc)
    rack = (await api.get("/api/racks")).json["items"][0]
    detail = (await api.get(f"/api/racks/{rack['id']}")).json
    assert detail["utilization"]["used_u"] == 3


def _break_overlap(doc):
    doc["devices"][1]["position_u"] = 12


def _break_reference(doc):
    doc["connections"][0]["device_b"] = "ghost"


def _break_duplicate(doc):
    doc["devices"][1]["name"] = "CORE"


def _break_type(doc):
    doc["racks"][0]["u_height"] = "twelve"


def _break_budget(doc):
    doc["racks"][0]["max_weight_kg"] = 10


def _break_format(doc):
    doc["format"] = "netbox"


@pytest.mark.parametrize(
    ("breaker", "field", "words"),
    [
        (_break_overlap, "racks[0]", "overlap"),
        (_break_reference, "connections[0].device_b", "unknown device 'ghost'"),
        (_break_duplicate, "devices[1].name", "duplicate device name"),
        (_break_type, "racks[0].u_height", "integer"),
        (_break_budget, "racks[0]", "total weight"),
        (_break_format, "format", "homerack-inventory"),
    ],
)
async def test_broken_import_leaves_the_database_unchanged(api, lab, breaker, field, words):
    before = await _export(api)
    # Something different from the current state, so a partial import would show.
    doc = copy.deepcopy(before)
    doc["racks"][0]["name"] = "Renamed"
    for device in doc["devices"]:
        if device["rack"]:
            device["rack"] = "Renamed"
    breaker(doc)
    result = await api.post("/api/import", json=doc)
    assert result.status_code == 422
    assert field in [e["field"] for e in result.json["errors"]]
    assert words in result.json["description"]
    assert _comparable(await _export(api)) == _comparable(before)


async def test_import_reports_every_problem_at_once(api, lab):
    doc = await _export(api)
    doc["connections"][0]["device_a"] = "nobody"
    doc["devices"][0]["model"] = "Unknown model"
    result = await api.post("/api/import", json=doc)
    assert result.status_code == 422
    fields = {e["field"] for e in result.json["errors"]}
    assert {"devices[0].model", "connections[0].device_a"} <= fields


async def test_device_serial_and_url_round_trip(api, lab):
    await api.patch(
        f"/api/devices/{lab['srv']['id']}",
        json={"serial_number": "SVC-7H2K9", "management_url": "https://pve1.lan:8006/"},
    )
    doc = await _export(api)
    pve1 = next(d for d in doc["devices"] if d["name"] == "pve1")
    assert pve1["serial_number"] == "SVC-7H2K9"
    assert pve1["management_url"] == "https://pve1.lan:8006/"
    result = await api.post("/api/import", json=doc)
    assert result.status_code == 200, result.text
    assert _comparable(await _export(api)) == _comparable(doc)


async def test_version_1_exports_still_import(api, lab):
    """Exports made before migration 0002 have no serial_number/management_url."""
    doc = await _export(api)
    doc["version"] = 1
    for device in doc["devices"]:
        del device["serial_number"], device["management_url"]
    result = await api.post("/api/import", json=doc)
    assert result.status_code == 200, result.text
    devices = (await api.get("/api/devices")).json["items"]
    assert {(d["serial_number"], d["management_url"]) for d in devices} == {("", "")}
    doc["version"] = 3
    assert (await api.post("/api/import", json=doc)).status_code == 422
