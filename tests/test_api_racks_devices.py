"""Racks, device placement rules and cables."""

import pytest
from helpers import assert_documented, png

from homerack.domain.schemas import Device, RackDetail, RackDevice, RackSummary


async def test_rack_detail_has_devices_top_first_and_utilization(api, lab):
    body = (await api.get(f"/api/racks/{lab['rack']['id']}")).json
    assert [(d["name"], d["position_u"], d["top_u"]) for d in body["devices"]] == [
        ("core", 12, 12),
        ("pve1", 1, 2),
    ]
    assert body["devices"][1]["brand"] == "Dell" and body["devices"][1]["model"] == "R740"
    assert body["utilization"] == {
        "used_u": 3,
        "free_u": 9,
        "used_pct": 25.0,
        "weight_kg": 31.1,
        "max_weight_kg": 100.0,
        "weight_pct": 31.1,
        "power_w": 320.0,
        "max_power_w": 1000.0,
        "power_pct": 32.0,
    }


async def test_rack_list_items_carry_their_utilization(api, lab):
    await api.create("/api/racks", {"name": "Annex", "u_height": 6, "width_in": 10})
    listed = (await api.get("/api/racks", role="viewer")).json["items"]
    assert [r["name"] for r in listed] == ["Annex", "Main"]
    for item in listed:
        assert_documented(RackSummary, item)
        detail = (await api.get(f"/api/racks/{item['id']}")).json
        assert item == {k: v for k, v in detail.items() if k != "devices"}
    assert listed[0]["utilization"] == {
        "used_u": 0,
        "free_u": 6,
        "used_pct": 0.0,
        "weight_kg": 0.0,
        "max_weight_kg": None,
        "weight_pct": None,
        "power_w": 0.0,
        "max_power_w": None,
        "power_pct": None,
    }
    second = (await api.get("/api/racks", params={"limit": 1, "offset": 1})).json
    assert second["total"] == 2
    assert [
        (r["name"], r["utilization"]["used_u"], r["utilization"]["weight_kg"])
        for r in second["items"]
    ] == [("Main", 3, 31.1)]
    # A rack created or changed answers the rack alone; the list and detail add the rest.
    assert_documented(RackDetail, (await api.get(f"/api/racks/{lab['rack']['id']}")).json)
    assert "utilization" not in lab["rack"]


async def test_device_rows_carry_the_brand_id_and_logo_url(api, lab):
    ubi, dell = lab["brands"]
    rack_path = f"/api/racks/{lab['rack']['id']}"

    async def logos() -> dict:
        devices = (await api.get(rack_path)).json["devices"]
        for d in devices:
            assert_documented(RackDevice, d)
        return {d["name"]: (d["brand_id"], d["logo_url"]) for d in devices}

    assert await logos() == {"core": (ubi["id"], None), "pve1": (dell["id"], None)}
    uploaded = await api.put(
        f"/api/brands/{dell['id']}/logo", body=png(), headers={"Content-Type": "image/png"}
    )
    assert uploaded.status_code == 200, uploaded.text
    url = uploaded.json["logo_url"]
    assert await logos() == {"core": (ubi["id"], None), "pve1": (dell["id"], url)}
    listed = (await api.get("/api/devices", role="viewer")).json["items"]
    for d in listed:
        assert_documented(Device, d)
    assert {d["name"]: d["logo_url"] for d in listed} == {"core": None, "pve1": url}
    one = (await api.get(f"/api/devices/{lab['srv']['id']}")).json
    assert (one["brand_id"], one["logo_url"]) == (dell["id"], url)
    assert_documented(Device, lab["sw"])  # what POST answers
    assert (await api.delete(f"/api/brands/{dell['id']}/logo")).status_code == 200
    assert await logos() == {"core": (ubi["id"], None), "pve1": (dell["id"], None)}


async def test_rack_names_unique_and_filters(api, lab):
    dup = await api.post("/api/racks", json={"name": "MAIN", "u_height": 4})
    assert dup.status_code == 409
    await api.create(
        "/api/racks", {"name": "Office", "u_height": 9, "width_in": 10, "location": "Office"}
    )
    found = (await api.get("/api/racks", params={"location": "office"})).json
    assert [r["name"] for r in found["items"]] == ["Office"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "r", "u_height": 61}, "u_height"),
        ({"name": "r", "u_height": 0}, "u_height"),
        ({"name": "r", "u_height": 42, "width_in": 21}, "width_in"),
        ({"name": "r", "u_height": 42, "max_weight_kg": 0}, "max_weight_kg"),
        ({"name": "r", "u_height": 42, "ergonomic_u": 0}, "ergonomic_u"),
        ({"name": "r"}, "u_height"),
    ],
)
async def test_invalid_rack_is_422(api, body, field):
    result = await api.post("/api/racks", json=body)
    assert result.status_code == 422
    assert [e["field"] for e in result.json["errors"]] == [field]


