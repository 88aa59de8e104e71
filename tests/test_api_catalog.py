"""Brands and device types: CRUD, filters, pagination, conflicts, validation."""

import pytest


async def test_brand_crud(api):
    brand = await api.create(
        "/api/brands", {"name": "  MikroTik ", "website": "https://mikrotik.com"}
    )
    assert brand == {
        "id": brand["id"],
        "name": "MikroTik",
        "website": "https://mikrotik.com",
        "logo_url": None,
    }
    got = await api.get(f"/api/brands/{brand['id']}")
    assert got.json == brand
    changed = await api.patch(f"/api/brands/{brand['id']}", json={"website": ""})
    assert changed.status_code == 200 and changed.json["website"] == ""
    assert changed.json["name"] == "MikroTik"
    assert (await api.delete(f"/api/brands/{brand['id']}")).status_code == 204
    assert (await api.get(f"/api/brands/{brand['id']}")).status_code == 404


async def test_created_record_has_location(api):
    result = await api.post("/api/brands", json={"name": "QNAP"})
    assert result.status_code == 201
    assert result.headers["location"].endswith(f"/api/brands/{result.json['id']}")


async def test_brand_names_are_unique_case_insensitively(api):
    await api.create("/api/brands", {"name": "Synology"})
    result = await api.post("/api/brands", json={"name": "SYNOLOGY"})
    assert result.status_code == 409
    assert "Synology" in result.json["description"]
    other = await api.create("/api/brands", {"name": "Dell"})
    renamed = await api.patch(f"/api/brands/{other['id']}", json={"name": "synology"})
    assert renamed.status_code == 409
    assert (await api.get("/api/brands")).json["total"] == 2


async def test_patch_keeps_own_name_in_other_case(api):
    brand = await api.create("/api/brands", {"name": "netgear"})
    result = await api.patch(f"/api/brands/{brand['id']}", json={"name": "Netgear"})
    assert result.status_code == 200 and result.json["name"] == "Netgear"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": 42}, "name"),
        ({"name": "bad\nname"}, "name"),
        ({"name": "ok", "website": "javascript:alert(1)"}, "website"),
        ({"name": "ok", "colour": "red"}, "colour"),
    ],
)
async def test_invalid_brand_is_422_naming_the_field(api, body, field):
    result = await api.post("/api/brands", json=body)
    assert result.status_code == 422
    assert field in [e["field"] for e in result.json["errors"]]
    assert result.json["description"]
    assert (await api.get("/api/brands")).json["total"] == 0


async def test_malformed_json_is_400(api):
    result = await api.post(
        "/api/brands", body=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert result.status_code == 400
    assert result.json["title"]


async def test_json_array_body_is_422(api):
    result = await api.post("/api/brands", json=[{"name": "x"}])
    assert result.status_code == 422
    assert "JSON object" in result.json["description"]


async def test_non_json_content_type_is_415(api):
    result = await api.post(
        "/api/brands", body=b"name=x", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert result.status_code == 415


async def test_list_filters_and_pagination(api):
    for name in ("Alpha", "Beta", "Gamma", "Alphabet"):
        await api.create("/api/brands", {"name": name})
    page = (await api.get("/api/brands", params={"limit": 2, "offset": 1})).json
    assert page["total"] == 4 and [b["name"] for b in page["items"]] == ["Alphabet", "Beta"]
    found = (await api.get("/api/brands", params={"q": "ALPHA"})).json
    assert [b["name"] for b in found["items"]] == ["Alpha", "Alphabet"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "ten"}])
async def test_bad_paging_is_400(api, params):
    result = await api.get("/api/brands", params=params)
    assert result.status_code == 400
    assert "limit" in result.json["description"] or "offset" in result.json["description"]


async def test_device_type_crud_and_brand_name(api, lab):
    t = lab["server"]
    assert t["brand"] == "Dell" and t["u_height"] == 2 and t["width_in"] == 19
    result = await api.patch(f"/api/device-types/{t['id']}", json={"power_w": 250.5})
    assert result.status_code == 200 and result.json["power_w"] == 250.5
    listing = (await api.get("/api/device-types", params={"category": "switch"})).json
    assert {x["model"] for x in listing["items"]} == {"USW-24", "Tiny 10in"}
    by_brand = (await api.get("/api/device-types", params={"q": "dell"})).json
    assert [x["model"] for x in by_brand["items"]] == ["R740"]