async def test_shrinking_a_rack_must_keep_its_devices(api, lab):
    rid = lab["rack"]["id"]
    cases = [
        ({"u_height": 11}, "u_height", "U12"),
        ({"max_weight_kg": 20}, "max_weight_kg", "31.1 kg"),
        ({"max_power_w": 300}, "max_power_w", "320 W"),
        ({"depth_mm": 500}, "depth_mm", "716 mm"),
        ({"width_in": 10}, "width_in", "19-inch"),
    ]
    for change, field, words in cases:
        result = await api.patch(f"/api/racks/{rid}", json=change)
        assert result.status_code == 422, change
        assert field in [e["field"] for e in result.json["errors"]]
        assert words in result.json["description"]
    assert (await api.get(f"/api/racks/{rid}")).json["u_height"] == 12
    ok = await api.patch(f"/api/racks/{rid}", json={"u_height": 20, "max_power_w": None})
    assert ok.status_code == 200 and ok.json["max_power_w"] is None


async def test_deleting_a_rack_with_devices_is_409(api, lab):
    result = await api.delete(f"/api/racks/{lab['rack']['id']}")
    assert result.status_code == 409 and "2 device" in result.json["description"]
    empty = await api.create("/api/racks", {"name": "Empty", "u_height": 4})
    assert (await api.delete(f"/api/racks/{empty['id']}")).status_code == 204


async def _place(api, lab, name, type_key="switch", position=5, rack=None):
    return await api.post(
        "/api/devices",
        json={
            "name": name,
            "device_type_id": lab[type_key]["id"],
            "rack_id": rack or lab["rack"]["id"],
            "position_u": position,
        },
    )


async def test_device_placement_inside_free_units(api, lab):
    result = await _place(api, lab, "sw2", position=6)
    assert result.status_code == 201
    assert result.json["rack_id"] == lab["rack"]["id"] and result.json["position_u"] == 6


@pytest.mark.parametrize(
    ("type_key", "position", "field", "words"),
    [
        ("switch", 12, "position_u", "'core' (U12)"),
        ("server", 2, "position_u", "'pve1' (U1-U2)"),
        ("server", 12, "position_u", "would end at U13"),
        ("small", 5, "device_type_id", "10-inch"),
    ],
)
async def test_bad_placement_is_422_and_writes_nothing(api, lab, type_key, position, field, words):
    result = await _place(api, lab, "bad", type_key, position)
    assert result.status_code == 422
    assert field in [e["field"] for e in result.json["errors"]]
    assert words in result.json["description"]
    devices = (await api.get("/api/devices")).json
    assert "bad" not in [d["name"] for d in devices["items"]]


async def test_position_zero_is_rejected_by_schema(api, lab):
    result = await _place(api, lab, "bad", position=0)
    assert result.status_code == 422
    assert result.json["errors"][0]["field"] == "position_u"


async def test_budget_overflow_reports_totals(api, lab):
    # 28.6 * 3 + 2.5 = 88.3 kg fits 100 kg; a fourth R740 makes 116.9 kg.
    assert (await _place(api, lab, "s2", "server", 3)).status_code == 201
    assert (await _place(api, lab, "s3", "server", 5)).status_code == 201
    result = await _place(api, lab, "s4", "server", 7)
    assert result.status_code == 422
    assert "total weight 116.9 kg exceeds the budget" in result.json["description"]
    assert "total power 1220 W exceeds" in result.json["description"]
    assert {e["field"] for e in result.json["errors"]} == {"rack_id"}


async def test_too_deep_for_rack(api, lab):
    shallow = await api.create("/api/racks", {"name": "Shallow", "u_height": 6, "depth_mm": 450})
    result = await _place(api, lab, "deep", "server", 1, rack=shallow["id"])
    assert result.status_code == 422
    assert "716 mm deep" in result.json["description"]


async def test_rack_and_position_go_together(api, lab):
    result = await api.post(
        "/api/devices",
        json={"name": "x", "device_type_id": lab["switch"]["id"], "rack_id": lab["rack"]["id"]},
    )
    assert result.status_code == 422 and result.json["errors"][0]["field"] == "position_u"
    missing = await _place(api, lab, "y", rack=999)
    assert missing.status_code == 422 and missing.json["errors"][0]["field"] == "rack_id"


async def test_unplaced_devices_and_moves(api, lab):
    spare = await api.create(
        "/api/devices", {"name": "spare", "device_type_id": lab["server"]["id"]}
    )
    assert spare["rack_id"] is None and spare["position_u"] is None
    unplaced = (await api.get("/api/devices", params={"placed": "false"})).json
    assert [d["name"] for d in unplaced["items"]] == ["spare"]
    moved = await api.patch(
        f"/api/devices/{spare['id']}", json={"rack_id": lab["rack"]["id"], "position_u": 3}
    )
    assert moved.status_code == 200 and moved.json["position_u"] == 3
    clash = await api.patch(f"/api/devices/{spare['id']}", json={"position_u": 2})
    assert clash.status_code == 422
    # Moving a device over its own old units is fine: it does not overlap itself.
    shift = await api.patch(f"/api/devices/{spare['id']}", json={"position_u": 4})
    assert shift.status_code == 200
    out = await api.patch(f"/api/devices/{spare['id']}", json={"rack_id": None, "position_u": None})
    assert out.status_code == 200 and out.json["rack_id"] is None
    in_rack = (await api.get("/api/devices", params={"rack_id": lab["rack"]["id"]})).json
    assert sorted(d["name"] for d in in_rack["items"]) == ["core", "pve1"]


async def test_one_patch_moves_a_device_to_another_rack(api, lab):
    annex = await api.create("/api/racks", {"name": "Annex", "u_height": 6, "max_power_w": 250})
    core = f"/api/devices/{lab['sw']['id']}"
    moved = await api.patch(core, json={"rack_id": annex["id"], "position_u": 6})
    assert moved.status_code == 200, moved.text
    assert (moved.json["rack_id"], moved.json["position_u"]) == (annex["id"], 6)
    assert_documented(Device, moved.json)
    main = (await api.get(f"/api/racks/{lab['rack']['id']}")).json
    assert [d["name"] for d in main["devices"]] == ["pve1"]
    assert main["utilization"]["used_u"] == 2
    listed = {r["name"]: r["utilization"] for r in (await api.get("/api/racks")).json["items"]}
    assert (listed["Annex"]["used_u"], listed["Main"]["used_u"]) == (1, 2)


@pytest.mark.parametrize(
    ("position", "words"),
    [
        (
            5,
            [
                "devices 'pve1' (U5-U6) and 'core' (U6) overlap",
                "total power 320 W exceeds the budget of rack 'Annex' (250 W)",
            ],
        ),
        (6, ["'pve1' (2U at U6) would end at U7, above the top of rack 'Annex' (6U)"]),
    ],
)
async def test_a_refused_move_is_422_naming_the_conflict(api, lab, position, words):
    annex = await api.create("/api/racks", {"name": "Annex", "u_height": 6, "max_power_w": 250})
    await api.patch(
        f"/api/devices/{lab['sw']['id']}", json={"rack_id": annex["id"], "position_u": 6}
    )
    pve1 = f"/api/devices/{lab['srv']['id']}"
    refused = await api.patch(pve1, json={"rack_id": annex["id"], "position_u": position})
    assert refused.status_code == 422
    for text in words:
        assert text in refused.json["description"]
    fields = {e["field"] for e in refused.json["errors"]}
    assert fields and fields <= {"position_u", "rack_id"}
    stayed = (await api.get(pve1)).json
    assert (stayed["rack_id"], stayed["position_u"]) == (lab["rack"]["id"], 1)


async def test_device_names_unique(api, lab):
    result = await api.post(
        "/api/devices", json={"name": "CORE", "device_type_id": lab["switch"]["id"]}
    )
    assert result.status_code == 409


async def test_device_fields(api, lab):
    result = await api.patch(
        f"/api/devices/{lab['sw']['id']}",
        json={"locked": True, "access_frequency": "daily", "notes": "uplink to ISP"},
    )
    assert result.status_code == 200
    assert result.json["locked"] is True and result.json["access_frequency"] == "daily"
    bad = await api.patch(f"/api/devices/{lab['sw']['id']}", json={"access_frequency": "hourly"})
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "access_frequency"
    null = await api.patch(f"/api/devices/{lab['sw']['id']}", json={"name": None})
    assert null.status_code == 422 and null.json["errors"][0]["field"] == "name"