async def test_device_type_category_filter_rejects_unknown(api):
    result = await api.get("/api/device-types", params={"category": "toaster"})
    assert result.status_code == 400
    assert "router" in result.json["description"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"u_height": 0}, "u_height"),
        ({"u_height": 21}, "u_height"),
        ({"u_height": 1.5}, "u_height"),
        ({"u_height": "2"}, "u_height"),
        ({"width_in": 21}, "width_in"),
        ({"category": "toaster"}, "category"),
        ({"airflow": "up"}, "airflow"),
        ({"weight_kg": -1}, "weight_kg"),
        ({"brand_id": 9999}, "brand_id"),
    ],
)
async def test_invalid_device_type_is_422(api, lab, change, field):
    body = {
        "brand_id": lab["brands"][0]["id"],
        "model": "New",
        "category": "switch",
        "u_height": 1,
        **change,
    }
    result = await api.post("/api/device-types", json=body)
    assert result.status_code == 422, result.text
    assert [e["field"] for e in result.json["errors"]] == [field]


async def test_model_unique_per_brand(api, lab):
    ubi, dell = lab["brands"]
    dup = await api.post(
        "/api/device-types",
        json={"brand_id": ubi["id"], "model": "usw-24", "category": "switch", "u_height": 1},
    )
    assert dup.status_code == 409
    ok = await api.post(
        "/api/device-types",
        json={"brand_id": dell["id"], "model": "USW-24", "category": "switch", "u_height": 1},
    )
    assert ok.status_code == 201


async def test_deleting_a_brand_in_use_is_409(api, lab):
    result = await api.delete(f"/api/brands/{lab['brands'][1]['id']}")
    assert result.status_code == 409
    assert "still used by 1 device type" in result.json["description"]
    assert (await api.get(f"/api/brands/{lab['brands'][1]['id']}")).status_code == 200


async def test_deleting_a_device_type_in_use_is_409(api, lab):
    result = await api.delete(f"/api/device-types/{lab['server']['id']}")
    assert result.status_code == 409
    unused = await api.delete(f"/api/device-types/{lab['small']['id']}")
    assert unused.status_code == 204


async def test_growing_a_device_type_must_fit_its_racks(api, lab):
    # pve1 (R740) sits at U1-U2 with core at U12; 11U would collide with core.
    result = await api.patch(f"/api/device-types/{lab['server']['id']}", json={"u_height": 12})
    assert result.status_code == 422
    assert result.json["errors"][0]["field"] == "u_height"
    heavy = await api.patch(f"/api/device-types/{lab['server']['id']}", json={"weight_kg": 99})
    assert heavy.status_code == 422 and heavy.json["errors"][0]["field"] == "weight_kg"
    assert "101.5 kg" in heavy.json["description"]
    unchanged = (await api.get(f"/api/device-types/{lab['server']['id']}")).json
    assert unchanged["u_height"] == 2 and unchanged["weight_kg"] == 28.6


async def test_missing_records_are_404(api):
    for path in (
        "/api/brands/77",
        "/api/device-types/77",
        "/api/racks/77",
        "/api/devices/77",
        "/api/connections/77",
        "/api/users/77",
    ):
        result = await api.get(path)
        assert result.status_code == 404, path
        assert "77" in result.json["description"]
    assert (await api.patch("/api/racks/77", json={"name": "x"})).status_code == 404
    assert (await api.delete("/api/devices/77")).status_code == 404


NUL = "\u0000"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/brands", {"name": f"A{NUL}B"}, "name"),
        ("/api/brands", {"name": "A", "website": f"https://a.example/{NUL}"}, "website"),
        ("/api/racks", {"name": "R", "u_height": 4, "notes": f"n{NUL}"}, "notes"),
        ("/api/racks", {"name": "R", "u_height": 4, "location": NUL}, "location"),
    ],
)
async def test_nul_in_a_string_field_is_422_and_writes_nothing(api, path, body, field):
    # PostgreSQL cannot store NUL: psycopg2 raised ValueError and the API answered 500.
    result = await api.post(path, json=body)
    assert result.status_code == 422, result.text
    assert result.json["errors"][0]["field"] == field
    assert (await api.get(path)).json["total"] == 0


@pytest.mark.parametrize("path", ["/api/brands", "/api/racks", "/api/device-types", "/api/devices"])
@pytest.mark.parametrize("value", [NUL, f"a{NUL}b", "a\u001fb"])
async def test_control_characters_in_a_text_filter_are_400(api, path, value):
    result = await api.get(path, params={"q": value})
    assert result.status_code == 400, result.text
    assert "q" in result.json["description"] or "q" in result.json["title"]