async def test_device_serial_number_and_management_url(api, lab):
    sw = lab["sw"]["id"]
    assert lab["sw"]["serial_number"] == "" and lab["sw"]["management_url"] == ""
    result = await api.patch(
        f"/api/devices/{sw}",
        json={"serial_number": "  US24-1234ABCD ", "management_url": "https://192.168.1.2/"},
    )
    assert result.status_code == 200, result.text
    got = (await api.get(f"/api/devices/{sw}")).json
    assert got["serial_number"] == "US24-1234ABCD"  # trimmed, like names
    assert got["management_url"] == "https://192.168.1.2/"
    listed = (await api.get("/api/devices", params={"q": "core"})).json["items"][0]
    assert listed["management_url"] == "https://192.168.1.2/"
    created = await api.create(
        "/api/devices",
        {"name": "ups", "device_type_id": lab["small"]["id"], "serial_number": "9PX-1"},
    )
    assert created["serial_number"] == "9PX-1" and created["management_url"] == ""


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"serial_number": "x" * 101}, "serial_number", "at most 100 characters"),
        ({"serial_number": "line\nbreak"}, "serial_number", "control characters"),
        ({"management_url": "ftp://nas.lan/"}, "management_url", "http:// or https://"),
        ({"management_url": "https://" + "a" * 500}, "management_url", "at most 500 characters"),
    ],
)
async def test_invalid_serial_or_url_is_422_and_writes_nothing(api, lab, body, field, words):
    sw = lab["sw"]["id"]
    before = (await api.get(f"/api/devices/{sw}")).json
    # A valid change in the same request must not be written either.
    result = await api.patch(f"/api/devices/{sw}", json={"notes": "changed", **body})
    assert result.status_code == 422
    assert [e["field"] for e in result.json["errors"]] == [field]
    assert words in result.json["errors"][0]["reason"]
    assert (await api.get(f"/api/devices/{sw}")).json == before


async def test_connections_crud_and_filters(api, lab):
    cable = lab["cable"]
    assert cable["device_a"] == "core" and cable["device_b"] == "pve1" and cable["count"] == 2
    spare = await api.create(
        "/api/devices", {"name": "spare", "device_type_id": lab["switch"]["id"]}
    )
    await api.create(
        "/api/connections",
        {"device_a_id": spare["id"], "device_b_id": lab["sw"]["id"], "cable_type": "dac"},
    )
    by_rack = (await api.get("/api/connections", params={"rack_id": lab["rack"]["id"]})).json
    assert by_rack["total"] == 2
    by_type = (await api.get("/api/connections", params={"cable_type": "dac"})).json
    assert [c["device_a"] for c in by_type["items"]] == ["spare"]
    by_device = await api.get("/api/connections", params={"device_id": lab["srv"]["id"]})
    assert by_device.json["total"] == 1
    patched = await api.patch(f"/api/connections/{cable['id']}", json={"count": 4, "label": "bond"})
    assert patched.status_code == 200 and patched.json["count"] == 4


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"device_b_id": "same"}, "device_b_id"),
        ({"device_b_id": 999}, "device_b_id"),
        ({"count": 0}, "count"),
        ({"cable_type": "string"}, "cable_type"),
    ],
)
async def test_invalid_connection_is_422(api, lab, change, field):
    body = {
        "device_a_id": lab["sw"]["id"],
        "device_b_id": lab["srv"]["id"],
        "cable_type": "cat6",
        **change,
    }
    if body["device_b_id"] == "same":
        body["device_b_id"] = lab["sw"]["id"]
    result = await api.post("/api/connections", json=body)
    assert result.status_code == 422
    assert [e["field"] for e in result.json["errors"]] == [field]
    assert (await api.get("/api/connections")).json["total"] == 1


async def test_deleting_a_device_removes_its_cables(api, lab):
    assert (await api.delete(f"/api/devices/{lab['srv']['id']}")).status_code == 204
    assert (await api.get("/api/connections")).json["total"] == 0
    assert (await api.get(f"/api/devices/{lab['sw']['id']}")).status_code == 200


async def test_concurrent_placements_cannot_both_take_a_unit(api, lab):
    import asyncio

    results = await asyncio.gather(
        *(
            api.post(
                "/api/devices",
                json={
                    "name": f"racer{i}",
                    "device_type_id": lab["switch"]["id"],
                    "rack_id": lab["rack"]["id"],
                    "position_u": 6,
                },
            )
            for i in range(4)
        )
    )
    codes = sorted(r.status_code for r in results)
    assert codes.count(201) == 1, [r.text for r in results]
    assert all(c in (409, 422) for c in codes if c != 201)
    at_six = [
        d
        for d in (await api.get(f"/api/racks/{lab['rack']['id']}")).json["devices"]
        if d["position_u"] == 6
    ]
    assert len(at_six) == 1


async def test_patches_of_other_fields_of_a_device_meanwhile_do_not_conflict(api, lab, monkeypatch):
    """The device panel's Unlock then "Remove from rack", clicked before the first answer:
    the removal read the device (locked), the unlock committed, and the removal's write
    (Pony's optimistic check on every column it had read) answered 409. Both apply."""
    import asyncio
    import threading

    from homerack.storage import devices

    srv = lab["srv"]["id"]
    assert (await api.patch(f"/api/devices/{srv}", json={"locked": True})).status_code == 200
    read, resume = threading.Event(), threading.Event()
    merge = devices.merge

    def held_merge(model, current, patch):
        if "rack_id" in patch and not read.is_set():  # the removal, on its first read
            read.set()
            resume.wait(5)
        return merge(model, current, patch)

    monkeypatch.setattr(devices, "merge", held_merge)
    removal = asyncio.ensure_future(
        api.patch(f"/api/devices/{srv}", json={"rack_id": None, "position_u": None})
    )
    assert await asyncio.to_thread(read.wait, 5)
    unlock = await api.patch(f"/api/devices/{srv}", json={"locked": False})
    resume.set()
    removed = await removal
    assert (unlock.status_code, removed.status_code) == (200, 200), removed.text
    stored = (await api.get(f"/api/devices/{srv}")).json
    assert (stored["rack_id"], stored["position_u"], stored["locked"]) == (None, None, False)


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/api/racks/3000000000", None, 404),
        ("GET", "/api/racks/99999999999999999999", None, 404),
        ("POST", "/api/racks/99999999999999999999/optimize", {}, 404),
        ("GET", "/api/devices?rack_id=99999999999999", None, 400),
        ("GET", "/api/racks?offset=99999999999999999", None, 400),
        ("GET", "/api/racks/1/elevation.svg?positions=99999999999:1", None, 400),
        ("POST", "/api/devices", {"name": "x", "device_type_id": 3000000000}, 422),
    ],
)
async def test_out_of_range_ids_are_client_errors(api, method, path, body, status):
    # Ids beyond the INTEGER keys used to reach the database (or orjson) and answer 500.
    res = await api._call(method, path, json=body)
    assert res.status_code == status, res.text


async def test_device_list_filters_order_and_pages(api, lab):
    """Each filter of GET /api/devices, alone and together; the order (name, then id);
    pages up to and past the end (see test_storage_lists.py for every combination)."""
    rack, switch = lab["rack"]["id"], lab["switch"]["id"]
    for name in ("spare-b", "spare-a", "odd_x"):  # the same order in any collation
        await api.create("/api/devices", {"name": name, "device_type_id": switch})

    async def names(**params) -> list[str]:
        body = (await api.get("/api/devices", params=params)).json
        assert body["total"] == len(body["items"]) or "limit" in params
        return [d["name"] for d in body["items"]]

    everything = await names()
    assert everything == ["core", "odd_x", "pve1", "spare-a", "spare-b"]
    assert await names(q="SPARE") == ["spare-a", "spare-b"]
    assert await names(q="_") == ["odd_x"]  # a literal underscore, not a wildcard
    assert await names(rack_id=rack) == ["core", "pve1"]
    assert await names(device_type_id=switch) == ["core", "odd_x", "spare-a", "spare-b"]
    assert await names(placed="true") == ["core", "pve1"]
    assert await names(placed="false") == ["odd_x", "spare-a", "spare-b"]
    assert await names(device_type_id=switch, placed="true", q="co") == ["core"]
    assert await names(rack_id=999_999) == []
    walked = [n for offset in (0, 2, 4) for n in await names(limit=2, offset=offset)]
    assert walked == everything
    past = (await api.get("/api/devices", params={"limit": 2, "offset": 6})).json
    assert past == {"items": [], "total": 5, "limit": 2, "offset": 6}
